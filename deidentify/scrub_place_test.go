package deidentify

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestFindStreetAddresses(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findStreetAddresses, []detectorCase{
		{"I live at 100 Main Street, 100000 Hà Nội.", []string{"100 Main Street, 100000 Hà Nội"}},
		{"I live at 47 Hauptstraße, T12 Q2YL Cork.", []string{"47 Hauptstraße, T12 Q2YL Cork"}},
		{"I live at 103 Rue de la Paix, 96-994 Łódź.", []string{"103 Rue de la Paix, 96-994 Łódź"}},
		{"Come by 221B Baker Street sometime", []string{"221B Baker Street"}},
		{"office: Calle Mayor 12, 28013 Madrid", []string{"Calle Mayor 12, 28013 Madrid"}},
		{"Hauptstraße 5 in Berlin", []string{"Hauptstraße 5"}},
		{"we meet at Storgata 5, 0155 Oslo!", []string{"Storgata 5, 0155 Oslo"}},
		{"12 Elm Road is where I grew up", []string{"12 Elm Road"}},
		{"post to 7 Rua Augusta, 1100-048 Lisboa", []string{"7 Rua Augusta, 1100-048 Lisboa"}},
		{"write to 12 rue de la Paix, 75002 Paris.", []string{"12 rue de la Paix, 75002 Paris"}},
		{"la rue 12 and via 3 ways", nil},
		// Negatives: no house number, times, lowercase keywords, scores.
		{"I walked down Main Street yesterday", nil},
		{"the way 3 students solved it", nil},
		{"at 12:30 Main Street was closed", nil},
		{"question 2 via the forum", nil},
		{"scored 8 Points on Way forward", nil},
		{"chapter 3 Place value and 4 Road signs", nil},
		{"version 1.2 Street edition", nil},
		{"Route 66", nil},
		{"Section 3, Road safety", nil},
		{"Chapter 12 Street art", nil},
		{"Lecture 4, Avenue of approach", nil},
		{"in 1990 Main Street was renamed", nil},
		{"Since 2005 Baker Street has changed", nil},
	})
}

// TestFindStreetAddressesCountries covers the address formats of many
// countries: the span runs from any flat or house number through the
// street and the district, city, state and postcode that follow it.
func TestFindStreetAddressesCountries(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findStreetAddresses, []detectorCase{
		// US, CA: state and ZIP or postal code, directions, units.
		{"Ship it to 149 Maple Lane, Columbus, OH 43215, thanks!", []string{"149 Maple Lane, Columbus, OH 43215"}},
		{"at 1600 Pennsylvania Avenue NW, Washington, DC 20500.", []string{"1600 Pennsylvania Avenue NW, Washington, DC 20500"}},
		{"mail to: 17 Sycamore Blvd #25. Thanks", []string{"17 Sycamore Blvd #25"}},
		{"to 80 Queen Street West, Toronto, ON K8S 5X0?", []string{"80 Queen Street West, Toronto, ON K8S 5X0"}},
		{"at 93 rue Sainte-Catherine O, Montréal, QC R5M 1P5\nBring snacks", []string{"93 rue Sainte-Catherine O, Montréal, QC R5M 1P5"}},
		{"I live at 12 Baker Street Apt 4B, Boston", []string{"12 Baker Street Apt 4B, Boston"}},
		// UK, AU, NG: town and postcode, flats.
		{"My parents' house is Flat 6, 101 Kingsley Road, use that one.", []string{"Flat 6, 101 Kingsley Road"}},
		{"I'm at 26 Meadow Road, Bristol G12 1JT.", []string{"26 Meadow Road, Bristol G12 1JT"}},
		{"send it to 23 Grevillea Drive, Glenelg SA 5045", []string{"23 Grevillea Drive, Glenelg SA 5045"}},
		{"my old flat (65 Ogui Road, Enugu) instead", []string{"65 Ogui Road, Enugu"}},
		{"at 18 Aminu Kano Crescent, Wuse 2, Abuja, I think", []string{"18 Aminu Kano Crescent, Wuse 2, Abuja"}},
		{"I live at Plot 5, Adeola Odeku Street, Victoria Island, Lagos.", []string{"Plot 5, Adeola Odeku Street, Victoria Island, Lagos"}},
		{"Address: No. 50 Ring Road, Ibadan", []string{"No. 50 Ring Road, Ibadan"}},
		// IN: flats, house numbers, sectors and PIN codes.
		{"mail to: Flat 269, Sai Residency, Andheri West, Mumbai 400020. Thanks", []string{"Flat 269, Sai Residency, Andheri West, Mumbai 400020"}},
		{"Address: House No. 220, Gandhi Nagar, Jaipur 302074", []string{"House No. 220, Gandhi Nagar, Jaipur 302074"}},
		{"moved to D-102, Sector 40, Noida 201302. My number", []string{"D-102, Sector 40, Noida 201302"}},
		{"courier to 209, 2nd Cross Road, Indiranagar, Bengaluru 560008.", []string{"209, 2nd Cross Road, Indiranagar, Bengaluru 560008"}},
		// FR, ES, MX: lower-case keywords, bis, abbreviations.
		{"Please post it to 94 bis rue des Lilas, 44000 Nantes.", []string{"94 bis rue des Lilas, 44000 Nantes"}},
		{"at 76 bis allée des Peupliers, 69007 Lyon, on Sundays", []string{"76 bis allée des Peupliers, 69007 Lyon"}},
		{"prize: 106 boulevard de la Liberté, 69007 Lyon.", []string{"106 boulevard de la Liberté, 69007 Lyon"}},
		{"address to Avenida de los Pinos 77, 41001 Sevilla?", []string{"Avenida de los Pinos 77, 41001 Sevilla"}},
		{"address: Av. Constitución 130 Pte., 64000 Monterrey, N.L. Reckon it", []string{"Av. Constitución 130 Pte., 64000 Monterrey, N.L."}},
		{"I'm at Av. Insurgentes Sur 1917, Col. Del Valle, 03100 Ciudad de México — drop by", []string{"Av. Insurgentes Sur 1917, Col. Del Valle, 03100 Ciudad de México"}},
		// IT, PT, BR: comma before the number, dashes before states.
		{"scrivi a Via Roma 12, 00184 Roma", []string{"Via Roma 12, 00184 Roma"}},
		{"meets at Rua das Flores, 187, Centro, São Paulo - SP, 01310-440, on Sundays.", []string{"Rua das Flores, 187, Centro, São Paulo - SP, 01310-440"}},
		{"to Av. Atlântica, 143 - Copacabana, Rio de Janeiro - RJ, 22021-954. My", []string{"Av. Atlântica, 143 - Copacabana, Rio de Janeiro - RJ, 22021-954"}},
		{"form was Rua Augusta, 179, apto 81, São Paulo", []string{"Rua Augusta, 179, apto 81, São Paulo"}},
		// NL, DE: compounds, names with particles, no keyword.
		{"documents to Keizersgracht 93, 2514 EA Den Haag.", []string{"Keizersgracht 93, 2514 EA Den Haag"}},
		{"post to Witte de Withstraat 144, 3511 AB Utrecht.", []string{"Witte de Withstraat 144, 3511 AB Utrecht"}},
		{"mail to: Lange Voorhout 170, 1015 CJ Amsterdam", []string{"Lange Voorhout 170, 1015 CJ Amsterdam"}},
		{"Wir wohnen Unter den Linden 77, 10117 Berlin.", []string{"Unter den Linden 77, 10117 Berlin"}},
		{"at Kastanienallee 180a, 01067 Dresden", []string{"Kastanienallee 180a, 01067 Dresden"}},
		// JP: chōme-block-house, ward, postcode.
		{"I live at 1-2-3 Shibuya, Shibuya-ku, Tokyo 150-0002.", []string{"1-2-3 Shibuya, Shibuya-ku, Tokyo 150-0002"}},
		// Negatives for the new rules.
		{"Unit 3, Lesson 2, Week 4 covers it", nil},
		{"Unit 3, Spring 2024 cohort", nil},
		{"Flat 3, Room 2 is quiet", nil},
		{"Chapter 12, 10000 Words later", nil},
		{"we scored 12, 34567 Points total", nil},
		{"the 3 place settings and 2 avenue trees", nil},
		{"take 5 route planning tips", nil},
		{"I live on 5th Avenue now", nil},
		{"dates 2024-01-15 Monday, Tuesday-ku", nil},
		{"steps 1-2-3 Easy, then more", nil},
		{"Python 3, 2024 Edition", nil},
		{"Aggregate 3 tables by Key", nil},
	})
}

// TestFindPostalCodesCues covers the cue shapes of postal codes.
func TestFindPostalCodesCues(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findPostalCodes, []detectorCase{
		{"Postleitzahl: 36468. Posting", []string{"36468"}},
		{"Enter your ZIP: I entered 30309 and got an error.", []string{"30309"}},
		{"Enter your ZIP: I entered 10027-5893 and got an error.", []string{"10027-5893"}},
		{"ZIP/postal code field: I typed N9B 3T6", []string{"N9B 3T6"}},
		{"My post code is NG7 9HA.", []string{"NG7 9HA"}},
		{"I live in the M14 8TT postcode area", []string{"M14 8TT"}},
		{"I live in the E8 9HT postcode area", []string{"E8 9HT"}},
		{"kod pocztowy 00-950 Warszawa", []string{"00-950"}},
		{"código postal 1100-048 Lisboa", []string{"1100-048"}},
		{"CEP: 01310-440", []string{"01310-440"}},
		{"〒150-0002", []string{"150-0002"}},
		{"postcode 2000, Sydney", []string{"2000"}},
		// No cue, or the cue is too far.
		{"I entered 30309 and got an error.", nil},
		{"zip the 12345 files, I entered nothing", nil},
		{"the 12345 zip files", nil},
		{"in 2019 postcodes changed", nil},
	})
}

func TestRosterPlaces(t *testing.T) {
	t.Parallel()
	sc := NewScrubber([]Person{
		{Name: "Aoife Murphy", Cities: []string{"Cork"}, PostalCodes: []string{"T12 Q2YL"}},
		{Name: "Ola Nordmann", Cities: []string{"Malmö"}, PostalCodes: []string{"211 19"}},
		{Name: "Ana Lima", Cities: []string{"Nice"}, PostalCodes: []string{"06"}},
	})
	tests := []struct{ in, want string }{
		{"I'm based in Malmö.", "I'm based in [LOCATION]."},
		{"I'm based in malmo, postcode 211 19", "I'm based in malmo, postcode [POSTAL_CODE]"},
		{"Greetings from Cork (t12 q2yl)!", "Greetings from [LOCATION] ([POSTAL_CODE])!"},
		{"That was a nice proof.", "That was a nice proof."},
		{"I moved to Nice in 06 days", "I moved to [LOCATION] in 06 days"},
	}
	for _, tt := range tests {
		if got, _ := sc.Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got, _ := sc.Scrub(tt.want); got != tt.want {
			t.Errorf("Scrub is not idempotent on %q: %q", tt.want, got)
		}
	}
	if got, _ := sc.Scrub("I live at 47 Hauptstraße, T12 Q2YL Cork."); strings.Contains(got, "Q2YL") || strings.Contains(got, "Cork") || strings.Contains(got, "47") {
		t.Errorf("address survived: %q", got)
	}
}

// findPlacesByWord is placeIndex.find without its filters: it folds and
// looks up every word of the text.
func findPlacesByWord(pi *placeIndex, s string) []match {
	var dst []match
	var scratch []byte
	for i := 0; ; {
		a, b := nextWord(s, i)
		if a < 0 {
			return dst
		}
		i = b
		scratch = appendFolded(scratch[:0], s[a:b])
		best, typ := -1, ""
		for _, c := range pi.first[string(scratch)] {
			if end, ok := matchWords(s, b, c.words[1:], &scratch); ok && end > best {
				if r, _ := runeAt(s, a); c.typ == FindingLocation && unicode.IsLower(r) {
					continue
				}
				best, typ = end, c.typ
			}
		}
		if best >= 0 {
			dst = append(dst, match{start: a, end: best, typ: typ, token: genericTokens[typ], rank: rankPlace})
			i = best
		}
	}
}

// TestPlaceFindFilters checks that the filters of placeIndex.find skip no
// place: postal codes that start with a lower-case word ("ak 279 4848")
// or a digit, cities with diacritics, in any case, at block boundaries.
func TestPlaceFindFilters(t *testing.T) {
	t.Parallel()
	rosters := [][]Person{
		{{Cities: []string{"Cork", "Zürich", "Łódź", "Ciudad de México"}, PostalCodes: []string{"T12 Q2YL", "96-994", "8001"}}},
		{{Cities: []string{"Reading"}, PostalCodes: []string{"AK 279 4848", "sw1a 1aa", "X5013VZN"}}},
		{{Cities: []string{"Nice"}, PostalCodes: []string{"abcdef 12"}}}, // a long postal word: every word is a candidate
		{{PostalCodes: []string{"e 5", "Ab 77"}}},
	}
	pieces := []string{
		"cork", "Cork", "CORK", "zurich", "Zurich", "Zu\u0308rich", "ZÜRICH", "łódź", "Lodz", "ciudad de méxico",
		"Ciudad de Mexico", "t12 q2yl", "T12 Q2YL", "96-994", "8001", "reading", "Reading", "ak 279 4848",
		"AK 279 4848", "aK 279  4848", "sw1a 1aa", "SW1A 1AA", "x5013vzn", "abcdef 12", "ABCDEF 12", "nice",
		"Nice", "e 5", "E 5", "e\u0301 5", "ab 77", "aB 77", "áb 77", "a\u0301b 77", "the", "how", "my", "a", "ak", "e", "é", "—", "12", "x",
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for _, roster := range rosters {
		pi := buildPlaceIndex(roster)
		for range 3000 {
			var sb strings.Builder
			for range 1 + rng.IntN(40) {
				sb.WriteString(pieces[rng.IntN(len(pieces))])
				sb.WriteString([]string{" ", " ", ", ", "\n", "  ", ".", "-"}[rng.IntN(7)])
			}
			s := sb.String()
			want := findPlacesByWord(&pi, s)
			got := pi.find(newTextIndex(s), nil)
			if !slices.Equal(got, want) {
				t.Fatalf("%q: find = %v, want %v", s, got, want)
			}
		}
	}
}
