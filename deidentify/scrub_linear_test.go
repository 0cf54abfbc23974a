package deidentify

import (
	"strings"
	"testing"
)

// TestScrubLinearTime scrubs 1 MB lines built to defeat scanners that
// retry inside a rejected candidate or look far back. It asserts nothing
// about time (the test timeout does); a quadratic detector takes minutes.
func TestScrubLinearTime(t *testing.T) {
	t.Parallel()
	sc := NewScrubber([]Person{{Name: "Ana Lopez", Usernames: []string{"ana.l"}}})
	const size = 1 << 20
	for _, unit := range []string{
		".", "1", "1.", "1-", "1 ", "12:", "a1:", "AB1", "DE89 ", "Hi ", "Hi Tom ", "I'm 4", "born 1",
		"zip 1", "x:1.", "fe", "f:", "\n- ", "Cheers,\n", "(1) ", "+1 ", "Tom ",
		"@ab ", "`@a ", "```@x ",
	} {
		in := strings.Repeat(unit, size/len(unit))
		out, _ := sc.Scrub(in)
		if len(out) == 0 {
			t.Errorf("%q...: empty output", unit)
		}
	}
}
