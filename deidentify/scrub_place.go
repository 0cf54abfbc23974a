package deidentify

import (
	"strings"
	"unicode"
)

// placeIndex finds the roster's own places, each person's city and postal
// code, as whole word sequences: a learner who writes "I live in Cork,
// T12 Q2YL" must not leave it in the export.
type placeIndex struct {
	// first maps the folded first word of a place to the places that
	// start with it.
	first map[string][]place
}

type place struct {
	words []string // folded
	typ   string
}

func buildPlaceIndex(roster []Person) placeIndex {
	pi := placeIndex{first: map[string][]place{}}
	seen := map[string]bool{}
	add := func(text, typ string) {
		var words []string
		for i := 0; ; {
			a, b := nextWord(text, i)
			if a < 0 {
				break
			}
			words = append(words, string(appendFolded(nil, text[a:b])))
			i = b
		}
		if len(words) == 0 || len(words) > maxNameWords {
			return
		}
		// A one-word postal code of two characters ("75") would match
		// numbers everywhere; it still leaves with its city scrubbed.
		if len(words) == 1 && len(words[0]) < 3 {
			return
		}
		key := typ + "\x00" + strings.Join(words, " ")
		if seen[key] {
			return
		}
		seen[key] = true
		pi.first[words[0]] = append(pi.first[words[0]], place{words: words, typ: typ})
	}
	for _, p := range roster {
		for _, c := range p.Cities {
			add(c, FindingLocation)
		}
		for _, c := range p.PostalCodes {
			add(c, FindingPostalCode)
		}
	}
	return pi
}

func (pi *placeIndex) empty() bool { return len(pi.first) == 0 }

// maxPlaceGap is the most separator bytes allowed between the words of a
// place ("T12 Q2YL", "96-994", "Ciudad de México").
const maxPlaceGap = 3

func (pi *placeIndex) find(s string, dst []match) []match {
	var scratch []byte
	for i := 0; ; {
		a, b := nextWord(s, i)
		if a < 0 {
			return dst
		}
		i = b
		scratch = appendFolded(scratch[:0], s[a:b])
		cands := pi.first[string(scratch)]
		if len(cands) == 0 {
			continue
		}
		best, typ := -1, ""
		for _, c := range cands {
			if end, ok := matchWords(s, b, c.words[1:], &scratch); ok && end > best {
				// A city must look like a name where it is written: "nice"
				// and "reading" are words, "Nice" and "Reading" places.
				if r, _ := runeAt(s, a); c.typ == FindingLocation && unicode.IsLower(r) {
					continue
				}
				best, typ = end, c.typ
			}
		}
		if best >= 0 {
			dst = append(dst, match{start: a, end: best, typ: typ, token: genericTokens[typ], rank: rankPlace})
			i = best
		}
	}
}

// matchWords reports whether the folded words follow s[i:], each after a
// short separator, and where the last one ends.
func matchWords(s string, i int, words []string, scratch *[]byte) (int, bool) {
	for _, w := range words {
		a, b := nextWord(s, i)
		if a < 0 || a-i > maxPlaceGap || strings.ContainsAny(s[i:a], ".;\n") {
			return 0, false
		}
		*scratch = appendFolded((*scratch)[:0], s[a:b])
		if string(*scratch) != w {
			return 0, false
		}
		i = b
	}
	return i, true
}

// Street keywords, folded. A suffix keyword ends an English address
// ("12 Baker Street"); a prefix keyword starts a Romance or Slavic one
// ("Calle Mayor 12", "103 Rue de la Paix"); a compound ending closes a
// Germanic or Nordic street name ("Hauptstraße 47", "Storgata 5").
var (
	streetSuffixes = wordSet("street st road rd avenue ave lane ln drive dr boulevard blvd way court ct place pl terrace close crescent square sq highway hwy parkway")
	streetPrefixes = wordSet("calle rue rua via ulica ul avenida av avenue boulevard plaza praca piazza carrer strada chemin allee rambla paseo")
	streetCompound = []string{"strasse", "straße", "str", "gasse", "weg", "platz", "allee", "gata", "gatan", "gate", "vej", "veien", "vagen", "straat", "laan", "utca", "ring", "damm"}
	nameParticles  = wordSet("de la del do da di des du dos das von van der den le el al y of the")
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// wordSpan is a word's byte range.
type wordSpan struct{ a, b int }

// maxStreetWords bounds the name words between a house number and its
// street keyword.
const maxStreetWords = 4

// findStreetAddresses finds street addresses: a house number and a street
// name with a street keyword, plus a following ", postcode City".
func findStreetAddresses(s string, dst []match) []match {
	var recent [maxStreetWords + 2]wordSpan // ring of the last words
	n := 0
	var scratch []byte
	for i := 0; ; {
		a, b := nextWord(s, i)
		if a < 0 {
			return dst
		}
		i = b
		recent[n%len(recent)] = wordSpan{a, b}
		n++
		if r, _ := runeAt(s, a); !unicode.IsUpper(r) {
			continue
		}
		scratch = appendFolded(scratch[:0], s[a:b])
		w := string(scratch)
		start, end := -1, -1
		switch {
		case streetSuffixes[w] || isCompoundStreet(w):
			// number, name words, keyword; or compound then number.
			minNames := 1 // "12 Baker Street"
			if isCompoundStreet(w) {
				minNames = 0 // "47 Hauptstraße"
			}
			if k := houseNumberBefore(s, &recent, n, minNames); k >= 0 {
				start, end = k, b
			} else if isCompoundStreet(w) {
				if na, nb := nextWord(s, b); na >= 0 && na-b <= 2 && !strings.ContainsAny(s[b:na], ".,;\n") && isHouseNumber(s, na, nb) {
					start, end = a, nb
				}
			}
		case streetPrefixes[w]:
			// keyword, name words, then a number before or after.
			e := b
			named := 0
			for j := e; named < maxStreetWords; {
				na, nb := nextWord(s, j)
				if na < 0 || na-j > 2 || strings.ContainsAny(s[j:na], ".,;\n") {
					break
				}
				r, _ := runeAt(s, na)
				scratch = appendFolded(scratch[:0], s[na:nb])
				if !unicode.IsUpper(r) && !nameParticles[string(scratch)] {
					break
				}
				e, j = nb, nb
				if unicode.IsUpper(r) {
					named++
				}
			}
			if named == 0 {
				continue
			}
			if na, nb := nextWord(s, e); na >= 0 && na-e <= 2 && !strings.ContainsAny(s[e:na], ".,;\n") && isHouseNumber(s, na, nb) {
				start, end = a, nb
			} else if k := houseNumberBefore(s, &recent, n, 0); k >= 0 {
				start, end = k, e
			}
			if start >= 0 {
				i = end
			}
		}
		if start < 0 {
			continue
		}
		end = extendWithPostcode(s, end)
		dst = append(dst, match{start: start, end: end, typ: FindingStreetAddress, token: genericTokens[FindingStreetAddress], rank: rankAddress})
		i = max(i, end)
	}
}

func isCompoundStreet(w string) bool {
	for _, suf := range streetCompound {
		if strings.HasSuffix(w, suf) && len(w) > len(suf)+2 {
			return true
		}
	}
	return false
}

// houseNumberBefore looks back from the word before the current one (the
// keyword is recent[n-1]) over capitalised name words for a house number
// and returns where it starts, or -1. minNames is how many name words must
// separate number and keyword.
func houseNumberBefore(s string, recent *[maxStreetWords + 2]wordSpan, n, minNames int) int {
	names := 0
	for back := 2; back <= len(recent) && n-back >= 0; back++ {
		w := recent[(n-back)%len(recent)]
		next := recent[(n-back+1)%len(recent)]
		if next.a-w.b > 2 || strings.ContainsAny(s[w.b:next.a], ".,;\n") {
			return -1
		}
		if isHouseNumber(s, w.a, w.b) {
			if names >= minNames {
				return w.a
			}
			return -1
		}
		if r, _ := runeAt(s, w.a); !unicode.IsUpper(r) {
			return -1
		}
		names++
		if names > maxStreetWords {
			return -1
		}
	}
	return -1
}

// isHouseNumber: 1 to 5 digits, optionally one letter ("221B"), not part
// of a time, decimal or date.
func isHouseNumber(s string, a, b int) bool {
	digits := 0
	for a+digits < b && isDigit(s[a+digits]) {
		digits++
	}
	if digits == 0 || digits > 5 || b-a > digits+1 {
		return false
	}
	if b-a == digits+1 && !isAlpha(s[b-1]) {
		return false
	}
	if b+1 < len(s) && (s[b] == ':' || s[b] == '.' || s[b] == '/') && isDigit(s[b+1]) {
		return false
	}
	if a > 1 && (s[a-1] == ':' || s[a-1] == '.' || s[a-1] == '/' || s[a-1] == '-') && isDigit(s[a-2]) {
		return false
	}
	return true
}

// extendWithPostcode extends an address through a following ", T12 Q2YL
// Cork" or ", 75002 Paris": a comma, then words up to the end of the
// clause of which at least one holds a digit.
func extendWithPostcode(s string, end int) int {
	j := end
	for j < len(s) && s[j] == ' ' {
		j++
	}
	if j >= len(s) || s[j] != ',' {
		return end
	}
	last, digit := end, false
	for k, words := j+1, 0; words < 5; words++ {
		a, b := nextWord(s, k)
		if a < 0 || a-k > 3 || strings.ContainsAny(s[k:a], ".,;\n!?") {
			break
		}
		r, _ := runeAt(s, a)
		hasDigit := strings.IndexFunc(s[a:b], unicode.IsDigit) >= 0
		if !hasDigit && !unicode.IsUpper(r) {
			break
		}
		digit = digit || hasDigit
		last, k = b, b
	}
	if !digit {
		return end
	}
	return last
}
