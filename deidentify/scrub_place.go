package deidentify

import (
	"slices"
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
	// firstShapes has a bit set for the shape (see wordShape) of every
	// key of first: most words of a text fail this test, which is much
	// cheaper than the map lookup.
	firstShapes [1 << 16 / 64]uint64
	// asciiFirst holds the ASCII keys of first: an ASCII word (as most
	// candidates are: "The", "how") is tested in place, which is cheaper
	// than folding it and looking it up.
	asciiFirst asciiWordFilter
	// words is the kind of cursor that finds the candidate first words.
	// A city is never written in lower case, so a word that starts with
	// an ASCII lower-case letter can only start a postal code. Those
	// mostly hold a digit ("sw1a 1aa"), or are short ("CA 94105"), so
	// most words of prose, in lower case and ASCII (folded, they keep
	// their letters and length), are no candidates, which the cursor
	// skips without looking at them.
	words int
}

// wordShape sums up a folded word by its length and its first and last
// bytes.
func wordShape(w []byte) uint32 { return shapeOf(len(w), w[0], w[len(w)-1]) }

// shapeOf is the shape of a folded word of n bytes from first to last.
func shapeOf(n int, first, last byte) uint32 {
	return uint32(n&15)<<12 | uint32(first&63)<<6 | uint32(last&63)
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
		if len(words[0]) > 0 {
			sh := wordShape([]byte(words[0]))
			pi.firstShapes[sh/64] |= 1 << (sh % 64)
		}
	}
	for _, p := range roster {
		for _, c := range p.Cities {
			add(c, FindingLocation)
		}
		for _, c := range p.PostalCodes {
			add(c, FindingPostalCode)
		}
	}
	pi.asciiFirst = newASCIIWordFilter(len(pi.first))
	short := 0 // the longest first word of a postal code that starts with a lower-case letter and holds no digit
	for w, places := range pi.first {
		if w != "" && isASCII(w) {
			pi.asciiFirst.add(w)
		}
		if w != "" && w[0] >= 'a' && w[0] <= 'z' && strings.IndexFunc(w, isASCIIDigit) < 0 &&
			slices.ContainsFunc(places, func(p place) bool { return p.typ != FindingLocation }) {
			short = max(short, len(w))
		}
	}
	pi.words = placeWords + short
	if short > maxShortWord {
		pi.words = allWords
	}
	return pi
}

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

func (pi *placeIndex) empty() bool { return len(pi.first) == 0 }

// maxPlaceGap is the most separator bytes allowed between the words of a
// place ("T12 Q2YL", "96-994", "Ciudad de México").
const maxPlaceGap = 3

func (pi *placeIndex) find(ix *textIndex, dst []match) []match {
	s := ix.s
	scratch := ix.scratch(64)
	words := ix.cursor(pi.words)
	for i := 0; ; {
		var a, b int
		if ix.inWord(i) {
			a, b = ix.nextWord(i) // the rest of the word, as nextWord has it
		} else if a, b = pi.nextCandidate(&words, i); a < 0 {
			return dst
		}
		i = b
		scratch = appendFolded(scratch[:0], s[a:b])
		if len(scratch) > 0 {
			if sh := wordShape(scratch); pi.firstShapes[sh/64]&(1<<(sh%64)) == 0 {
				continue
			}
		}
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

// nextCandidate returns the first word at or after i (not inside a word)
// that may start a place: a word of the cursor with a non-ASCII rune, or
// an ASCII one that passes asciiFirst. The folded form of an ASCII word is
// the lower-case one, which the filter tests without folding the word.
func (pi *placeIndex) nextCandidate(words *cursor, i int) (a, b int) {
	ix := words.ix
	s := ix.s
	for {
		if a, b = words.nextWord(i); a < 0 {
			return -1, -1
		}
		if !ix.isASCII(a, b) {
			return a, b
		}
		if pi.asciiFirst.mayContainAt(s, a, b) {
			return a, b
		}
		i = b
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
// Germanic, Dutch or Nordic street name ("Hauptstraße 47", "Storgata 5",
// "Keizersgracht 93"). French, Italian, Spanish and Portuguese write the
// keyword in lower case after the number ("22 avenue des Tilleuls"), so a
// lower-case keyword counts there only.
var (
	streetSuffixes = wordSet("street st road rd avenue ave lane ln drive dr boulevard blvd way court ct place pl terrace tce close crescent cres square sq highway hwy parkway pkwy mews grove gardens row walk circle cir alley marg")
	streetPrefixes = wordSet("calle rue rua via viale ulica ul avenida av avda avenue boulevard bd plaza praca piazza piazzale corso largo carrer strada chemin allee rambla paseo travessa alameda estrada rodovia camino carretera ronda impasse quai cours")
	lowerPrefixes  = wordSet("rue avenue boulevard bd allee chemin impasse place quai cours route via viale piazza piazzale corso largo calle avenida rua travessa strada carrer")
	// abbrevPrefixes may be written with a dot: "Av. Atlântica".
	abbrevPrefixes = wordSet("av avda ave ul bd")
	streetCompound = []string{"strasse", "straße", "str", "gasse", "weg", "platz", "allee", "gata", "gatan", "gate", "vej", "veien", "vagen", "straat", "laan", "utca", "damm", "gracht", "kade", "singel", "plein", "dijk", "steeg", "ufer", "chaussee", "gade"}
	nameParticles  = wordSet("de la del do da di des du dos das von van der den le el al y of the")
	// streetParticles may stand inside a street or place name.
	streetParticles = wordSet("de la del do da di des du dos das los las lo le el al y e et of the von van der den ten ter het dei della delle degli dello sur")
	// localityWords name an Indian or Nigerian locality after a flat or
	// plot number ("Flat 2, Sai Residency", "House No. 5, Gandhi Nagar").
	localityWords = wordSet("nagar colony residency apartments layout enclave vihar estate society towers heights")
	// unitWords start a flat, plot or house number before the street.
	unitWords = wordSet("flat apt apartment unit suite ste plot house door shop no apto")
	// directions may follow a street ("Jasper Avenue NW", "130 Pte.").
	directions    = wordSet("n s e w ne nw se sw north south east west o ouest est nord sud pte ote nte sur norte poniente oriente")
	dotDirections = wordSet("pte ote nte")
	// counterNouns number things in a course, not houses: "chapter 3
	// Place value", "Lecture 4, Avenue of approach".
	counterNouns = wordSet("chapter ch lecture section sec unit week module question q exercise ex problem task part page p lesson step level figure fig table slide video episode season assignment quiz test homework hw version v route grade class day item lab tutorial room exam track box top")
	// yearWords before a year-like number ("in 1990 Main Street was
	// rebuilt") make it a year.
	yearWords = wordSet("in since by until till from during circa before after around of")
	// placePrepositions may follow an address: "Hauptstraße 5 in Berlin".
	placePrepositions = wordSet("in im at near by i på en a à au und and or")
	// partStopWords do not start a district or city part after a comma.
	partStopWords = wordSet("i we you he she they it the a an my our your his her their thanks thank please cheers best regards hi hello see but and or so if also then just this that there here what when where which who how")
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// maxStreetWords bounds the name words between a house number and its
// street keyword; maxTailParts and maxPartWords bound the district, city,
// state and postcode parts that follow an address.
const (
	maxStreetWords = 4
	maxTailParts   = 5
	maxPartWords   = 5
)

// findStreetAddresses finds street addresses: a house number and a street
// name with a street keyword, in the order of the country, with any flat
// or plot number before them and the district, city, state and postcode
// after them. Flat and plot numbers with a locality and postcode ("Flat 2,
// Sai Residency, Mumbai 400020"), Dutch and German streets without a
// keyword but with a postcode ("Lange Voorhout 170, 1015 CJ Amsterdam")
// and Japanese block numbers ("1-2-3 Shibuya, Shibuya-ku") count too. It
// looks only at capitalised words, numbers and lower-case words right
// after a number.
func findStreetAddresses(ix *textIndex, dst []match) []match {
	s := ix.s
	scratch := ix.scratch(64)
	words := ix.cursor(streetWords)
	for i := 0; ; {
		var a, b int
		if ix.inWord(i) {
			// An address ended inside a word: what is left of it counts.
			a, b = ix.nextWord(i)
		} else if a, b = words.nextWord(i); a < 0 {
			return dst
		}
		i = b
		start, end := -1, -1
		if isDigit(s[a]) {
			start, end = keywordlessAddress(s, a, b)
		} else {
			r, _ := runeAt(s, a)
			upper := unicode.IsUpper(r)
			if !upper && (b-a > 10 || !afterHouseNumber(s, a)) {
				continue
			}
			if ix.isASCII(a, b) && !mayContain(streetKindPrefixes, s[a:b]) &&
				!(upper && (b-a == 1 || isCompoundStreetFold(s[a:b]))) {
				continue // no keyword, compound or block letter: streetAt finds nothing
			}
			scratch = appendFolded(scratch[:0], s[a:b])
			start, end = streetAt(s, a, b, scratch, upper)
		}
		if start < 0 {
			continue
		}
		dst = append(dst, match{start: start, end: end, typ: FindingStreetAddress, token: genericTokens[FindingStreetAddress], rank: rankAddress})
		i = max(i, end)
	}
}

// afterHouseNumber reports cheaply whether the word at a directly follows
// a house number ("12 rue", "12b rue", "94 bis rue").
func afterHouseNumber(s string, a int) bool {
	if a < 2 || s[a-1] != ' ' {
		return false
	}
	if isDigit(s[a-2]) || a >= 3 && isAlpha(s[a-2]) && isDigit(s[a-3]) {
		return true
	}
	if c := s[a-2]; c != 's' && c != 'r' {
		return false
	}
	for _, w := range [...]string{" bis ", " ter ", " quater "} {
		if p := a - len(w); p >= 1 && s[p:a] == w && isDigit(s[p-1]) {
			return true
		}
	}
	return false
}

// streetAt tries the address whose street keyword, flat word or block
// letter is the word s[a:b] (folded f).
func streetAt(s string, a, b int, f []byte, upper bool) (int, int) {
	var kind uint8
	if mayContain(streetKindPrefixes, f) {
		kind = streetKinds[string(f)]
	}
	compound := upper && isCompoundStreet(f)
	if kind == 0 && !compound && !(upper && b-a == 1) {
		return -1, -1
	}
	if upper && kind&kindSuffix != 0 || compound {
		minNames := 1 // "12 Baker Street"
		if compound {
			minNames = 0 // "47 Hauptstraße"
		}
		if k := houseNumberBefore(s, a, minNames); k >= 0 {
			return withTail(s, k, streetEnd(s, b))
		}
		if compound {
			// "Hauptstraße 47", "Witte de Withstraat 144"
			if na, nb := nextWord(s, b); na >= 0 && na-b <= 2 && !strings.ContainsAny(s[b:na], ".,;\n") && isHouseNumber(s, na, nb) && !countedAfter(s, nb) {
				return withTail(s, particleNameBefore(s, a), streetEnd(s, nb))
			}
		}
	}
	if upper && kind&kindPrefix != 0 || !upper && kind&kindLowerPrefix != 0 {
		if start, end := prefixStreet(s, a, b, f, upper); start >= 0 {
			return start, end
		}
	}
	if upper && kind&kindUnit != 0 || upper && b-a == 1 && b+1 < len(s) && s[b] == '-' && isDigit(s[b+1]) {
		return unitAddress(s, a, b, f)
	}
	return -1, -1
}

// countedAfter reports whether the number ending at p counts what follows
// it ("Aggregate 3 tables"): a lower-case word other than a preposition.
func countedAfter(s string, p int) bool {
	if p+1 >= len(s) || s[p] != ' ' || !isAlpha(s[p+1]) || isUpperASCII(s[p+1]) {
		return false
	}
	a, b := nextWord(s, p+1)
	return !placePrepositions[s[a:b]]
}

// prefixStreet reads a street that starts with its keyword: "Calle Mayor
// 12", "Rua Augusta, 179", "Av. Constitución 130 Pte.", or after a house
// number "12 rue de la Paix".
func prefixStreet(s string, a, b int, f []byte, upper bool) (int, int) {
	j := b
	if upper && j+1 < len(s) && s[j] == '.' && s[j+1] == ' ' && abbrevPrefixes[string(f)] {
		j++ // "Av. Atlântica"
	}
	e, named := b, 0
	var scratch [64]byte
	for named < maxStreetWords {
		na, nb := nextWord(s, j)
		if na < 0 || na-j > 2 || strings.ContainsAny(s[j:na], ".,;\n") {
			break
		}
		r, _ := runeAt(s, na)
		if unicode.IsUpper(r) {
			named++
		} else if !streetParticles[string(appendFolded(scratch[:0], s[na:nb]))] {
			break
		}
		j = nb
		if unicode.IsUpper(r) {
			e = nb
		}
	}
	if named == 0 {
		return -1, -1
	}
	if upper {
		if na, nb := nextWord(s, e); na >= 0 && isHouseNumber(s, na, nb) {
			gap := s[e:na]
			switch {
			case na-e <= 2 && !strings.ContainsAny(gap, ".,;\n"):
				return withTail(s, a, streetEnd(s, nb))
			case (gap == ", " || gap == ",") && numberEndsPart(s, nb):
				// "Rua Augusta, 179, apto 81", "Av. Atlântica, 143 - Copacabana"
				return withTail(s, a, streetEnd(s, nb))
			}
		}
	}
	if k := houseNumberBefore(s, a, 0); k >= 0 {
		return withTail(s, k, streetEnd(s, e))
	}
	return -1, -1
}

// numberEndsPart reports whether a house number ending at p closes its
// part of the address: a comma, a spaced dash or the end of the sentence.
func numberEndsPart(s string, p int) bool {
	if p >= len(s) {
		return true
	}
	switch s[p] {
	case ',', ';', ')', '\n', '!', '?':
		return true
	case '.':
		return p+1 >= len(s) || !isDigit(s[p+1])
	case ' ':
		return strings.HasPrefix(s[p:], " - ") || strings.HasPrefix(s[p:], " – ")
	}
	return false
}

// unitAddress reads an address that starts with a flat, plot or house
// number, or an Indian block number ("D-102"), then a comma and parts:
// "Flat 269, Sai Residency, Andheri West, Mumbai 400020", "Plot 108,
// Admiralty Way, Lekki Phase 1, Lagos". The parts must name a street or
// locality, or be two or more with a postcode.
func unitAddress(s string, a, b int, f []byte) (int, int) {
	numEnd := -1
	if b-a == 1 && s[b] == '-' {
		// "D-102"
		e, _ := numberRun(s, b+1)
		if e-b-1 > 4 || wordGoesOn(s, e) {
			return -1, -1
		}
		numEnd = e
	} else {
		j := b
		if string(f) == "no" {
			if j >= len(s) || s[j] != '.' {
				return -1, -1
			}
			j++
		} else if na, nb := nextWord(s, j); na == j+1 && s[j] == ' ' && (nb-na == 2 && hasPrefixFold(s, na, "no") || hasPrefixFold(s, na, "number")) {
			j = nb // "House No. 220"
			if j < len(s) && s[j] == '.' {
				j++
			}
		} else if string(f) == "house" || string(f) == "door" || string(f) == "shop" {
			return -1, -1
		}
		if j >= len(s) || s[j] != ' ' {
			return -1, -1
		}
		na, nb := nextWord(s, j)
		if na != j+1 || !isHouseNumber(s, na, nb) {
			return -1, -1
		}
		numEnd = nb
	}
	if numEnd >= len(s) || s[numEnd] != ',' {
		return -1, -1
	}
	t := addressTail(s, numEnd)
	if !t.keyword && !(t.postcode && t.parts >= 2) {
		return -1, -1
	}
	return a, t.end
}

// keywordlessAddress reads a street without a keyword from its house
// number at s[a:b]: capitalised name words before it and a postcode and
// city after it ("Lange Voorhout 170, 1015 CJ Amsterdam", "Unter den
// Linden 77, 10117 Berlin"), or a Japanese block number with a ward or
// postcode after it ("1-2-3 Shibuya, Shibuya-ku, Tokyo 150-0002").
func keywordlessAddress(s string, a, b int) (int, int) {
	if b < len(s) && s[b] == '-' {
		return japaneseAddress(s, a, b)
	}
	if b+2 >= len(s) || s[b] != ',' || s[b+1] != ' ' || !isDigit(s[b+2]) || !isHouseNumber(s, a, b) {
		return -1, -1
	}
	if !postcodeCityAt(s, b+2) {
		return -1, -1
	}
	start := -1
	k := a
	var scratch [64]byte
	for n := 0; n < 3; n++ {
		pa, pb := prevWord(s, k)
		if pa < 0 || s[pb:k] != " " {
			break
		}
		r, _ := runeAt(s, pa)
		w := appendFolded(scratch[:0], s[pa:pb])
		if unicode.IsUpper(r) {
			if n == 0 && counterNouns[string(w)] {
				return -1, -1
			}
			start = pa
		} else if !streetParticles[string(w)] || start < 0 {
			break
		}
		k = pa
	}
	if start < 0 {
		return -1, -1
	}
	return start, addressTail(s, b).end
}

// postcodeCityAt reports whether a postcode and a capitalised city start
// at i: "1015 CJ Amsterdam" (Dutch) or "10117 Berlin" (five digits).
func postcodeCityAt(s string, i int) bool {
	e, _ := numberRun(s, i)
	switch e - i {
	case 4:
		if e+3 > len(s) || s[e] != ' ' || !isUpperASCII(s[e+1]) || !isUpperASCII(s[e+2]) || wordGoesOn(s, e+3) {
			return false
		}
		e += 3
	case 5:
	default:
		return false
	}
	if e+1 >= len(s) || s[e] != ' ' {
		return false
	}
	r, _ := runeAt(s, e+1)
	return unicode.IsUpper(r)
}

func isUpperASCII(c byte) bool { return c >= 'A' && c <= 'Z' }

// japaneseAddress reads "1-2-3 Shibuya, Shibuya-ku, Tokyo 150-0002" from
// the block number at s[a:b]: chōme, block and house numbers of one to
// three digits, a capitalised district, and parts of which one is a ward,
// city or town ("-ku", "-shi", "-cho", "-machi") or a "123-4567" postcode.
func japaneseAddress(s string, a, b int) (int, int) {
	p := a
	for n := 0; ; n++ {
		e, _ := numberRun(s, p)
		if e == p || e-p > 3 {
			return -1, -1
		}
		p = e
		if p < len(s) && s[p] == '-' && n < 2 {
			p++
			continue
		}
		if n < 2 {
			return -1, -1
		}
		break
	}
	if p+1 >= len(s) || s[p] != ' ' {
		return -1, -1
	}
	if r, _ := runeAt(s, p+1); !unicode.IsUpper(r) {
		return -1, -1
	}
	_, nb := nextWord(s, p+1)
	t := addressTail(s, nb)
	if t.parts == 0 || !t.ward {
		return -1, -1
	}
	return a, t.end
}

// withTail extends a street s[start:end] back over a flat or house number
// and forward over its district, city, state and postcode.
func withTail(s string, start, end int) (int, int) {
	return unitLabelBefore(s, start), extendWithPostcode(s, end)
}

// unitLabelBefore extends the address starting at i back over "Flat 6, ",
// "Apt 4B ", "No. " or "House No. ", and returns its new start.
func unitLabelBefore(s string, i int) int {
	pa, pb := prevWord(s, i)
	if pa < 0 {
		return i
	}
	gap := s[pb:i]
	if gap == ". " && pb-pa == 2 && s[pa] == 'N' && s[pa+1] == 'o' {
		// "No. 50 Ring Road", "House No. 5 ..."
		start := pa
		if qa, qb := prevWord(s, pa); qa >= 0 && s[qb:pa] == " " && isUnitLabel(s, qa, qb) {
			start = qa
		}
		return start
	}
	if (gap == ", " || gap == " ") && isHouseNumber(s, pa, pb) {
		if qa, qb := prevWord(s, pa); qa >= 0 && s[qb:pa] == " " && isUnitLabel(s, qa, qb) {
			if string(s[qa:qb]) == "House" || s[qa:qb] == "Door" {
				return i
			}
			return qa
		}
	}
	return i
}

// isUnitLabel reports whether s[a:b] is a capitalised flat or unit word.
func isUnitLabel(s string, a, b int) bool {
	if b-a > 9 || !isUpperASCII(s[a]) {
		return false
	}
	var buf [16]byte
	return unitWords[string(appendFolded(buf[:0], s[a:b]))]
}

// particleNameBefore extends a compound street at a back over a name with
// a particle: "Witte de Withstraat".
func particleNameBefore(s string, a int) int {
	start := a
	k := a
	var scratch [32]byte
	sawParticle := false
	for n := 0; n < 3; n++ {
		pa, pb := prevWord(s, k)
		if pa < 0 || s[pb:k] != " " {
			break
		}
		r, _ := runeAt(s, pa)
		w := appendFolded(scratch[:0], s[pa:pb])
		if streetParticles[string(w)] && unicode.IsLower(r) {
			sawParticle = true
			k = pa
			continue
		}
		if sawParticle && unicode.IsUpper(r) {
			start = pa
		}
		break
	}
	return start
}

// Kinds of street keyword, looked up once per capitalised word.
const (
	kindSuffix uint8 = 1 << iota
	kindPrefix
	kindLowerPrefix
	kindUnit
)

var (
	streetKinds = func() map[string]uint8 {
		m := map[string]uint8{}
		for set, k := range map[*map[string]bool]uint8{&streetSuffixes: kindSuffix, &streetPrefixes: kindPrefix, &lowerPrefixes: kindLowerPrefix, &unitWords: kindUnit} {
			for w := range *set {
				m[w] |= k
			}
		}
		return m
	}()
	// streetKindPrefixes is a cheap first test for streetKinds.
	streetKindPrefixes = newPrefixFilter(streetKinds)
	// compoundByLast holds the compound endings by their last byte.
	compoundByLast = func() (t [256][]string) {
		for _, suf := range streetCompound {
			t[suf[len(suf)-1]] = append(t[suf[len(suf)-1]], suf)
		}
		return t
	}()
)

func isCompoundStreet(w []byte) bool {
	if len(w) < 4 {
		return false
	}
	for _, suf := range compoundByLast[w[len(w)-1]] {
		if len(w) > len(suf)+2 && string(w[len(w)-len(suf):]) == suf {
			return true
		}
	}
	return false
}

// isCompoundStreetFold is isCompoundStreet for an ASCII word in any case.
func isCompoundStreetFold(w string) bool {
	if len(w) < 4 {
		return false
	}
	for _, suf := range compoundByLast[lowerASCII(w[len(w)-1])] {
		if len(w) > len(suf)+2 && hasPrefixFold(w, len(w)-len(suf), suf) {
			return true
		}
	}
	return false
}

// prevWord returns the word that ends at most four separator bytes before
// i, or -1.
func prevWord(s string, i int) (int, int) {
	j := i
	for n := 0; j > 0 && n < 4; n++ {
		r, size := runeBefore(s, j)
		if isWordRune(r) {
			break
		}
		j -= size
	}
	b := j
	for j > 0 {
		r, size := runeBefore(s, j)
		if !isWordRune(r) {
			break
		}
		j -= size
	}
	if j == b {
		return -1, -1
	}
	return j, b
}

// houseNumberBefore looks back from the keyword at a over capitalised name
// words for a house number and returns where it starts, or -1. minNames
// is how many name words must separate number and keyword. An Indian
// address may put a comma after the number when the street is an ordinal
// ("209, 2nd Cross Road").
func houseNumberBefore(s string, a, minNames int) int {
	names := 0
	ordinal := false
	var scratch [64]byte
	for i := a; names <= maxStreetWords; {
		pa, pb := prevWord(s, i)
		if pa < 0 {
			return -1
		}
		gap := s[pb:i]
		if len(gap) > 2 || strings.ContainsAny(gap, ".,;\n") {
			if ordinal && (gap == ", " || gap == ",") && isHouseNumber(s, pa, pb) && houseNumberInContext(s, pa, pb) {
				return pa
			}
			return -1
		}
		if isHouseNumber(s, pa, pb) {
			if names < minNames || !houseNumberInContext(s, pa, pb) {
				return -1
			}
			return pa
		}
		r, _ := runeAt(s, pa)
		w := appendFolded(scratch[:0], s[pa:pb])
		switch {
		case isOrdinal(s[pa:pb]):
			ordinal = true
		case unicode.IsUpper(r):
			ordinal = false
		case (string(w) == "bis" || string(w) == "ter" || string(w) == "quater") && names == 0:
			// "94 bis rue des Lilas"
			i = pa
			continue
		default:
			return -1
		}
		names++
		i = pa
	}
	return -1
}

// isOrdinal reports whether w is "1st", "2nd", "23rd", "4th".
func isOrdinal(w string) bool {
	d := 0
	for d < len(w) && isDigit(w[d]) {
		d++
	}
	if d == 0 || d > 3 || len(w) != d+2 {
		return false
	}
	suf := strings.ToLower(w[d:])
	return suf == "st" || suf == "nd" || suf == "rd" || suf == "th"
}

// houseNumberInContext rejects a number that counts something in a course
// ("chapter 3 Place value") or is a year ("in 1990 Main Street was").
func houseNumberInContext(s string, a, b int) bool {
	pa, pb := prevWord(s, a)
	if pa < 0 || pb-pa > 12 || s[pb:a] != " " {
		return true
	}
	var buf [16]byte
	w := string(appendFolded(buf[:0], s[pa:pb]))
	if counterNouns[w] {
		return false
	}
	if _, v := numberRun(s, a); b-a == 4 && v >= 1800 && v <= 2100 && yearWords[w] {
		return false
	}
	return true
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

// streetEnd extends a street ending at e over a direction ("Jasper Avenue
// NW", "Queen Street West", "130 Pte.") and a unit ("#25", "Apt 4B").
func streetEnd(s string, e int) int {
	var scratch [16]byte
	if na, nb := nextWord(s, e); na == e+1 && s[e] == ' ' && nb-na <= 8 && isUpperASCII(s[na]) && !wordGoesOn(s, nb) {
		w := string(appendFolded(scratch[:0], s[na:nb]))
		if directions[w] && (nb >= len(s) || s[nb] != '\'') {
			e = nb
			if e < len(s) && s[e] == '.' && dotDirections[w] {
				e++
			}
		}
	}
	if e+2 < len(s) && s[e] == ' ' && s[e+1] == '#' && isDigit(s[e+2]) {
		// "17 Sycamore Blvd #25"
		p := e + 2
		for p < len(s) && isAlnum(s[p]) {
			p++
		}
		return p
	}
	if na, nb := nextWord(s, e); na == e+1 && s[e] == ' ' && isUnitLabel(s, na, nb) && s[na:nb] != "No" && s[na:nb] != "House" {
		j := nb
		if j < len(s) && s[j] == '.' {
			j++
		}
		if ua, ub := nextWord(s, j); ua == j+1 && s[j] == ' ' && isHouseNumber(s, ua, ub) {
			return ub // "12 Baker Street Apt 4"
		}
	}
	return e
}

// tailInfo describes the parts that follow an address.
type tailInfo struct {
	end      int
	parts    int
	keyword  bool // a part names a street or locality
	postcode bool // a part holds a postal code
	ward     bool // a part is a Japanese ward, city or town ("Shibuya-ku")
}

// extendWithPostcode extends an address ending at end through the parts
// that follow it, each after a comma or a spaced dash: a district, city,
// state or postcode ("Denver, CO 80202", ", 75002 Paris", "Centro, São
// Paulo - SP, 01310-440", ", apto 81").
func extendWithPostcode(s string, end int) int {
	return addressTail(s, end).end
}

func addressTail(s string, end int) tailInfo {
	t := tailInfo{end: end}
	for p := end; t.parts < maxTailParts; {
		q := p
		for q < len(s) && s[q] == ' ' {
			q++
		}
		switch {
		case q < len(s) && s[q] == ',':
			q++
		case q > p && strings.HasPrefix(s[q:], "- "):
			q += 2
		case q > p && strings.HasPrefix(s[q:], "– "):
			q += len("– ")
		default:
			return t
		}
		for q < len(s) && s[q] == ' ' {
			q++
		}
		pt := addressPart(s, q)
		if pt.end < 0 {
			return t
		}
		t.parts++
		t.end, p = pt.end, pt.end
		t.keyword = t.keyword || pt.keyword
		t.postcode = t.postcode || pt.postcode
		t.ward = t.ward || pt.ward
	}
	return t
}

// addressPart reads one part of an address tail at q: capitalised words,
// particles and numbers ("São Paulo", "Rio de Janeiro", "CO 80202", "1015
// CJ Amsterdam", "Col. Del Valle", "N.L.", "apto 81", "#25"), and returns
// its end (-1 if there is none) with what it holds.
func addressPart(s string, q int) tailInfo {
	t := tailInfo{end: -1}
	if q+1 < len(s) && s[q] == '#' && isDigit(s[q+1]) {
		p := q + 1
		for p < len(s) && isAlnum(s[p]) {
			p++
		}
		t.end = p
		return t
	}
	var scratch [64]byte
	p := q
	joined := false // the word follows a hyphen
	for words := 0; words < maxPartWords; words++ {
		a, b := nextWord(s, p)
		if a != p {
			return t
		}
		r, _ := runeAt(s, a)
		w := appendFolded(scratch[:0], s[a:b])
		good := true // the part may end after this word
		switch {
		case isDigit(s[a]):
			d, _ := numberRun(s, a)
			if d-a >= 5 || d-a == 4 && b+3 <= len(s) && s[b] == ' ' && isUpperASCII(s[b+1]) && isUpperASCII(s[b+2]) && !wordGoesOn(s, b+3) {
				t.postcode = true // "80202", "1015 CJ"
			}
			if joined && d-a >= 3 {
				t.postcode = true // "01310-440", "150-0002"
			}
		case joined:
			if string(w) == "ku" || string(w) == "shi" || string(w) == "cho" || string(w) == "machi" || string(w) == "gun" || string(w) == "ken" {
				t.ward = true
			}
		case unicode.IsUpper(r):
			if words == 0 && partStopWords[string(w)] {
				return t
			}
			if strings.IndexFunc(s[a:b], unicode.IsDigit) >= 0 {
				t.postcode = true // "T9P", "EH8"
			}
			if streetSuffixes[string(w)] && words > 0 || streetPrefixes[string(w)] && words == 0 || localityWords[string(w)] || isCompoundStreet(w) {
				t.keyword = true
			}
		case words == 0 && unitWords[string(w)]:
			// "apto 81": a number must follow.
			if na, nb := nextWord(s, b); na != b+1 || s[b] != ' ' || !isHouseNumber(s, na, nb) {
				return t
			}
			good = false
		case words > 0 && streetParticles[string(w)]:
			good = false
		default:
			return t
		}
		if good {
			t.end = b
		}
		joined = false
		if b >= len(s) {
			return t
		}
		switch c := s[b]; {
		case c == '-' && b+1 < len(s) && isAlnum(s[b+1]) || c == '-' && b+1 < len(s) && s[b+1] >= 0x80:
			p, joined = b+1, true
		case c == ' ':
			p = b + 1
		case c == '.' && good && !isDigit(s[a]):
			// "N.L.", "Col. Del Valle"
			if b-a == 1 && b+2 < len(s) && isUpperASCII(s[b+1]) && s[b+2] == '.' {
				e := b + 1
				for e+1 < len(s) && isUpperASCII(s[e]) && s[e+1] == '.' {
					e += 2
				}
				t.end = e
				return t
			}
			if b-a >= 2 && b-a <= 3 && isUpperASCII(s[a]) && !isUpperASCII(s[a+1]) && b+2 < len(s) && s[b+1] == ' ' && isUpperASCII(s[b+2]) {
				p = b + 2
				continue
			}
			return t
		default:
			return t
		}
	}
	return t
}
