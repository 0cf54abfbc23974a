package deidentify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// traitsByBytes computes the traits byte by byte, as the scan the index
// replaced did: the reference for textIndex.traits.
func traitsByBytes(s string) textTraits {
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

// numberStartByBytes is textIndex.nextNumberStart byte by byte.
func numberStartByBytes(s string, i int, stop func(byte) bool) int {
	for i < len(s) {
		if !isDigit(s[i]) {
			i++
			continue
		}
		if i > 0 && stop(s[i-1]) {
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			continue
		}
		return i
	}
	return len(s)
}

// checkIndex compares every query of the index of s with its definition
// on the bytes of s.
func checkIndex(t *testing.T, s string) {
	t.Helper()
	ix := newTextIndex(s)
	if got, want := ix.traits, traitsByBytes(s); got != want {
		t.Fatalf("%q: traits %+v, want %+v", s, got, want)
	}
	for i := 0; i <= len(s); i++ {
		if a, b := ix.nextWord(i); a != -1 || b != -1 {
			if wa, wb := nextWord(s, i); a != wa || b != wb {
				t.Fatalf("%q: nextWord(%d) = %d, %d, want %d, %d", s, i, a, b, wa, wb)
			}
		} else if wa, _ := nextWord(s, i); wa != -1 {
			t.Fatalf("%q: nextWord(%d) found none, want %d", s, i, wa)
		}
		d := i
		for d < len(s) && !isDigit(s[d]) {
			d++
		}
		if got := ix.nextDigit(i); got != d {
			t.Fatalf("%q: nextDigit(%d) = %d, want %d", s, i, got, d)
		}
		start := i // the first digit that follows none
		for start < len(s) && !(isDigit(s[start]) && (start == 0 || !isDigit(s[start-1]))) {
			start++
		}
		if got := ix.nextNumberStartAny(i); got != start {
			t.Fatalf("%q: nextNumberStartAny(%d) = %d, want %d", s, i, got, start)
		}
		for _, stop := range []func(byte) bool{numLeftStop, idLeftStop} {
			if got, want := ix.nextNumberStart(i, stop), numberStartByBytes(s, i, stop); got != want {
				t.Fatalf("%q: nextNumberStart(%d) = %d, want %d", s, i, got, want)
			}
		}
		if i < len(s) {
			if got, want := ix.isASCII(i, len(s)), isASCII(s[i:]); got != want {
				t.Fatalf("%q: isASCII(%d, end) = %v, want %v", s, i, got, want)
			}
			if got, want := isSet(ix.digit, i), isDigit(s[i]); got != want {
				t.Fatalf("%q: digit bit %d = %v, want %v", s, i, got, want)
			}
		}
	}
	checkWordCursors(t, ix)
	// The username runs: maximal runs of word runes, "_", "." and "-".
	var want []span
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != '_' && r != '.' && r != '-' && !isWordRune(r) {
			i += n
			continue
		}
		a := i
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != '_' && r != '.' && r != '-' && !isWordRune(r) {
				break
			}
			i += n
		}
		want = append(want, span{a, i})
	}
	var got []span
	for i := 0; ; {
		a, b := ix.nextUsernameRun(i)
		if a < 0 {
			break
		}
		got = append(got, span{a, b})
		i = b
	}
	if len(got) != len(want) {
		t.Fatalf("%q: username runs %v, want %v", s, got, want)
	}
	for k := range got {
		if got[k] != want[k] {
			t.Fatalf("%q: username runs %v, want %v", s, got, want)
		}
	}
}

// checkWordCursors checks the cursors of every word and of the candidate
// first words of a place: these must include every word that does not
// start with an ASCII lower-case letter, or holds a digit or a non-ASCII
// byte, or is short enough for the kind, and only words.
func checkWordCursors(t *testing.T, ix *textIndex) {
	t.Helper()
	s := ix.s
	var words []span
	for i := 0; ; {
		a, b := nextWord(s, i)
		if a < 0 {
			break
		}
		words = append(words, span{a, b})
		i = b
	}
	positions := func(kind int) map[int]bool {
		c := ix.cursor(kind)
		got := map[int]bool{}
		for i := c.next(0); i < len(s); i = c.next(i + 1) {
			got[i] = true
		}
		return got
	}
	all := positions(allWords)
	if len(all) != len(words) {
		t.Fatalf("%q: cursor of all words found %d, want %d", s, len(all), len(words))
	}
	for n := 0; n <= maxShortWord; n++ {
		got := positions(placeWords + n)
		for p := range got {
			if !all[p] {
				t.Fatalf("%q: place cursor %d found %d, not a word start", s, n, p)
			}
		}
		for _, w := range words {
			word := s[w.start:w.end]
			want := !(word[0] >= 'a' && word[0] <= 'z') || strings.ContainsAny(word, "0123456789") ||
				!isASCII(word) || n > 0 && len(word) <= n
			if want && !got[w.start] {
				t.Fatalf("%q: place cursor %d missed the word %q at %d", s, n, word, w.start)
			}
		}
	}
}

var indexSeeds = []string{
	"", "a", "1", "é", "\xff", "AB 12 34 56 C", "DE89 3704", "x1.2  3 (555) 123-4567",
	"María López-García's mlopez_10 said 12:30 — ok", "田中陽子さん and प्रिया शर्मा",
	"a\u0301b Zoë\xc3 \xe2\x80 end", "ana@example.com [at] x", "1-2-3 ab_cd.ef-gh",
	strings.Repeat("word ", 20) + strings.Repeat("7", 70) + strings.Repeat("é", 40) + "AB 1",
	strings.Repeat("ab ", 21) + "abcdefgh1 " + strings.Repeat("x", 60) + "9 zz y" + strings.Repeat("q", 70) + "é",
}

func TestTextIndex(t *testing.T) {
	t.Parallel()
	for _, s := range indexSeeds {
		checkIndex(t, s)
	}
}

func FuzzTextIndex(f *testing.F) {
	for _, s := range indexSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkIndex(t, s)
	})
}
