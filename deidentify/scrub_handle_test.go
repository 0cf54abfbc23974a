package deidentify

import "testing"

func TestHandlesAndCodeBlocks(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findHandles, []detectorCase{
		{"```java\n@Override\nvoid f() {}\n```\nthanks @jdoe123", []string{"@jdoe123"}},
		{"use `@property` here, ask @maria_l", []string{"@maria_l"}},
		// An unclosed fence or a stray backtick must not switch scrubbing off.
		{"``` oops\nthanks @jdoe123", []string{"@jdoe123"}},
		{"it's ` odd, ask @jdoe123 now", []string{"@jdoe123"}},
		{"@everyone the session starts at 19:00", nil},
	})
}

func TestCardWithDots(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findCreditCards, []detectorCase{
		{"card 4111.1111.1111.1111 please", []string{"4111.1111.1111.1111"}},
		{"pi is 3.1415.9265.3589.7932", nil}, // fails Luhn/prefix
	})
}
