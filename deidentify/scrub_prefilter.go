package deidentify

// textTraits summarises the bytes the detectors are triggered by, so that
// Scrub skips a detector whose trigger is absent: most posts hold no
// 7-digit number, "@" or IBAN-like "DE89". The textIndex of a text
// computes them.
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

// byte classes for the traits
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

// scanTraits returns the traits of s. The detection passes take them from
// their textIndex.
func scanTraits(s string) textTraits { return newTextIndex(s).traits }

// digitTraits completes the traits from the numbers of the text; see
// scanTraits for what they mean.
func (ix *textIndex) digitTraits() {
	s := ix.s
	tr := &ix.traits
	cluster, prevEnd := 0, -2
	for d := ix.nextDigit(0); d < len(s); {
		e := ix.digitsEnd(d)
		// Numbers joined by one separator form a cluster.
		if d-prevEnd == 1 && traitClass[s[d-1]] == clsSep {
			cluster += e - d
		} else {
			cluster = e - d
		}
		tr.digitCluster = max(tr.digitCluster, cluster)
		if !tr.lettersDigit {
			tr.lettersDigit = lettersBefore(s, d)
		}
		prevEnd = e
		d = ix.nextDigit(e)
	}
	tr.hasDigit = tr.digitCluster > 0
}

func isLetterClass(c byte) bool {
	cls := traitClass[c]
	return cls == clsLower || cls == clsUpper
}

// lettersBefore reports whether the number at d follows exactly two
// letters ("DE89"), or two capitals and a space ("AB 12"), as scanTraits
// counts them: bytes from 0xC0 are letters, and the capitals are counted
// back to the last byte that is neither letter nor digit.
func lettersBefore(s string, d int) bool {
	twoLetters := func(e int) bool { // s[e-2:e] and not s[e-3]
		return e >= 2 && isLetterClass(s[e-1]) && isLetterClass(s[e-2]) && (e == 2 || !isLetterClass(s[e-3]))
	}
	if twoLetters(d) {
		return true
	}
	if d < 1 || s[d-1] != ' ' || !twoLetters(d-1) {
		return false
	}
	uppers := 0
	for k := d - 2; k >= 0 && uppers <= 2; k-- {
		switch traitClass[s[k]] {
		case clsUpper:
			uppers++
		case clsLower, clsDigit:
		default:
			return uppers == 2
		}
	}
	return uppers == 2
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
