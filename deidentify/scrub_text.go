package deidentify

import (
	"math/bits"
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

// asciiWord classifies ASCII bytes for the word scanners.
var asciiWord [utf8.RuneSelf]bool

func init() {
	for c := range utf8.RuneSelf {
		asciiWord[c] = isAlnum(byte(c))
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

// asciiWordFilter is a one-probe filter of ASCII words read straight from
// a text, for the scans that test every word: a bit per hash of a word's
// length and its first eight bytes, lower-cased. A word of a text is
// loaded as one machine word, with no branch on its length or letters, and
// a set of a few thousand keys leaves few prose words through. It holds
// ASCII keys only: an ASCII word of a text can only fold to one of those.
type asciiWordFilter struct {
	bits  []uint64
	shift uint // 64 minus the log2 of the number of bits
}

// newASCIIWordFilter returns a filter sized for n keys.
func newASCIIWordFilter(n int) asciiWordFilter {
	f := asciiWordFilter{shift: 64 - 12}
	for size := uint64(1 << 12); size < uint64(n)*16; size <<= 1 {
		f.shift--
	}
	f.bits = make([]uint64, 1<<(64-f.shift)/64)
	return f
}

// asciiWordHash hashes the ASCII word of n bytes (n > 0) whose first bytes
// x holds, first byte lowest; the bytes of x past the word are ignored.
// Words equal up to ASCII case hash alike: setting the 0x20 bit of every
// byte makes the two cases of a letter one byte, and changes other bytes
// the same way in a key and in a text.
func asciiWordHash(x uint64, n int) uint64 {
	x = (x | swarOnes*0x20) & (^uint64(0) >> uint(64-8*min(n, 8)))
	return (x ^ uint64(n)<<56) * 0x9E3779B97F4A7C15
}

// add records the ASCII key w, which is not empty.
func (f *asciiWordFilter) add(w string) {
	h := asciiWordHash(loadPrefix(w), len(w)) >> f.shift
	f.bits[h>>6] |= 1 << (h & 63)
}

// mayContainAt reports whether the ASCII word s[a:b] (a < b) may be a key,
// in any case.
func (f *asciiWordFilter) mayContainAt(s string, a, b int) bool {
	var x uint64
	if a+8 <= len(s) {
		x = load64(s, a)
	} else {
		x = loadPrefix(s[a:b])
	}
	return f.has(x, b-a)
}

// has is mayContainAt for the word of n bytes whose first bytes x holds,
// as asciiWordHash takes them. It is small enough to inline into the
// loops over every word of a text, which a call would make spill their
// registers for every word.
func (f *asciiWordFilter) has(x uint64, n int) bool {
	h := asciiWordHash(x, n) >> f.shift
	return f.bits[h>>6]&(1<<(h&63)) != 0
}

// load64 returns the eight bytes of s from i, first byte lowest.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// loadPrefix returns up to eight first bytes of s, first byte lowest.
func loadPrefix(s string) uint64 {
	var x uint64
	for i := range min(len(s), 8) {
		x |= uint64(s[i]) << (8 * i)
	}
	return x
}

// prefixFilter is a first test, cheaper than keyFilter, of whether a word
// may be a key of a set: for each pair of first bytes, a bit per pair of
// length and third byte (hashed into 64). It keeps the low five bits of
// each byte, so that case does not matter for letters: for an ASCII word
// that is a test of its folded form.
type prefixFilter [1 << 10]uint64

func prefixSlot[T string | []byte](w T) (slot int, bit uint64) {
	var c0, c1, c2 byte
	switch n := len(w); {
	case n > 2:
		c2 = w[2] & 31
		fallthrough
	case n == 2:
		c1 = w[1] & 31
		fallthrough
	case n == 1:
		c0 = w[0] & 31
	}
	return int(c0)<<5 | int(c1), 1 << ((uint(min(len(w), 15))*11 + uint(c2)) & 63)
}

// add records a key.
func (f *prefixFilter) add(key string) {
	slot, bit := prefixSlot(key)
	f[slot] |= bit
}

// mayContain reports whether w, folded, may be a key; w is ASCII, or is a
// folded key itself.
func mayContain[T string | []byte](f *prefixFilter, w T) bool {
	slot, bit := prefixSlot(w)
	return f[slot]&bit != 0
}

func newPrefixFilter[V any](keys map[string]V) *prefixFilter {
	f := new(prefixFilter)
	for k := range keys {
		f.add(k)
	}
	return f
}

// wordTable maps words to small values like a map, faster for the short
// keys of the detectors' word lists, which are looked up for many words of
// every text: open addressing on a multiplicative hash of the first eight
// bytes and the length.
type wordTable[V any] struct {
	slots []wordSlot[V]
	shift uint
}

type wordSlot[V any] struct {
	key  string
	val  V
	used bool
}

func newWordTable[V any](m map[string]V) *wordTable[V] {
	t := &wordTable[V]{shift: 64}
	size := 1
	for size < 2*len(m) {
		size <<= 1
		t.shift--
	}
	t.slots = make([]wordSlot[V], size)
	for k, v := range m {
		i := wordHash(k) >> t.shift
		for t.slots[i].used {
			i = (i + 1) & uint64(size-1)
		}
		t.slots[i] = wordSlot[V]{k, v, true}
	}
	return t
}

func wordHash[T string | []byte](w T) uint64 {
	x := uint64(len(w))
	for k := 0; k < len(w) && k < 8; k++ {
		x ^= uint64(w[k]) << (8 * k)
	}
	for k := 8; k < len(w); k++ {
		x = bits.RotateLeft64(x, 8) ^ uint64(w[k])
	}
	return x * 0x9E3779B97F4A7C15
}

// get returns the value of w, or the zero value. The table is at most
// half full, so the probe ends.
func get[V any, T string | []byte](t *wordTable[V], w T) V {
	mask := uint64(len(t.slots) - 1)
	for i := wordHash(w) >> t.shift; ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if !sl.used {
			var zero V
			return zero
		}
		if sl.key == string(w) {
			return sl.val
		}
	}
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

// prependLowerWord writes word, lowercased (ASCII), into buf just before
// buf[start:], with a space between it and what is already there, and
// returns the new start: cue phrases are built backwards from a name, word
// by word, without allocating. The caller checks that it fits.
func prependLowerWord(buf []byte, start int, word string) int {
	if start < len(buf) {
		start--
		buf[start] = ' '
	}
	start -= len(word)
	for x := 0; x < len(word); x++ {
		buf[start+x] = lowerASCII(word[x])
	}
	return start
}
