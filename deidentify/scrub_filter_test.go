package deidentify

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randomCase returns s with each ASCII letter in a random case.
func randomCase(rng *rand.Rand, s string) string {
	b := []byte(s)
	for i, c := range b {
		if isAlpha(c) && rng.IntN(2) == 0 {
			b[i] = c ^ 0x20
		}
	}
	return string(b)
}

// TestASCIIWordFilter checks that the filter passes every key in any
// case, wherever it stands in a text (a text's last eight bytes are read
// one by one), and keeps most other words out.
func TestASCIIWordFilter(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 5))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_.-"
	randomWord := func() string {
		b := make([]byte, 1+rng.IntN(20))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for _, n := range []int{1, 100, 1000, 5000} {
		keys := map[string]bool{}
		for len(keys) < n {
			keys[randomWord()] = true
		}
		f := newASCIIWordFilter(len(keys))
		for k := range keys {
			f.add(k)
		}
		for k := range keys {
			w := randomCase(rng, k)
			pre, post := strings.Repeat(" ", rng.IntN(3)), strings.Repeat("x", rng.IntN(10))
			s := pre + w + post
			if !f.mayContainAt(s, len(pre), len(pre)+len(w)) || !f.mayContainAt(w, 0, len(w)) {
				t.Fatalf("%d keys: %q not found in %q", n, k, s)
			}
		}
		passed, tried := 0, 0
		for range 10000 {
			w := randomWord()
			if keys[strings.ToLower(w)] {
				continue
			}
			tried++
			if f.mayContainAt(w, 0, len(w)) {
				passed++
			}
		}
		if passed*10 > tried {
			t.Errorf("%d keys: %d of %d other words pass", n, passed, tried)
		}
	}
}

// TestRosterCandidates checks that rosterIndex.nextCandidate skips no
// word that findNames needs: any non-ASCII word and any whose folded form
// is a name word, in any case, at block boundaries.
func TestRosterCandidates(t *testing.T) {
	t.Parallel()
	roster := []Person{
		{Name: "María López"}, {Name: "Li Wei"}, {Name: "Olivia Hunt-Smith"}, {Name: "Zoë O'Brien"},
		{Name: "Jean-Luc Picard"}, {Name: "Anand Venkataraman Subramanian"}, {Name: "田中 陽子"}, {Name: "Ægir Þórsson"},
	}
	ri := buildRosterIndex(roster, func(tok string) string { return tok })
	pieces := []string{
		"maria", "María", "MARIA", "lopez", "López", "li", "Li", "wei", "WEI", "olivia", "Hunt", "smith",
		"zoe", "Zoë", "o'brien", "jean", "luc", "picard", "venkataraman", "subramanian", "Subramanian's",
		"田中陽子", "aegir", "Ægir", "thorsson", "the", "will", "and", "a", "x", "of", "12", "—", "é",
		"maria2", "mariax", "venkataramanx",
	}
	rng := rand.New(rand.NewPCG(6, 6))
	for range 3000 {
		var sb strings.Builder
		for range 1 + rng.IntN(60) {
			sb.WriteString(randomCase(rng, pieces[rng.IntN(len(pieces))]))
			sb.WriteString([]string{" ", " ", ", ", "\n", "  ", ".", "-", "_"}[rng.IntN(8)])
		}
		s := sb.String()
		ix := newTextIndex(s)
		var got []int
		for i := 0; ; {
			a, b := ri.nextCandidate(ix, i)
			if a < 0 {
				break
			}
			if wa, wb := nextWord(s, a); wa != a || wb != b {
				t.Fatalf("%q: candidate %q at %d is not a word", s, s[a:b], a)
			}
			got = append(got, a)
			i = b
		}
		for i := 0; ; {
			a, b := nextWord(s, i)
			if a < 0 {
				break
			}
			i = b
			if !isASCII(s[a:b]) || ri.words[string(appendFolded(nil, s[a:b]))] != (nameWord{}) {
				if !slices.Contains(got, a) {
					t.Fatalf("%q: word %q at %d skipped", s, s[a:b], a)
				}
			}
		}
	}
}

// TestCapWordEnd checks textIndex.capWordEnd against capWordAt for every
// candidate of a capitalWords cursor.
func TestCapWordEnd(t *testing.T) {
	t.Parallel()
	pieces := []string{
		"Ana", "O'Brien", "Jean-Luc", "Ana's", "ANA'S", "A-", "B'", "Zoë", "Élodie", "Łukasz", "İpek", "ǅemal",
		"x", "the", "I", "'", "-", "—", "’", "12", "A1", "\xff", "É\u0301", "Ab'c-d", "Q-'", "Ab'S",
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 3000 {
		var sb strings.Builder
		for range 1 + rng.IntN(30) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
			if rng.IntN(3) > 0 {
				sb.WriteString([]string{" ", "\n", ", ", "."}[rng.IntN(4)])
			}
		}
		s := sb.String()
		ix := newTextIndex(s)
		words := ix.cursor(capitalWords)
		for i := 0; ; {
			a, wordEnd := words.nextWord(i)
			if a < 0 {
				break
			}
			gotEnd, gotOK := ix.capWordEnd(a, wordEnd)
			wantEnd, wantOK := capWordAt(s, a)
			if gotOK != wantOK || gotOK && gotEnd != wantEnd {
				t.Fatalf("%q at %d: capWordEnd = %d, %v, capWordAt = %d, %v", s, a, gotEnd, gotOK, wantEnd, wantOK)
			}
			i = wordEnd
		}
	}
}
