package deidentify

import (
	"math/bits"
	"strings"
	"unicode/utf8"
)

// textIndex is what the detectors need to know about a text, learnt in one
// pass over it: which bytes belong to words, to usernames and to numbers.
// With it a detector jumps from one candidate to the next (a number, a
// capitalised word) instead of reading, and decoding, every byte of the
// text itself. It holds a bit per byte and class (five eighths of the
// text's size) and is recycled between texts.
type textIndex struct {
	s     string
	word  []uint64 // bytes of word runes (isWordRune)
	user  []uint64 // bytes that can be part of a username: word bytes and "_", ".", "-"
	digit []uint64 // ASCII digits
	high  []uint64 // bytes from 0x80: a word without them is ASCII
	// capital marks "A" to "Z" and the first bytes of non-ASCII runes
	// (from 0xC0), which may start a capitalised word.
	capital []uint64

	traits textTraits
	ascii  bool   // the text has no high bit set
	key    []byte // scratch space for folded words
}

// scratch returns an empty buffer of capacity n for folded words, which a
// detector may use until it returns.
func (ix *textIndex) scratch(n int) []byte {
	if cap(ix.key) < n {
		ix.key = make([]byte, 0, max(n, 64))
	}
	return ix.key[:0:n]
}

// Byte classes of the index for ASCII bytes.
const (
	ixWord uint8 = 1 << iota
	ixUser
	ixDigit
	ixUpper
)

var ixClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range utf8.RuneSelf {
		switch {
		case isDigit(byte(c)):
			t[c] = ixWord | ixUser | ixDigit
		case isAlpha(byte(c)):
			t[c] = ixWord | ixUser
		case c == '_' || c == '.' || c == '-':
			t[c] = ixUser
		}
		if c >= 'A' && c <= 'Z' {
			t[c] |= ixUpper
		}
	}
	return t
}()

// maxPooledIndex is the most bitmap words an index kept for reuse holds
// (a 256 KiB text).
const maxPooledIndex = 1 << 12

// newTextIndex indexes s.
func newTextIndex(s string) *textIndex {
	ix := new(textIndex)
	ix.reset(s)
	return ix
}

// SWAR constants: a byte's high bit, and one in each byte.
const (
	swarHigh = 0x8080808080808080
	swarOnes = 0x0101010101010101
)

// swarAtLeast sets the high bit of each byte of x (all below 0x80) that is
// at least c.
func swarAtLeast(x uint64, c byte) uint64 { return (x + swarOnes*uint64(0x80-c)) & swarHigh }

// swarIn sets the high bit of each byte of x (all below 0x80) in [lo, hi].
func swarIn(x uint64, lo, hi byte) uint64 { return swarAtLeast(x, lo) &^ swarAtLeast(x, hi+1) }

// swarMask gathers the high bits of the bytes of v into a byte, first
// byte lowest.
func swarMask(v uint64) uint64 { return ((v >> 7) * 0x0102040810204080) >> 56 }

// reset indexes s, reusing the bitmaps.
func (ix *textIndex) reset(s string) {
	ix.s = s
	n := len(s)/64 + 1
	ix.word = zeroed(ix.word, n)
	ix.user = zeroed(ix.user, n)
	ix.digit = zeroed(ix.digit, n)
	ix.high = zeroed(ix.high, n)
	ix.capital = zeroed(ix.capital, n)
	for i, blk := 0, 0; blk < n; blk++ {
		// Set the bits of ASCII bytes in registers, eight at a time where
		// they come in eights; those of multi-byte runes, which may cross
		// into the next block, directly.
		var w, u, d, c uint64
		base := blk * 64
		end := min(base+64, len(s))
		for i < end {
			if i+8 <= end {
				x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
					uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
				if x&swarHigh == 0 {
					digits := swarIn(x, '0', '9')
					letters := swarIn(x|swarOnes*0x20, 'a', 'z')
					extra := swarIn(x, '-', '.') | swarIn(x, '_', '_')
					sh := uint(i - base)
					wm := swarMask(digits | letters)
					w |= wm << sh
					u |= (wm | swarMask(extra)) << sh
					d |= swarMask(digits) << sh
					c |= swarMask(letters&^(x<<2)) << sh // letters without the lower-case bit
					i += 8
					continue
				}
			}
			if b := s[i]; b < utf8.RuneSelf {
				cl := ixClass[b]
				sh := uint(i - base)
				w |= uint64(cl&ixWord) << sh
				u |= uint64(cl&ixUser>>1) << sh
				d |= uint64(cl&ixDigit>>2) << sh
				c |= uint64(cl&ixUpper>>3) << sh
				i++
				continue
			} else if b >= 0xC0 {
				setBits(ix.capital, i, i+1)
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			setBits(ix.high, i, i+size)
			if isWordRune(r) {
				setBits(ix.word, i, i+size)
				setBits(ix.user, i, i+size)
			}
			i += size
		}
		ix.word[blk] |= w
		ix.user[blk] |= u
		ix.digit[blk] |= d
		ix.capital[blk] |= c
	}
	ix.ascii = nextSet(ix.high, 0, len(s)) >= len(s)
	ix.traits = textTraits{
		hasAt:    strings.IndexByte(s, '@') >= 0,
		hasUpper: nextSet(ix.capital, 0, len(s)) < len(s),
	}
	ix.digitTraits()
}

func zeroed(b []uint64, n int) []uint64 {
	if cap(b) < n {
		return make([]uint64, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// setBits sets the bits [i, j) of bm.
func setBits(bm []uint64, i, j int) {
	for ; i < j; i++ {
		bm[i>>6] |= 1 << (uint(i) & 63)
	}
}

// nextSet returns the first position in [i, n) whose bit is set, or a
// position at or after n.
func nextSet(bm []uint64, i, n int) int {
	if i >= n {
		return n
	}
	k := i >> 6
	if w := bm[k] >> (uint(i) & 63); w != 0 {
		return i + bits.TrailingZeros64(w)
	}
	for k++; k<<6 < n; k++ {
		if bm[k] != 0 {
			return k<<6 + bits.TrailingZeros64(bm[k])
		}
	}
	return n
}

// nextClear returns the first position in [i, n) whose bit is clear, or
// n.
func nextClear(bm []uint64, i, n int) int {
	if i >= n {
		return n
	}
	k := i >> 6
	if w := ^bm[k] >> (uint(i) & 63); w != 0 {
		return min(i+bits.TrailingZeros64(w), n)
	}
	for k++; k<<6 < n; k++ {
		if bm[k] != ^uint64(0) {
			return min(k<<6+bits.TrailingZeros64(^bm[k]), n)
		}
	}
	return n
}

func isSet(bm []uint64, i int) bool { return bm[i>>6]&(1<<(uint(i)&63)) != 0 }

// isASCII reports whether s[a:b] is ASCII.
func (ix *textIndex) isASCII(a, b int) bool { return ix.ascii || nextSet(ix.high, a, b) >= b }

// nextDigit returns the first digit at or after i, or len(s).
func (ix *textIndex) nextDigit(i int) int { return nextSet(ix.digit, i, len(ix.s)) }

// digitsEnd returns the end of the digits from i.
func (ix *textIndex) digitsEnd(i int) int { return nextClear(ix.digit, i, len(ix.s)) }

// nextNumberStart returns the first digit at or after i that starts a
// number (is not preceded by a left stop), or len(s).
func (ix *textIndex) nextNumberStart(i int, stop func(byte) bool) int {
	s := ix.s
	for {
		i = ix.nextDigit(i)
		if i >= len(s) || i == 0 || !stop(s[i-1]) {
			return i
		}
		i = ix.digitsEnd(i)
	}
}

// nextNumberStartAny returns the first digit at or after i that does not
// follow a digit, or len(s).
func (ix *textIndex) nextNumberStartAny(i int) int {
	i = ix.nextDigit(i)
	if i < len(ix.s) && i > 0 && isDigit(ix.s[i-1]) {
		i = ix.nextDigit(ix.digitsEnd(i))
	}
	return i
}

// nextWord is nextWord(s, i) read from the index.
func (ix *textIndex) nextWord(i int) (a, b int) {
	s := ix.s
	if i < len(s) && !utf8.RuneStart(s[i]) {
		return nextWord(s, i)
	}
	a = nextSet(ix.word, i, len(s))
	if a >= len(s) {
		return -1, -1
	}
	return a, nextClear(ix.word, a, len(s))
}

// wordStarts returns the bits of block k of the first bytes of words.
func (ix *textIndex) wordStarts(k int) uint64 {
	w := ix.word[k]
	if k == 0 {
		return w &^ (w << 1)
	}
	return w &^ (w<<1 | ix.word[k-1]>>63)
}

// wordsHolding returns the bits of block k of the words that hold a bit
// of x (a subset of the word bytes of the block): all their bits up to the
// last bit of x, so the first one among them. A word that goes on into the
// next block counts as holding one.
func (ix *textIndex) wordsHolding(k int, x uint64) uint64 {
	w := ix.word[k]
	if k+1 < len(ix.word) && w>>63 != 0 && ix.word[k+1]&1 != 0 {
		x |= 1 << 63
	}
	// Spread the bits of x down their words, doubling the distance each
	// step: before the step of sh, m has the bits q with q to q+sh-1 all
	// in words, so that a bit of x at q+sh spreads only within its word.
	m := w
	for sh := uint(1); sh < 64; sh <<= 1 {
		x |= x >> sh & m
		m &= m >> sh
	}
	return x
}

// shifted returns block k of bm shifted m bits (0 < m < 64) up: bit p
// tells bit p-m.
func shifted(bm []uint64, k int, m uint) uint64 {
	if k == 0 {
		return bm[0] << m
	}
	return bm[k]<<m | bm[k-1]>>(64-m)
}

// Kinds of candidate positions a cursor finds.
const (
	capitalWords  = iota // words that start with a capital
	streetWords          // words that may take part in a street address
	notPlainUsers        // digits, "_", ".", "-" and non-ASCII bytes
	pairWords            // words of two bytes ("at", "on")
	joiners              // "_", "." and "-" before a word byte ("x.com")
	allWords             // every word
	// placeWords are the words that do not start with an ASCII lower-case
	// letter, those that do but hold an ASCII digit or a non-ASCII rune,
	// and, for the kind placeWords+n (n up to maxShortWord), the words of
	// at most n bytes.
	placeWords
)

// maxShortWord is the longest n of a cursor of kind placeWords+n.
const maxShortWord = 4

// candidates returns the bits of block k of the positions of a kind.
func (ix *textIndex) candidates(kind, k int) uint64 {
	switch kind {
	case capitalWords:
		return ix.wordStarts(k) & ix.capital[k]
	case streetWords:
		// A word that starts with a digit or a capital, or follows a
		// house number as afterHouseNumber checks: two, three, six or
		// nine bytes after a digit ("12 rue", "12b rue", "12 bis rue",
		// "12 quater rue").
		d := ix.digit[k] | ix.capital[k] | shifted(ix.digit, k, 2) | shifted(ix.digit, k, 3) |
			shifted(ix.digit, k, 6) | shifted(ix.digit, k, 9)
		return ix.wordStarts(k) & d
	case notPlainUsers:
		return ix.digit[k] | ix.high[k] | ix.user[k]&^ix.word[k]
	case joiners:
		var next uint64
		if k+1 < len(ix.word) {
			next = ix.word[k+1]
		}
		return ix.user[k] &^ ix.word[k] & (ix.word[k]>>1 | next<<63)
	case allWords:
		return ix.wordStarts(k)
	case pairWords:
		var next uint64
		if k+1 < len(ix.word) {
			next = ix.word[k+1]
		}
		w := ix.word[k]
		return ix.wordStarts(k) & (w>>1 | next<<63) &^ (w>>2 | next<<62)
	default: // placeWords+n
		// A word starts with a capital, a non-ASCII byte, a digit or an
		// ASCII lower-case letter; of the last, keep those that hold a
		// digit or a non-ASCII byte, and the short ones.
		m := ix.capital[k] | ix.high[k] | ix.wordsHolding(k, ix.digit[k]|ix.high[k]&ix.word[k])
		if n := uint(kind - placeWords); n > 0 {
			var next uint64
			if k+1 < len(ix.word) {
				next = ix.word[k+1]
			}
			long := ^uint64(0) // word bytes at 1 to n bytes on
			for j := uint(1); j <= n; j++ {
				long &= ix.word[k]>>j | next<<(64-j)
			}
			m |= ^long
		}
		return ix.wordStarts(k) & m
	}
}

// cursor finds the candidates of one kind in an indexed text, computing
// the bits of each block once however many it finds there.
type cursor struct {
	ix   *textIndex
	kind int
	k    int    // the block of bits, or -1
	bits uint64 // ix.candidates(kind, k)
}

func (ix *textIndex) cursor(kind int) cursor { return cursor{ix: ix, kind: kind, k: -1} }

// next returns the first candidate at or after i, or len(s).
func (c *cursor) next(i int) int {
	n := len(c.ix.s)
	if i >= n {
		return n
	}
	if k := i >> 6; k != c.k {
		c.k, c.bits = k, c.ix.candidates(c.kind, k)
	}
	m := c.bits &^ (1<<(uint(i)&63) - 1)
	for m == 0 {
		if c.k++; c.k<<6 >= n {
			return n
		}
		c.bits = c.ix.candidates(c.kind, c.k)
		m = c.bits
	}
	return c.k<<6 + bits.TrailingZeros64(m)
}

// nextAtWord returns the first word "at", in any case, at or after i, or
// len(s).
func (ix *textIndex) nextAtWord(i int) int {
	s := ix.s
	for k := i >> 6; k<<6 < len(s); k++ {
		pairs := ix.candidates(pairWords, k)
		if k == i>>6 {
			pairs &^= 1<<(uint(i)&63) - 1
		}
		for ; pairs != 0; pairs &= pairs - 1 {
			if p := k<<6 + bits.TrailingZeros64(pairs); s[p]|0x20 == 'a' && s[p+1]|0x20 == 't' {
				return p
			}
		}
	}
	return len(s)
}

// inWord reports whether i is inside a word, after its first byte.
func (ix *textIndex) inWord(i int) bool {
	return i > 0 && i < len(ix.s) && isSet(ix.word, i-1) && isSet(ix.word, i)
}

// nextWord returns the first candidate word at or after i, or -1.
func (c *cursor) nextWord(i int) (a, b int) {
	n := len(c.ix.s)
	if a = c.next(i); a >= n {
		return -1, -1
	}
	return a, nextClear(c.ix.word, a, n)
}

// nextUsernameRun returns the first run of username runes at or after i
// that holds a candidate of kind notPlainUsers, or -1; i must not be
// inside a run.
func (c *cursor) nextUsernameRun(i int) (a, b int) {
	n := len(c.ix.s)
	p := c.next(i)
	for p < n && !isSet(c.ix.user, p) {
		// A non-ASCII rune that is not a word rune: go on after it.
		p = c.next(p + 1)
	}
	if p >= n {
		return -1, -1
	}
	return prevClear(c.ix.user, p), nextClear(c.ix.user, p, n)
}

// prevClear returns the position after the last clear bit before i, or 0.
func prevClear(bm []uint64, i int) int {
	k := i >> 6
	// The bits below i in block k, with those from i up set.
	if w := ^(bm[k] | ^uint64(0)<<(uint(i)&63)); w != 0 {
		return k<<6 + 64 - bits.LeadingZeros64(w)
	}
	for k--; k >= 0; k-- {
		if w := ^bm[k]; w != 0 {
			return k<<6 + 64 - bits.LeadingZeros64(w)
		}
	}
	return 0
}

// nextUsernameRun returns the first maximal run of username runes at or
// after i, or -1; i must not be inside a run.
func (ix *textIndex) nextUsernameRun(i int) (a, b int) {
	s := ix.s
	a = nextSet(ix.user, i, len(s))
	if a >= len(s) {
		return -1, -1
	}
	return a, nextClear(ix.user, a, len(s))
}

// byteFinder finds the occurrences of a byte from increasing positions,
// reading each byte of the text at most once.
type byteFinder struct {
	s        string
	c        byte
	from, at int // s[from:at] holds no c; at is len(s) or a c
}

func newByteFinder(s string, c byte) byteFinder { return byteFinder{s: s, c: c, from: 1, at: 0} }

// next returns the first c at or after i, or len(s).
func (f *byteFinder) next(i int) int {
	if i < f.from || i > f.at {
		f.from, f.at = i, len(f.s)
		if i < len(f.s) {
			if k := strings.IndexByte(f.s[i:], f.c); k >= 0 {
				f.at = i + k
			}
		}
	}
	return f.at
}

// stringFinder is byteFinder for a string.
type stringFinder struct {
	s, sub   string
	from, at int
}

func newStringFinder(s, sub string) stringFinder {
	return stringFinder{s: s, sub: sub, from: 1, at: 0}
}

func (f *stringFinder) next(i int) int {
	if i < f.from || i > f.at {
		f.from, f.at = i, len(f.s)
		if i < len(f.s) {
			if k := strings.Index(f.s[i:], f.sub); k >= 0 {
				f.at = i + k
			}
		}
	}
	return f.at
}
