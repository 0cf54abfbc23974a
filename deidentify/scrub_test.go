package deidentify

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Name lists in the style of a fake-data generator, with diacritics and
// compound names to exercise folding and multi-word matching.
var (
	fakeFirstNames = []string{
		"María", "José", "Ana", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sofía", "Lucas",
		"Chloé", "Jean-Luc", "Zoë", "Björn", "Søren", "Aarav", "Priya", "Wei", "Yuki", "Oluwaseun",
		"Fatima", "Mohammed", "Ingrid", "Łukasz", "Dmitri", "Amélie", "Kwame", "Siobhan", "Tomás", "Nguyen",
	}
	fakeLastNames = []string{
		"López", "García", "Smith", "Johnson", "O'Brien", "Müller", "Nakamura", "Okafor", "Kowalski", "Dubois",
		"Rossi", "Andersson", "Patel", "Chen", "Fernández", "Ivanova", "Mensah", "Haddad", "Nørgaard", "Van der Berg",
		"MacDonald", "Gonçalves", "Zhang", "Schmidt", "Novák", "Papadopoulos", "Quispe", "Hernández", "Walker", "Yilmaz",
	}
)

// fakePerson is a roster entry with the personal data planted about it.
type fakePerson struct {
	Person
	first, last string
	phone, url  string
	ip          string
}

// asciiFold is a crude transliteration for generated usernames and emails.
func asciiFold(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(s) {
		switch f := foldRune(r); {
		case f >= 'a' && f <= 'z' || f >= '0' && f <= '9':
			sb.WriteRune(f)
		case f == 'ø':
			sb.WriteRune('o')
		}
	}
	return sb.String()
}

// fakeRoster returns n people with distinct full names, usernames and emails
// and tokens from a real Pseudonymizer.
func fakeRoster(t testing.TB, n int, seed uint64) []fakePerson {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	ps := mustPseudonymizer(t, testMasterKey(t, seed), KeyParams{Partner: "mitx", Scope: ScopePartner, Version: 1})
	seen := map[string]bool{}
	var out []fakePerson
	for len(out) < n {
		first := fakeFirstNames[rng.IntN(len(fakeFirstNames))]
		last := fakeLastNames[rng.IntN(len(fakeLastNames))]
		if seen[first+" "+last] && len(seen) < len(fakeFirstNames)*len(fakeLastNames) {
			continue
		}
		seen[first+" "+last] = true
		i := len(out)
		user := fmt.Sprintf("%s%s%d", asciiFold(first)[:1], asciiFold(last), 10+i)
		out = append(out, fakePerson{
			Person: Person{
				Name:      first + " " + last,
				Usernames: []string{user, fmt.Sprintf("%s_%s%d", asciiFold(first), asciiFold(last)[:2], i)},
				Emails:    []string{fmt.Sprintf("%s.%s%d@example.edu", asciiFold(first), asciiFold(last), i)},
				Token:     "[PERSON " + ps.Pseudonym(KindLearner, fmt.Sprint(1000+i)) + "]",
			},
			first: first,
			last:  last,
			phone: []string{"+1 (555) %03d-%04d", "555-%03d-%04d", "+44 20 7%03d %04d", "(555) %03d-%04d"}[i%4],
			url:   []string{"https://linkedin.com/in/%s", "github.com/%s", "www.%s.dev", "http://blog.example.org/%s?ref=forum"}[i%4],
			ip:    []string{"192.168.%d.%d", "2001:db8::%x:%x"}[i%2],
		})
		p := &out[len(out)-1]
		p.phone = fmt.Sprintf(p.phone, rng.IntN(1000), rng.IntN(10000))
		p.url = fmt.Sprintf(p.url, user)
		p.ip = fmt.Sprintf(p.ip, 1+rng.IntN(250), 1+rng.IntN(250))
	}
	return out
}

func persons(fps []fakePerson) []Person {
	ps := make([]Person, len(fps))
	for i, fp := range fps {
		ps[i] = fp.Person
	}
	return ps
}

var plantedTemplates = []string{
	"Hi everyone, I'm %[1]s. Email me at %[3]s or call %[4]s if the quiz is unclear.",
	"%[1]s's answer to 3.2.1 was right; my profile is %[5]s and my home server %[6]s.",
	"Thanks %[7]s! I think %[2]s made a good point, ping %[2]s or @%[2]s.",
	"Reply from %[2]s: contact %[8]s, tel. %[4]s, site %[5]s (from %[6]s).",
	"As %[9]s said, %[1]s should post again — %[3]s.",
}

// plant returns a post mentioning fp and the values that must not survive.
func plant(fp fakePerson, i int) (string, []string) {
	user := fp.Usernames[i%2]
	email := fp.Emails[0]
	obfuscated := strings.NewReplacer("@", " [at] ", ".", " dot ").Replace(email)
	text := fmt.Sprintf(plantedTemplates[i%len(plantedTemplates)],
		fp.Name, user, email, fp.phone, fp.url, fp.ip, fp.first, obfuscated, fp.last)
	secrets := []string{fp.Name, user, email, fp.phone, fp.url, fp.ip, fp.first, fp.last}
	return text, secrets
}

func TestScrubRemovesPlantedData(t *testing.T) {
	t.Parallel()
	roster := fakeRoster(t, 300, 1)
	sc := NewScrubber(persons(roster))
	for i, fp := range roster {
		text, secrets := plant(fp, i)
		out, findings := sc.Scrub(text)
		if len(findings) == 0 {
			t.Fatalf("no findings in %q", text)
		}
		lower := strings.ToLower(out)
		for _, secret := range secrets {
			if !strings.Contains(text, secret) {
				continue // this template does not use it
			}
			if strings.Contains(lower, strings.ToLower(secret)) || strings.Contains(out, secret) {
				t.Errorf("%q survived scrubbing:\n in  %s\n out %s", secret, text, out)
			}
		}
		if strings.Contains(text, fp.Name) && !strings.Contains(out, fp.Token) {
			t.Errorf("person token %s missing from %q", fp.Token, out)
		}
	}
}

func TestScrubKeepsTrickyNegatives(t *testing.T) {
	t.Parallel()
	sc := NewScrubber(persons(fakeRoster(t, 300, 2)))
	for _, text := range []string{
		"see question 3.2.1",
		"the video at 12:30:45 explains it",
		"I scored 8/10 in 2024",
		"upgrade to version 1.10.2",
		"course-v1:MITx+6.002x+2T2024",
		"sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sha256 0123456789012345678901234567890123456789012345678901234567890123",
		"on 2024-03-01 the deadline moved to 01.04.2024",
		"use std::vector and x[::-1]; the answer is 3.14159",
		"look at example.com for details, or read main.go",
		"Lecture 12, slide 34: O(n log n) vs O(n^2)",
	} {
		if out, findings := sc.Scrub(text); out != text || len(findings) > 0 {
			t.Errorf("Scrub(%q) = %q, %v; want it unchanged", text, out, findings)
		}
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	sc := NewScrubber([]Person{
		{Name: "Ana López", Usernames: []string{"bob", "ana.l"}, Token: "[PERSON l_ana]"},
		{Name: "Email Person", Token: "l_notbracketed"},
		{Name: "Bad Token", Token: "[x]y]"},
	})
	tests := []struct {
		name     string
		in, want string
		findings []Finding
	}{
		{
			name:     "SpansIntoInput",
			in:       "Mail ana@example.com now",
			want:     "Mail [EMAIL] now",
			findings: []Finding{{FindingEmail, 5, 20}},
		},
		{
			name:     "PersonToken",
			in:       "Ana López's post",
			want:     "[PERSON l_ana] post",
			findings: []Finding{{FindingPerson, 0, 12}},
		},
		{
			name:     "OverlapLongestWins",
			in:       "ana.l@example.com",
			want:     "[EMAIL]",
			findings: []Finding{{FindingEmail, 0, 17}},
		},
		{
			name:     "URLContainingUsername",
			in:       "github.com/bob/repo",
			want:     "[URL]",
			findings: []Finding{{FindingURL, 0, 19}},
		},
		{
			// "@alice" glued to a word is no handle, and replacing the
			// word does not make it one.
			name:     "ReplacementDoesNotExposeHandle",
			in:       "bob@alice",
			want:     "[USERNAME]@alice",
			findings: []Finding{{FindingUsername, 0, 3}},
		},
		{
			name:     "TokensInInputKept",
			in:       "[EMAIL] [PERSON l_ana] [PERSON] [l_notbracketed] by Email",
			want:     "[EMAIL] [PERSON l_ana] [PERSON] [l_notbracketed] by [l_notbracketed]",
			findings: []Finding{{FindingPerson, 52, 57}},
		},
		{
			name:     "InvalidUTF8",
			in:       "a\xff\xfeb ana@example.com \xff",
			want:     "a\uFFFDb [EMAIL] \uFFFD",
			findings: []Finding{{FindingEmail, 5, 20}},
		},
		{
			name:     "StraddlingTokenLeavesPieces",
			in:       "https://evil.example/[EMAIL]",
			want:     "[URL][EMAIL]",
			findings: []Finding{{FindingURL, 0, 21}},
		},
		{
			name:     "BadTokenFallsBack",
			in:       "Token said",
			want:     "[PERSON] said",
			findings: []Finding{{FindingPerson, 0, 5}},
		},
		{name: "Empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, findings := sc.Scrub(tt.in)
			if got != tt.want {
				t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !slices.Equal(findings, tt.findings) {
				t.Errorf("findings mismatch (-want +got):\n- %v\n+ %v", tt.findings, findings)
			}
			if again, f2 := sc.Scrub(got); again != got || len(f2) > 0 {
				t.Errorf("not idempotent: %q -> %q %v", got, again, f2)
			}
		})
	}
}

func TestScrubConcurrent(t *testing.T) {
	t.Parallel()
	roster := fakeRoster(t, 100, 3)
	sc := NewScrubber(persons(roster))
	want := make([]string, len(roster))
	for i, fp := range roster {
		text, _ := plant(fp, i)
		want[i], _ = sc.Scrub(text)
	}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := g; i < len(roster); i += 4 {
				text, _ := plant(roster[i], i)
				if got, _ := sc.Scrub(text); got != want[i] {
					t.Errorf("concurrent Scrub differs for %d", i)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func TestScrubPasses(t *testing.T) {
	t.Parallel()
	sc := NewScrubber([]Person{{Name: "Bob Person", Usernames: []string{"bob"}}})
	t.Run("ReplacementsDoNotChain", func(t *testing.T) {
		// Each of these was once found one item per pass: a replacement
		// exposed its neighbour to a detector.
		for _, unit := range []string{"@a", "bob@", "5551234567(555)1234567", "1.2.3.4:", "x at y dot at dot "} {
			in := strings.Repeat(unit, 50)
			out, _, passes := sc.scrub(in, 1000)
			if passes > 2 {
				t.Errorf("%q...: %d passes, want at most 2", unit, passes)
			}
			checkScrub(t, sc, out)
		}
	})
	t.Run("CompetingDetectorsNeedAThirdPass", func(t *testing.T) {
		in := "A 555-1234 0::000"
		out, findings, passes := sc.scrub(in, 1000)
		if out != "A [PHONE] [IP]" || len(findings) != 2 || passes != 3 {
			t.Errorf("scrub(%q) = %q %v in %d passes", in, out, findings, passes)
		}
	})
	t.Run("FallbackAtPassLimit", func(t *testing.T) {
		in := "A 555-1234 0::000"
		out, findings, _ := sc.scrub(in, 2)
		want := []Finding{{FindingPhone, 0, len(in)}}
		if out != "[PHONE]" || !slices.Equal(findings, want) {
			t.Errorf("scrub(%q) with 2 passes = %q %v, want [PHONE] %v", in, out, findings, want)
		}
	})
}

// checkScrub asserts the invariants of Scrub on any input.
func checkScrub(t *testing.T, sc *Scrubber, in string) {
	t.Helper()
	out, findings := sc.Scrub(in)
	if !utf8.ValidString(out) {
		t.Fatalf("output is not valid UTF-8: %q", out)
	}
	prev := 0
	for _, f := range findings {
		if f.Start < prev || f.End <= f.Start || f.End > len(in) {
			t.Fatalf("finding %+v out of bounds or order (input length %d, previous end %d)", f, len(in), prev)
		}
		if _, ok := genericTokens[f.Type]; !ok {
			t.Fatalf("finding of unknown type %q", f.Type)
		}
		prev = f.End
	}
	if again, f2 := sc.Scrub(out); again != out || len(f2) > 0 {
		t.Fatalf("not idempotent:\n in    %q\n once  %q\n twice %q %v", in, out, again, f2)
	}
}

func FuzzScrub(f *testing.F) {
	roster := fakeRoster(f, 50, 4)
	sc := NewScrubber(append(persons(roster), Person{Name: "Bob Person", Usernames: []string{"bob"}}))
	for i, fp := range roster[:10] {
		text, _ := plant(fp, i)
		f.Add(text)
	}
	for _, s := range []string{
		"", "bob@alice", "@bob@bob", "[EMAIL]", "[PERSON] Person", "a\xffb", "Bob's",
		"x [at] y [dot] com", "+1 (555) 123-4567", "fe80::1", "https://x.com/[IP]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkScrub(t, sc, in)
	})
}

// forumPosts returns forum-like posts: mostly prose, some with personal data.
func forumPosts(roster []fakePerson, n int) []string {
	rng := rand.New(rand.NewPCG(9, 9))
	prose := []string{
		"I think the answer to problem 3 depends on whether the circuit is in steady state.",
		"Has anyone else had trouble with the autograder? My code passes locally but fails on submission 2.",
		"The lecture at 12:30:45 explains Thevenin equivalents really well, worth rewatching.",
		"You need to apply Kirchhoff's current law at each node, then solve the linear system.",
		"I scored 8/10 on the quiz in 2024 and I'm retaking the course to improve my understanding.",
		"Make sure you use version 1.10.2 of the simulator, the older one has a rounding bug.",
		"Great explanation, thanks! This finally makes sense after reading section 3.2.1 twice.",
		"Could the staff clarify whether partial credit is given for question 4b?",
	}
	posts := make([]string, n)
	for i := range posts {
		var sb strings.Builder
		for range 3 + rng.IntN(5) {
			sb.WriteString(prose[rng.IntN(len(prose))])
			sb.WriteByte(' ')
		}
		if i%3 == 0 {
			text, _ := plant(roster[rng.IntN(len(roster))], i)
			sb.WriteString(text)
		}
		posts[i] = sb.String()
	}
	return posts
}

func BenchmarkScrub(b *testing.B) {
	roster := fakeRoster(b, 1000, 5)
	sc := NewScrubber(persons(roster))
	posts := forumPosts(roster, 500)
	var size int64
	for _, p := range posts {
		size += int64(len(p))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range posts {
			sc.Scrub(p)
		}
	}
}

func BenchmarkNewScrubber(b *testing.B) {
	roster := persons(fakeRoster(b, 900, 6)) // the name lists allow 900 distinct names
	big := make([]Person, 0, 100_000)
	for i := range 100_000 {
		p := roster[i%len(roster)]
		p.Usernames = []string{fmt.Sprint("user", i)}
		big = append(big, p)
	}
	b.ReportAllocs()
	for b.Loop() {
		NewScrubber(big)
	}
}

func TestScrubRosterAloneAndScripts(t *testing.T) {
	t.Parallel()
	sc := NewScrubber([]Person{
		{Name: "Will Hunt", Token: "[PERSON l_will]"},
		{Name: "Fatima Bello", Token: "[PERSON l_fatima]"},
		{Name: "Søren Østergaard", Token: "[PERSON l_soren]"},
		{Name: "प्रिया शर्मा", Token: "[PERSON l_priya]"},
		{Name: "田中陽子", Token: "[PERSON l_yoko]"},
		{Name: "최 서연", Token: "[PERSON l_seoyeon]"},
	})
	for _, tt := range []struct{ in, want string }{
		// A name part alone in lower case, unless it is a common word.
		{"fatima u were right", "[PERSON l_fatima] u were right"},
		{"Hello soren, i owe bello a coffee", "Hello [PERSON l_soren], i owe [PERSON l_fatima] a coffee"},
		{"I will hunt for it", "I will hunt for it"},
		{"see /fatima and fatima_b", "see /fatima and fatima_b"},
		// Scripts with spacing marks and without spaces.
		{"Group 7: प्रिया शर्मा and शर्मा", "Group 7: [PERSON l_priya] and [PERSON l_priya]"},
		{"田中陽子さんのノート", "[PERSON l_yoko]さんのノート"},
		{"서연씨 and 최서연", "[PERSON l_seoyeon]씨 and [PERSON l_seoyeon]"},
	} {
		got, _ := sc.Scrub(tt.in)
		if got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again, f := sc.Scrub(got); again != got || len(f) > 0 {
			t.Errorf("not idempotent: %q -> %q %v", got, again, f)
		}
	}
}
