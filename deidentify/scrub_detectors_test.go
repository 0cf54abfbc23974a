package deidentify

import (
	"slices"
	"testing"
)

// detected returns the substrings of s a detector reports.
func detected(d detector, s string) []string {
	var out []string
	for _, m := range d(newTextIndex(s), nil) {
		out = append(out, s[m.start:m.end])
	}
	return out
}

type detectorCase struct {
	in   string
	want []string
}

func runDetectorCases(t *testing.T, d detector, cases []detectorCase) {
	t.Helper()
	for _, c := range cases {
		if got := detected(d, c.in); !slices.Equal(got, c.want) {
			t.Errorf("in %q:\n got  %q\n want %q", c.in, got, c.want)
		}
	}
}

func TestFindEmails(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findEmails, []detectorCase{
		{"mail ana.lopez@example.com now", []string{"ana.lopez@example.com"}},
		{"mail Ana_L+tag@Mail.Example.CO.UK.", []string{"Ana_L+tag@Mail.Example.CO.UK"}},
		{"write to ana @ example.com", []string{"ana @ example.com"}},
		{"write to ana@ example.org or ana @example.net", []string{"ana@ example.org", "ana @example.net"}},
		{"ana at example dot com", []string{"ana at example dot com"}},
		{"ANA AT EXAMPLE DOT COM", []string{"ANA AT EXAMPLE DOT COM"}},
		{"ana [at] example [dot] com", []string{"ana [at] example [dot] com"}},
		{"ana(at)example(dot)org", []string{"ana(at)example(dot)org"}},
		{"ana (AT) uni (Dot) edu", []string{"ana (AT) uni (Dot) edu"}},
		{"ana [at] example.com", []string{"ana [at] example.com"}},
		{"ana dot lopez at gmail dot com", []string{"ana dot lopez at gmail dot com"}},
		{"ana.lopez at example.com", []string{"ana.lopez at example.com"}},
		{"ana at gmail.com", []string{"ana at gmail.com"}},
		// Prose and non-addresses.
		{"look at example.com for details", nil},
		{"we met at noon", nil},
		{"user@localhost", nil},
		{"ping me @ noon.today", nil},
		{"ana at example dot", nil},
		{"@handle", nil},
		{"a@b.c", nil},
	})
}

func TestFindHandles(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findHandles, []detectorCase{
		{"thanks @ana_lopez!", []string{"@ana_lopez"}},
		{"@maria.lopez, see", []string{"@maria.lopez"}},
		{"(@José) ok", []string{"@José"}},
		{"ana@example.com", nil},
		{"@ 5pm", nil},
		{"@123", nil},
		{"a@@b", nil},
	})
}

func TestFindPhones(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findPhones, []detectorCase{
		{"call +1 (555) 123-4567 now", []string{"+1 (555) 123-4567"}},
		{"call (555) 123-4567.", []string{"(555) 123-4567"}},
		{"call 555-123-4567 or 555.123.4567", []string{"555-123-4567", "555.123.4567"}},
		{"ring +44 20 7946 0958", []string{"+44 20 7946 0958"}},
		{"ring +442079460958", []string{"+442079460958"}},
		{"portable 06 12 34 56 78", []string{"06 12 34 56 78"}},
		{"+33 6 12 34 56 78", []string{"+33 6 12 34 56 78"}},
		{"tel:5551234567, TEL:+15551234567", []string{"5551234567", "+15551234567"}},
		{"call 5551234567", []string{"5551234567"}},
		{"local 555-1234", []string{"555-1234"}},
		{"1-800-555-1234", []string{"1-800-555-1234"}},
		// Not phone numbers.
		{"in 2024", nil},
		{"scored 8/10 in 2024", nil},
		{"at 12:34:56", nil},
		{"version 1.2.3 or 1.10.2 or 10.0.19041.1", nil},
		{"on 2024-03-01 or 01-03-2024 or 2024.03.01", nil},
		{"see question 3.2.1", nil},
		{"from 2019-2020-2021", nil},
		{"scores 85 90 77 66", nil},
		{"paid 1234567.89 or 1,234,567", nil},
		{"id 1234567", nil},
		{"hash 3f5a9c0012345678ab", nil},
		{"course-v1:MITx+6.002x", nil},
		{"ISBN 978-3-16-148410-0", nil},
		{"host 192.168.10.10", nil},
	})
}

func TestFindIPs(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findIPs, []detectorCase{
		{"from 192.168.1.20 today", []string{"192.168.1.20"}},
		{"ip:10.0.0.1:8080.", []string{"10.0.0.1:8080"}}, // the port goes with it
		{"0.0.0.0 and 255.255.255.255", []string{"0.0.0.0", "255.255.255.255"}},
		{"v6 2001:db8::1 and fe80::1ff:fe23:4567:890a", []string{"2001:db8::1", "fe80::1ff:fe23:4567:890a"}},
		{"full 2001:0db8:85a3:0000:0000:8a2e:0370:7334.", []string{"2001:0db8:85a3:0000:0000:8a2e:0370:7334"}},
		{"mapped ::ffff:192.0.2.128", []string{"::ffff:192.0.2.128"}},
		{"[2001:db8::2]:443", []string{"[2001:db8::2]:443"}},
		// Not addresses.
		{"256.1.1.1 and 1.2.3 and 1.2.3.4.5", nil},
		{"version 1.10.2", nil},
		{"at 12:34:56", nil},
		{"std::vector and a[1::2] and x[::-1] and C::B", nil},
		{"v1.2.3.4", nil},
		{"deadbeef:cafe", nil},
	})
}

func TestFindURLs(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findURLs, []detectorCase{
		{"see https://example.com/a?b=c#d.", []string{"https://example.com/a?b=c#d"}},
		{"(http://x.org/wiki/Foo_(bar))", []string{"http://x.org/wiki/Foo_(bar)"}},
		{"[docs](https://docs.example.com/p)", []string{"https://docs.example.com/p"}},
		{"go to www.example.org, then", []string{"www.example.org"}},
		{"my linkedin.com/in/ana-lopez and github.com/alopez", []string{"linkedin.com/in/ana-lopez", "github.com/alopez"}},
		{"HTTPS://EXAMPLE.COM/X", []string{"HTTPS://EXAMPLE.COM/X"}},
		{"https://ex.com/Zürich/straße ok", []string{"https://ex.com/Zürich/straße"}},
		// Not URLs.
		{"example.com alone", nil},
		{"ana@github.com/x", nil},
		{"main.go/ and index.html/", nil},
		{"course-v1:MITx+6.002x", nil},
		{"see question 3.2.1", nil},
		{"https:// nothing", nil},
	})
}

func TestFindRoster(t *testing.T) {
	t.Parallel()
	sc := NewScrubber([]Person{
		{Name: "María López", Usernames: []string{"mlopez", "maria.l"}, Token: "[PERSON l_maria]"},
		{Name: "Jean-Luc O'Brien", Usernames: []string{"JL_OB"}, Token: "[PERSON l_jl]"},
		{Name: "Li Wei", Token: "[PERSON l_li]"},
		{Name: "Maria Stone", Token: "[PERSON l_stone]"},
	})
	runDetectorCases(t, sc.roster.find, []detectorCase{
		{"I agree with María López here", []string{"María López"}},
		{"i agree with maria lopez here", []string{"maria lopez"}},
		{"LOPEZ said", []string{"LOPEZ"}},
		{"Lopez's answer", []string{"Lopez's"}},
		{"López’s answer", []string{"López’s"}},
		{"Jean-Luc O'Brien wrote; jean luc o brien too", []string{"Jean-Luc O'Brien", "jean luc o brien"}},
		{"Brien and Luc", []string{"Brien", "Luc"}},
		{"Li Wei and li wei, but not li alone", []string{"Li Wei", "li wei"}},
		{"Wei said", []string{"Wei"}},
		{"lopez, stone and maria in lower case", []string{"lopez", "maria"}}, // "stone" is a common word
		{"ping mlopez or MLOPEZ or maria.l.", []string{"mlopez", "MLOPEZ", "maria.l"}},
		{"jl_ob, see mlopez.Thanks", []string{"jl_ob", "mlopez"}},
		{"mlopez2 and xmlopez", nil},
	})
	t.Run("AmbiguousPartGetsGenericToken", func(t *testing.T) {
		ms := sc.roster.find(newTextIndex("Maria said"), nil)
		if len(ms) != 1 || ms[0].token != "[PERSON]" {
			t.Errorf("got %+v, want one generic [PERSON]", ms)
		}
		ms = sc.roster.find(newTextIndex("Maria Stone said"), nil)
		if len(ms) != 1 || ms[0].token != "[PERSON l_stone]" {
			t.Errorf("got %+v, want the full name's token", ms)
		}
	})
}

func TestFoldTables(t *testing.T) {
	t.Parallel()
	if len(foldLatin1) != 0x40 || len(foldLatinExtA) != 0x80 {
		t.Fatalf("fold tables have lengths %d, %d", len(foldLatin1), len(foldLatinExtA))
	}
	for in, want := range map[string]string{
		"López": "lopez", "ÅNGSTRÖM": "angstrom", "Łukasz": "lukasz", "Žižek": "zizek",
		"Erdoğan": "erdogan", "Şahin": "sahin", "Dvořák": "dvorak", "Lo\u0301pez": "lopez",
		"Øre": "ore", "Ñuñez": "nunez", "Ÿves": "yves", "Straße": "straße", "Őry": "ory",
	} {
		if got := string(appendFolded(nil, in)); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}
