package deidentify

import (
	"strings"
	"testing"
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
		// Negatives: no house number, times, lowercase keywords, scores.
		{"I walked down Main Street yesterday", nil},
		{"the way 3 students solved it", nil},
		{"at 12:30 Main Street was closed", nil},
		{"question 2 via the forum", nil},
		{"scored 8 Points on Way forward", nil},
		{"chapter 3 Place value and 4 Road signs", nil},
		{"version 1.2 Street edition", nil},
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
