package deidentify

import "strings"

// The context detectors find numbers that are personal only after a cue:
//
//   - AGE: an age the writer discloses: "I'm 45", "I am 17 years old",
//     "aged 63", "my age is 40", "45 y/o", "at 52, I ...". The span is the
//     number together with a following "years old", "year old",
//     "-year-old", "yrs old", "y/o" or "yo" — the words that make it an
//     age — but never the cue before it.
//   - DATE_OF_BIRTH: a date after "born (on)", "DOB", "D.O.B.", "date of
//     birth", "birthday (is)", "birthdate" or "b.": "3 Feb 1990",
//     "February 3rd, 1990", "1990-02-03", "03/02/1990", "3.2.1990". The
//     span is the date alone.
//   - POSTAL_CODE: a code of a known shape after "zip (code)", "postcode",
//     "post code", "postal code", "CEP", "PLZ", "PIN (code)" or "〒": US
//     12345 and 12345-6789, UK "SW1A 1AA", CA "K1A 0B1", DE/FR/ES 5 digits,
//     BR "01310-100", IN "110001", NL "1234 AB", JP "100-0001", and 4
//     digits. The span is the code.
//
// All three are driven by the digits in the text, so prose without digits
// costs one scan of its bytes.

// cueSeps may stand between a cue and what it introduces.
func isCueSep(c byte) bool {
	return c == ' ' || c == '\t' || c == ':' || c == '-' || c == '=' || c == '#' || c == ',' || c == '(' || c == '\n'
}

// cueSet is a set of cue phrases (lower case) looked up by the words
// before a position: for most positions none is a cue, which its filter
// tells without a lookup.
type cueSet struct {
	prefixes *prefixFilter
	table    *wordTable[bool]
}

func newCueSet(cues ...string) cueSet {
	m := map[string]bool{}
	for _, c := range cues {
		m[c] = true
	}
	return cueSet{newPrefixFilter(m), newWordTable(m)}
}

// has reports whether key is a cue.
func (c cueSet) has(key []byte) bool { return mayContain(c.prefixes, key) && get(c.table, key) }

// maxCueWords and maxCueBytes bound the phrases a cueSet can hold.
const (
	maxCueWords = 4
	maxCueBytes = 40
)

// isCueWordByte reports whether c can be part of a cue word ("d.o.b.",
// "i'm", "i’m", "〒").
func isCueWordByte(c byte) bool { return isAlpha(c) || c == '.' || c == '\'' || c >= 0x80 }

// cueEndsBefore reports whether, going back from i over separators and at
// most maxFill of the filler words, one of the cues ends, starting at a
// word boundary.
func cueEndsBefore(s string, i int, cues cueSet, fillers map[string]bool, maxFill int) bool {
	j := i
	for fill := 0; ; fill++ {
		for n := 0; j > 0 && n < 4 && isCueSep(s[j-1]); n++ {
			j--
		}
		// The key holds the words from k to j, lower case, at the end of
		// buf.
		var buf [maxCueBytes]byte
		start := len(buf)
		k := j
		first := -1 // length of the word nearest i, the end of key
		for words := 0; words < maxCueWords && k > 0; words++ {
			w := k
			for w > 0 && k-w < 14 && isCueWordByte(s[w-1]) {
				w--
			}
			if w == k || w > 0 && (isDigit(s[w-1]) || s[w-1] == '_') || len(buf)-start+k-w+1 > maxCueBytes {
				break
			}
			start = prependLowerWord(buf[:], start, s[w:k])
			key := buf[start:]
			if words == 0 {
				first = len(key)
			}
			if cues.has(key) {
				return true
			}
			if w == 0 || s[w-1] != ' ' {
				break
			}
			k = w - 1
		}
		if fill == maxFill || first < 0 || !fillers[string(buf[len(buf)-first:])] {
			return false
		}
		j -= first
	}
}

// inLower looks up the short ASCII word w in m, in lower case; a word
// longer than 16 bytes is looked up as "". It copies nothing to the heap.
func inLower[V any](m map[string]V, w string) (V, bool) {
	if len(w) > 16 {
		v, ok := m[""]
		return v, ok
	}
	var buf [16]byte
	for k := 0; k < len(w); k++ {
		buf[k] = lowerASCII(w[k])
	}
	v, ok := m[string(buf[:len(w)])]
	return v, ok
}

// isLower reports whether the set m holds w as inLower looks it up.
func isLower(m map[string]bool, w string) bool {
	v, _ := inLower(m, w)
	return v
}

// numberRun returns the end of the digits at i and their value (capped).
func numberRun(s string, i int) (int, int) {
	v, j := 0, i
	for j < len(s) && isDigit(s[j]) {
		if v < 1_000_000 {
			v = v*10 + int(s[j]-'0')
		}
		j++
	}
	return j, v
}

var (
	ageCues     = newCueSet("i'm", "i’m", "im", "i am", "aged", "age", "age is", "i turned", "i turn", "i'll be", "i will be", "i was", "turned", "turning", "being", "started this at", "reporting in")
	ageFillers  = wordSet("now just currently only about almost nearly over is already actually")
	ageSelfCues = newCueSet("a", "as a", "me", "my")
	ageAtCues   = newCueSet("at", "at age", "at the age of")
	ageSuffixes = []string{" years old", "-years-old", " year old", "-year-old", " yrs old", " yr old", " y/o", "y/o", " y.o.", " yo", "yo"}
	// ageFollowers may follow a disclosed age; any other word (a unit such
	// as "weeks", "%", "points") means the number is not an age.
	ageFollowers        = wordSet("and but now so too this next soon today myself going with from in and years year yrs yr old male female man woman guy girl here living based who which retired learning trying studying working myself lol haha if because as when i m f last")
	ageFollowerPrefixes = newPrefixFilter(ageFollowers)
	// ageSelfSuffixes make a number an age wherever it stands: "65 years
	// young", "at 59 years of age".
	ageSelfSuffixes = []string{" years young", " years of age", " years old,", " years old."}
)

// findAges finds ages the writer discloses.
func findAges(ix *textIndex, dst []match) []match {
	s := ix.s
	for i := ix.nextNumberStart(0, numLeftStop); i < len(s); i = ix.nextNumberStart(i, numLeftStop) {
		end, v := numberRun(s, i)
		if e, ok := ageAt(s, i, end, v); ok {
			dst = append(dst, match{start: i, end: e, typ: FindingAge, token: genericTokens[FindingAge], rank: rankAge})
			end = e
		}
		i = max(end, i+1)
	}
	return dst
}

// ageAt reports whether the number v in s[i:end] is a disclosed age and
// where its span ends.
func ageAt(s string, i, end, v int) (int, bool) {
	if end-i > 3 || v == 0 || v > 120 {
		return 0, false
	}
	// Every suffix starts with " ", "-" or "y".
	if end < len(s) {
		if c := lowerASCII(s[end]); c == ' ' || c == '-' || c == 'y' {
			if e, ok := ageSuffixAt(s, i, end, v); ok {
				return e, true
			}
		}
	}
	if v < 10 || v > 110 || !ageFollowerOK(s, end) {
		return 0, false
	}
	if cueEndsBefore(s, i, ageCues, ageFillers, 1) {
		return end, true
	}
	// "at 52, I ..." / "at 52 I ..."
	if v >= 15 && cueEndsBefore(s, i, ageAtCues, nil, 0) {
		j := end
		if j < len(s) && s[j] == ',' {
			j++
		}
		if j+2 < len(s) && s[j] == ' ' && s[j+1] == 'I' && (s[j+2] == ' ' || s[j+2] == '\'' || strings.HasPrefix(s[j+2:], "’")) {
			return end, true
		}
	}
	return 0, false
}

// ageSuffixAt reports whether a suffix after the number v in s[i:end]
// makes it an age ("45 y/o", "17 years old") and where its span ends.
func ageSuffixAt(s string, i, end, v int) (int, bool) {
	for _, suf := range ageSuffixes {
		if hasPrefixFold(s, end, suf) && !wordGoesOn(s, end+len(suf)) {
			// "45 y/o", "a 17-year-old", "17 years old".
			if suf[len(suf)-1] == 'd' && !cueEndsBefore(s, i, ageCues, ageFillers, 1) && !cueEndsBefore(s, i, ageSelfCues, nil, 0) {
				continue // "the building is 45 years old"
			}
			return end + len(suf), true
		}
	}
	for _, suf := range ageSelfSuffixes {
		if v >= 10 && hasPrefixFold(s, end, suf) {
			return end + len(strings.TrimRight(suf, ",.")), true
		}
	}
	return 0, false
}

// wordGoesOn reports whether a word character follows at p.
func wordGoesOn(s string, p int) bool {
	return p < len(s) && (isAlnum(s[p]) || s[p] >= 0x80 || s[p] == tokenStart)
}

// ageFollowerOK reports whether what follows a number at p allows it to be
// an age: the end, punctuation ending a clause, or a word that is no unit.
func ageFollowerOK(s string, p int) bool {
	if p >= len(s) {
		return true
	}
	switch c := s[p]; {
	case c == ',' || c == ';' || c == '!' || c == '?' || c == ')' || c == '\n' || c == '\r':
		return true
	case c == '.':
		return p+1 >= len(s) || !isDigit(s[p+1])
	case c == ' ':
		a := p + 1
		if a < len(s) && (s[a] == '(' || s[a] == '-' || s[a] == '[') {
			return true
		}
		b := a
		for b < len(s) && isAlpha(s[b]) {
			b++
		}
		if b == a {
			return strings.HasPrefix(s[a:], "—") || strings.HasPrefix(s[a:], "–")
		}
		return mayContain(ageFollowerPrefixes, s[a:b]) && isLower(ageFollowers, s[a:b])
	}
	return false
}

var (
	dobCues    = newCueSet("born", "dob", "d.o.b", "d.o.b.", "date of birth", "birth date", "birthdate", "birthday", "bday", "b.")
	dobFillers = wordSet("on is was the of my in to profile")
	// dobCuesAfter may follow the date instead: "I entered 2009-10-06 as
	// my date of birth".
	dobCuesAfter = []string{" as my date of birth", " as my birth date", " as my birthday", " as my dob", " as date of birth"}
	// dobFormCues name a date-of-birth field's format; a full date typed
	// after one is a birth date.
	dobFormCues = []string{"dd/mm/yyyy", "mm/dd/yyyy", "yyyy-mm-dd", "dd.mm.yyyy"}
	monthNames  = map[string]int{
		"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
		"may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
		"september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
	}
	// monthPrefixes tells most words from month names without a lookup.
	monthPrefixes = newPrefixFilter(monthNames)
)

// findDatesOfBirth finds dates introduced by a birth cue.
func findDatesOfBirth(ix *textIndex, dst []match) []match {
	s := ix.s
	if !mayHaveDOBCue(s) {
		return dst
	}
	for i := ix.nextDigit(0); i < len(s); i = ix.nextDigit(i) {
		end, _ := numberRun(s, i)
		if i > 0 && isDigit(s[i-1]) {
			i = end
			continue
		}
		// The date starts at the number or at a month name before it.
		start, dEnd := -1, -1
		if i == 0 || !isAlnum(s[i-1]) {
			if e := dateAt(s, i); e > 0 {
				start, dEnd = i, e
			}
		}
		if start < 0 {
			if m := monthBefore(s, i); m >= 0 {
				if e := dateAt(s, m); e > 0 {
					start, dEnd = m, e
				}
			}
		}
		if start >= 0 && (cueEndsBefore(s, start, dobCues, dobFillers, 3) || dobCueAfter(s, dEnd) || cueBefore(s, start, 60, dobFormCues...)) {
			dst = append(dst, match{start: start, end: dEnd, typ: FindingDateOfBirth, token: genericTokens[FindingDateOfBirth], rank: rankDateOfBirth})
			end = max(end, dEnd)
		}
		i = end
	}
	return dst
}

// mayHaveDOBCue reports whether s holds, in any case, a word that every
// cue of a birth date holds: "born", "dob", "d.o.b", "birth", "bday" or
// "b." from dobCues and dobCuesAfter, "yyyy" from dobFormCues. Most texts
// do not, and need no date parsed.
func mayHaveDOBCue(s string) bool {
	for _, c := range []byte("bByY") {
		for from := 0; ; {
			k := strings.IndexByte(s[from:], c)
			if k < 0 {
				break
			}
			i := from + k
			if c|0x20 == 'y' && hasPrefixFold(s, i, "yyyy") ||
				c|0x20 == 'b' && (hasPrefixFold(s, i, "born") || hasPrefixFold(s, i, "birth") || hasPrefixFold(s, i, "bday") ||
					hasPrefixFold(s, i, "b.") || hasPrefixFold(s, i-2, "dob") || hasPrefixFold(s, i-4, "d.o.b")) {
				return true
			}
			from = i + 1
		}
	}
	return false
}

// monthBefore returns the start of a month name that precedes the number
// at i ("February 3", "Feb. 3"), or -1.
func monthBefore(s string, i int) int {
	j := i
	for n := 0; j > 0 && n < 2 && (s[j-1] == ' ' || s[j-1] == '.'); n++ {
		j--
	}
	k := j
	for k > 0 && j-k <= 9 && isAlpha(s[k-1]) {
		k--
	}
	if k == j || k > 0 && isAlnum(s[k-1]) || j == i {
		return -1
	}
	if !mayContain(monthPrefixes, s[k:j]) {
		return -1
	}
	if _, ok := inLower(monthNames, s[k:j]); !ok {
		return -1
	}
	return k
}

// monthAt returns the end of a month name at i, or -1.
func monthAt(s string, i int) int {
	j := i
	for j < len(s) && j-i <= 9 && isAlpha(s[j]) {
		j++
	}
	if j == i || wordGoesOn(s, j) {
		return -1
	}
	if !mayContain(monthPrefixes, s[i:j]) {
		return -1
	}
	if _, ok := inLower(monthNames, s[i:j]); !ok {
		return -1
	}
	if j < len(s) && s[j] == '.' {
		j++
	}
	return j
}

// dateAt returns the end of a date starting at i, or -1: numeric
// ("1990-02-03", "03/02/1990", "3.2.1990", "03/02/90"), day-month
// ("3 Feb 1990", "3rd of February, 1990") or month-day ("February 3,
// 1990"). The year may be left out of the forms with a month name.
func dateAt(s string, i int) int {
	if isDigit(s[i]) {
		if e := numericDateAt(s, i); e > 0 {
			return e
		}
		// Day, then month name.
		e, day := numberRun(s, i)
		if e-i > 2 || day < 1 || day > 31 {
			return -1
		}
		e = skipOrdinal(s, e)
		if hasPrefixFold(s, e, " of ") {
			e += 3
		}
		if e < len(s) && (s[e] == ' ' || s[e] == '-') {
			e++
		}
		m := monthAt(s, e)
		if m < 0 {
			return -1
		}
		return yearAfter(s, m)
	}
	m := monthAt(s, i)
	if m < 0 || m >= len(s) || s[m] != ' ' || m+1 >= len(s) || !isDigit(s[m+1]) {
		return -1
	}
	e, day := numberRun(s, m+1)
	if e-m-1 > 2 || day < 1 || day > 31 {
		return -1
	}
	return yearAfter(s, skipOrdinal(s, e))
}

func skipOrdinal(s string, e int) int {
	if e >= len(s) {
		return e
	}
	if c := s[e] | 0x20; c != 's' && c != 'n' && c != 'r' && c != 't' {
		return e
	}
	for _, o := range []string{"st", "nd", "rd", "th"} {
		if hasPrefixFold(s, e, o) && !wordGoesOn(s, e+2) {
			return e + 2
		}
	}
	return e
}

// yearAfter extends a date ending at e over a following year (", 1990",
// " 1990", "-1990").
func yearAfter(s string, e int) int {
	j := e
	if j < len(s) && s[j] == ',' {
		j++
	}
	if j < len(s) && (s[j] == ' ' || s[j] == '-') {
		j++
	}
	if j+4 <= len(s) && isDigit(s[j]) {
		if y, v := numberRun(s, j); y-j == 4 && v >= 1900 && v <= 2100 && !wordGoesOn(s, y) {
			return y
		}
	}
	if wordGoesOn(s, e) {
		return -1
	}
	return e
}

// numericDateAt returns the end of an all-digit date at i, or -1.
func numericDateAt(s string, i int) int {
	var parts [3]int
	var lens [3]int
	p := i
	var sep byte
	for k := range 3 {
		e, v := numberRun(s, p)
		if e == p {
			return -1
		}
		parts[k], lens[k] = v, e-p
		p = e
		if k == 2 {
			break
		}
		if p+1 >= len(s) || !isDigit(s[p+1]) || (s[p] != '-' && s[p] != '/' && s[p] != '.') || sep != 0 && s[p] != sep {
			return -1
		}
		sep = s[p]
		p++
	}
	if wordGoesOn(s, p) || p+1 < len(s) && isDigit(s[p+1]) && (s[p] == sep || s[p] == '.') {
		return -1
	}
	switch {
	case lens[0] == 4 && lens[1] <= 2 && lens[2] <= 2: // 1990-02-03
		if parts[0] >= 1900 && parts[0] <= 2100 && validDM(parts[2], parts[1]) {
			return p
		}
	case lens[0] <= 2 && lens[1] <= 2 && (lens[2] == 4 || lens[2] == 2): // 03/02/1990
		if lens[2] == 4 && (parts[2] < 1900 || parts[2] > 2100) {
			return -1
		}
		if validDM(parts[0], parts[1]) || validDM(parts[1], parts[0]) {
			return p
		}
	}
	return -1
}

func validDM(d, m int) bool { return d >= 1 && d <= 31 && m >= 1 && m <= 12 }

// postalFillers may stand between a cue and its code ("zip code is",
// "ZIP: I entered", "postal code field: I typed").
var postalFillers = wordSet("is my code number no field i entered typed put wrote used was it's")

var postalCues = newCueSet("zip", "zip code", "zipcode", "zip-code", "postcode", "post code", "postal code", "postalcode", "cep", "plz", "postleitzahl", "pin code", "pincode", "pin", "〒", "code postal", "código postal", "codigo postal", "cod. postal", "cap", "c.a.p.", "kod pocztowy", "postnummer", "eircode")

// postalCuesAfter may follow the code instead: "the E8 9HT postcode area".
var postalCuesAfter = []string{"postcode", "post code", "postal code", "zip code", "zipcode", "pin code", "pincode"}

// postalCueAfter reports whether a cue of postalCuesAfter follows the
// code ending at e.
func postalCueAfter(s string, e int) bool {
	if e+1 >= len(s) || s[e] != ' ' {
		return false
	}
	for _, c := range postalCuesAfter {
		if hasPrefixFold(s, e+1, c) && !wordGoesOn(s, e+1+len(c)) {
			return true
		}
	}
	return false
}

// findPostalCodes finds postal codes introduced by a cue.
func findPostalCodes(ix *textIndex, dst []match) []match {
	s := ix.s
	for i := ix.nextDigit(0); i < len(s); i = ix.nextDigit(i) {
		end, _ := numberRun(s, i)
		// UK and Canadian codes start with letters: back up to the word.
		w := i
		for w > 0 && i-w < 2 && isAlpha(s[w-1]) {
			w--
		}
		if w > 0 && (isAlnum(s[w-1]) || s[w-1] == '_' || s[w-1] == tokenEnd || s[w-1] == '.' || s[w-1] == '-') {
			i = end
			continue
		}
		if e := postalCodeAt(s, w); e > 0 && (cueEndsBefore(s, w, postalCues, postalFillers, 3) || postalCueAfter(s, e)) {
			dst = append(dst, match{start: w, end: e, typ: FindingPostalCode, token: genericTokens[FindingPostalCode], rank: rankPlace})
			end = max(end, e)
		}
		i = end
	}
	return dst
}

// postalCodeShapes are the code shapes, longest first: 9 a digit, A a
// letter, ' ' an optional space, '-' a dash. A UK outward code is tried
// in each of its forms.
var postalCodeShapes = []string{
	"99999-9999", "99999-999", "AA9A 9AA", "AA99 9AA", "A9A 9AA", "AA9 9AA", "A99 9AA", "A9 9AA",
	"A9A 9A9", "999 999", "9999 AA", "9999-999", "999-9999", "99999", "99-999", "9999",
}

// postalShapesByDigits holds, for each count of digits at the start of a
// candidate (up to one more than any shape starts with), the shapes it may
// have, in the order of postalCodeShapes. A shape asks for as many digits
// as it starts with (none if it starts with a letter), and no more when a
// dash or the end of the code follows them: on the others matchShape
// fails, or wordGoesOn holds after them.
var postalShapesByDigits = func() (t [7][]string) {
	for digits := range t {
		for _, shape := range postalCodeShapes {
			lead := strings.IndexFunc(shape, func(r rune) bool { return r != '9' })
			if lead < 0 {
				lead = len(shape)
			}
			exact := lead == len(shape) || shape[lead] == '-'
			if digits < lead || exact && digits != lead || lead == 0 && digits > 0 {
				continue
			}
			t[digits] = append(t[digits], shape)
		}
	}
	return t
}()

// postalCodeAt returns the end of a postal code at i, or -1.
func postalCodeAt(s string, i int) int {
	digits := 0
	for digits < 6 && i+digits < len(s) && isDigit(s[i+digits]) {
		digits++
	}
	for _, shape := range postalShapesByDigits[digits] {
		if e := matchShape(s, i, shape); e > 0 && !wordGoesOn(s, e) && !(e+1 < len(s) && (s[e] == '-' || s[e] == '.') && isDigit(s[e+1])) {
			return e
		}
	}
	return -1
}

// matchShape matches s[i:] against a shape and returns its end, or -1.
func matchShape(s string, i int, shape string) int {
	p := i
	for k := 0; k < len(shape); k++ {
		switch shape[k] {
		case ' ':
			if p < len(s) && s[p] == ' ' {
				p++
			}
			continue
		case '9':
			if p >= len(s) || !isDigit(s[p]) {
				return -1
			}
		case 'A':
			if p >= len(s) || !isAlpha(s[p]) {
				return -1
			}
		default:
			if p >= len(s) || s[p] != shape[k] {
				return -1
			}
		}
		p++
	}
	return p
}

// dobCueAfter reports whether a cue of dobCuesAfter follows at e.
func dobCueAfter(s string, e int) bool {
	for _, c := range dobCuesAfter {
		if hasPrefixFold(s, e, c) {
			return true
		}
	}
	return false
}
