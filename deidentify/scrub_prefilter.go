package deidentify

// textTraits summarises, in one pass over a text, the bytes the detectors
// are triggered by, so that Scrub skips a detector whose trigger is absent:
// most posts hold no 7-digit number, "@" or IBAN-like "DE89".
type textTraits struct {
	// digitCluster is the most digits in one cluster: digits joined by
	// single separators (" ", "-", ".", "/", "(", ")"), as in a phone or
	// card number.
	digitCluster int
	hasDigit     bool
	hasAt        bool
	hasUpper     bool
	// lettersDigit: two letters then a digit, possibly after a space (the
	// start of an IBAN or a National Insurance number).
	lettersDigit bool
}

// byte classes for the trait scan
const (
	clsOther uint8 = iota
	clsDigit
	clsSep
	clsLower
	clsUpper
	clsAt
)

var traitClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = clsDigit
	}
	for _, c := range []byte(" -./()") {
		t[c] = clsSep
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = clsLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = clsUpper
	}
	t['@'] = clsAt
	// Non-ASCII letters may start a capitalised name.
	for c := 0xC0; c < 0x100; c++ {
		t[c] = clsUpper
	}
	return t
}()

func scanTraits(s string) textTraits {
	var tr textTraits
	cluster, letters, uppers := 0, 0, 0
	upper2 := false // the last word was two capitals ("AB 12 34 56 C")
	var prev uint8
	for i := 0; i < len(s); i++ {
		cls := traitClass[s[i]]
		switch cls {
		case clsDigit:
			if letters == 2 && (prev == clsLower || prev == clsUpper) || prev == clsSep && s[i-1] == ' ' && upper2 {
				tr.lettersDigit = true
			}
			cluster++
			tr.digitCluster = max(tr.digitCluster, cluster)
			letters = 0
			prev = cls
			continue
		case clsSep:
			if prev == clsSep {
				cluster = 0
			}
			upper2 = s[i] == ' ' && letters == 2 && uppers == 2
			letters, uppers = 0, 0
		case clsLower:
			letters++
			cluster = 0
		case clsUpper:
			tr.hasUpper = true
			letters++
			uppers++
			cluster = 0
		case clsAt:
			tr.hasAt = true
			cluster, letters, uppers = 0, 0, 0
		default:
			cluster, letters, uppers = 0, 0, 0
		}
		prev = cls
	}
	tr.hasDigit = tr.digitCluster > 0
	return tr
}

// gatedDetector is a detector with the traits it needs to find anything;
// nil needs nothing.
type gatedDetector struct {
	find  detector
	needs func(*textTraits) bool
}

func needsDigits(n int) func(*textTraits) bool {
	return func(t *textTraits) bool { return t.digitCluster >= n }
}

func needsLettersDigit(t *textTraits) bool { return t.lettersDigit }
func needsAt(t *textTraits) bool           { return t.hasAt }
func needsUpper(t *textTraits) bool        { return t.hasUpper }
func needsUpperDigit(t *textTraits) bool   { return t.hasUpper && t.hasDigit }
