package deidentify

import (
	"testing"
)

// TestPrefilterSkipsOnlyIdleDetectors checks that a detector skipped for
// lack of its trigger bytes would have found nothing.
func TestPrefilterSkipsOnlyIdleDetectors(t *testing.T) {
	t.Parallel()
	sc := NewScrubber([]Person{{Name: "Ana Lopez", Usernames: []string{"ana.l"}}})
	for _, in := range []string{
		"call +44 (0)20 7946 0958 or 555-1234", "card 4111 1111 1111 1111", "IBAN fr14 2004 1010 0505 0001 3m02 606",
		"NI AB 12 34 56 C and AB123456C", "SSN 123-45-6789", "I'm 45", "born 3.2.1990", "zip 90210",
		"Hi Zanele,", "ping @ana", "is 2 or in 2024", "GB29NWBK60161331926819", "12 Elm Road",
		"Élodie said hi", "plain text, nothing here",
	} {
		tr := scanTraits(in)
		for k, d := range sc.detectors {
			if d.needs == nil || d.needs(&tr) {
				continue
			}
			if got := d.find(newTextIndex(in), nil); len(got) > 0 {
				t.Errorf("detector %d skipped on %q but finds %v", k, in, got)
			}
		}
	}
}

func TestScanTraits(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]textTraits{
		"call 555-123-4567": {digitCluster: 10, hasDigit: true},
		"1.2  3":            {digitCluster: 2, hasDigit: true},
		"DE89":              {digitCluster: 2, hasDigit: true, hasUpper: true, lettersDigit: true},
		"AB 12":             {digitCluster: 2, hasDigit: true, hasUpper: true, lettersDigit: true},
		"is 2 and ab 3":     {digitCluster: 1, hasDigit: true},
		"a@b":               {hasAt: true},
	} {
		if got := scanTraits(in); got != want {
			t.Errorf("scanTraits(%q) = %+v, want %+v", in, got, want)
		}
	}
}
