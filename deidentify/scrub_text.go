package deidentify

import (
	"unicode"
	"unicode/utf8"
)

// Byte classes shared by the detectors. The structured detectors (email,
// phone, URL, IP) work on ASCII bytes; anything >= 0x80 is "other" to them,
// so they never split a multi-byte character.

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool    { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool    { return isDigit(c) || isAlpha(c) }
func isHexDigit(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }
func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// Boundary checks treat the end of a replacement token (on the left of a
// candidate) and its start (on the right) like word characters: text glued
// to a token was glued to the finding the token replaced, so a replacement
// must not turn a rejected neighbour into a finding ("@a@a" must not become
// "[HANDLE]@a" and then "[HANDLE][HANDLE]", one Scrub pass per handle).
const (
	tokenEnd   = ']'
	tokenStart = '['
)

func lowerASCII(c byte) byte { return lowerTable[c] }

var lowerTable = func() (t [256]byte) {
	for c := range 256 {
		t[c] = byte(c)
		if c >= 'A' && c <= 'Z' {
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}()

// hasPrefixFold reports whether s[i:] starts with p, ASCII case-insensitively.
// p must be lower case.
func hasPrefixFold(s string, i int, p string) bool {
	if i < 0 || len(s)-i < len(p) {
		return false
	}
	for j := 0; j < len(p); j++ {
		if lowerASCII(s[i+j]) != p[j] {
			return false
		}
	}
	return true
}

// isWordRune reports whether r belongs in a word: a letter, digit or
// combining mark, nonspacing or spacing (the vowel signs of Devanagari and
// other Indic scripts are spacing marks: "शर्मा" is one word).
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isAlnum(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc)
}

// runeAt and runeBefore decode the rune starting at, or ending at, i.
func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return utf8.RuneError, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

func runeBefore(s string, i int) (rune, int) {
	if i <= 0 {
		return utf8.RuneError, 0
	}
	if c := s[i-1]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeLastRuneInString(s[:i])
}

// asciiWord and asciiUsername classify ASCII bytes for the roster scanners.
var asciiWord, asciiUsername [utf8.RuneSelf]bool

func init() {
	for c := range utf8.RuneSelf {
		asciiWord[c] = isAlnum(byte(c))
		asciiUsername[c] = asciiWord[c] || c == '_' || c == '.' || c == '-'
	}
}

// FNV-1a, used to pre-filter roster lookups.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashBytes[T string | []byte](b T) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * fnvPrime
	}
	return h
}

// hashLowerASCII hashes the ASCII lower-case form of s.
func hashLowerASCII(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(lowerASCII(s[i]))) * fnvPrime
	}
	return h
}

// keyFilter is a one-hash Bloom filter in front of a map: most words of a
// text are in no roster, and a bit test is much cheaper than a map lookup.
type keyFilter struct {
	bits []uint64
	mask uint64
}

func newKeyFilter(n int) keyFilter {
	size := uint64(1 << 12) // bits
	for size < uint64(n)*32 {
		size <<= 1
	}
	return keyFilter{bits: make([]uint64, size/64), mask: size - 1}
}

func (f *keyFilter) add(h uint64) {
	f.bits[(h&f.mask)>>6] |= 1 << (h & 63)
	h >>= 32
	f.bits[(h&f.mask)>>6] |= 1 << (h & 63)
}

func (f *keyFilter) mayContain(h uint64) bool {
	if f.bits[(h&f.mask)>>6]&(1<<(h&63)) == 0 {
		return false
	}
	h >>= 32
	return f.bits[(h&f.mask)>>6]&(1<<(h&63)) != 0
}

// nextWord returns the span [a, b) of the first word (maximal run of word
// runes) at or after i, or a = -1 if there is none.
func nextWord(s string, i int) (a, b int) {
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if asciiWord[c] {
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if isWordRune(r) {
			break
		}
		i += n
	}
	if i >= len(s) {
		return -1, -1
	}
	a = i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if !asciiWord[c] {
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) {
			break
		}
		i += n
	}
	return a, i
}

// foldLatin1 and foldLatinExtA map U+00C0..U+00FF and U+0100..U+017F to the
// base letter ('.' where there is none), so that "López" matches "Lopez".
const (
	foldLatin1    = "aaaaaa.ceeeeiiiidnooooo.ouuuuy..aaaaaa.ceeeeiiiidnooooo.ouuuuy.y"
	foldLatinExtA = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii..jjkk.llllllllllnnnnnn...oooooo..rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs"
)

// foldRune lower-cases r and strips a Latin diacritic. It returns -1 for a
// combining mark, which is dropped (decomposed "e\u0301" folds to "e").
func foldRune(r rune) rune {
	if unicode.Is(unicode.Mn, r) {
		return -1
	}
	r = unicode.ToLower(r)
	switch {
	case r >= 0xC0 && r <= 0xFF:
		if c := foldLatin1[r-0xC0]; c != '.' {
			return rune(c)
		}
	case r >= 0x100 && r <= 0x17F:
		if c := foldLatinExtA[r-0x100]; c != '.' {
			return rune(c)
		}
	}
	return r
}

// appendFolded appends the case- and diacritic-folded form of word to dst.
func appendFolded(dst []byte, word string) []byte {
	for i := 0; i < len(word); {
		c := word[i]
		if c < utf8.RuneSelf {
			dst = append(dst, lowerASCII(c))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(word[i:])
		i += n
		if f := foldRune(r); f >= 0 {
			dst = utf8.AppendRune(dst, f)
		}
	}
	return dst
}

// isFolded reports whether word is already its own folded form, which is
// the case for lower-case ASCII; the hot path then needs no copy.
func isFolded(word string) bool {
	for i := 0; i < len(word); i++ {
		if c := word[i]; c >= utf8.RuneSelf || c >= 'A' && c <= 'Z' {
			return false
		}
	}
	return true
}
