package deidentify

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The PERSON cue detector finds names of people outside the roster from
// what introduces them. The name is a capitalised word (then up to two
// more capitalised words, the surname, with particles such as "de" or
// "van" between), and the cue decides how sure that is:
//
//   - strong cues ("my name is", "call me", "Dear", a sign-off line such as
//     "Cheers,\nTom" or "Best,\nPriya Sharma"): any capitalised word that
//     is not a common non-name ("Dear All", "Dear Sir").
//   - greetings ("Hi", "Hello", "Hey", "Thanks", "Thank you"): a known
//     first name, or a capitalised word closing the greeting ("Hi Zanele,").
//   - weak cues ("I'm", "I am", "this is", "my friend", "ask", and a dash
//     sign-off "— Ana"): a known first name only, so "I'm Sure" and "ask
//     Google" stay.
//
// Without a cue nothing is found: "Bill of Rights", "Mark the answer" and
// "in May" are words. The span is the name (with a possessive "'s"), never
// the cue or a title ("Dear Dr. [PERSON]").

type cueStrength uint8

const (
	noCue cueStrength = iota
	weakCue
	greetingCue
	strongCue
)

var (
	strongNameCues   = []string{"my name is", "my name's", "my names", "name is", "call me", "dear", "i'm called", "i am called", "signed", "regards from", "love from", "this is your instructor", "name:"}
	greetingNameCues = []string{"hi", "hello", "hey", "hiya", "thanks", "thank you", "thx", "ty", "welcome", "congrats", "congratulations", "good morning", "good evening", "good afternoon", "greetings", "bye", "cheers", "sorry", "kudos to", "shoutout to", "shout out to", "credit to", "thanks to"}
	weakNameCues     = []string{"i'm", "i’m", "im", "i am", "this is", "it's", "it is", "my friend", "my colleague", "my classmate", "my mentor", "my teacher", "my tutor", "my boss", "my brother", "my sister", "my son", "my daughter", "my wife", "my husband", "my partner", "my mom", "my dad", "my cousin", "ask", "asked", "told", "tell", "with", "and", "cc", "from", "by", "like", "per", "according to", "agree with", "as"}
	// signOffs end the line before a name that stands alone on its line.
	signOffs = wordSet("ta cheers thanks thank regards best sincerely love warmly wishes care yours cordially respectfully rgds thx ty br xoxo later ciao saludos abrazos gracias merci grazie obrigado obrigada danke atenciosamente cordialement")
	// signOffWords may stand in a sign-off with the words of signOffs:
	// "Warm regards", "With many thanks", "All the best".
	signOffWords = wordSet("warm warmest kind kindest best many with all the my much so lot a very again and take for now truly faithfully")
	// nameOwners may stand before "name:" or "name is" when the name is a
	// person's: "My name is", "Full name: Ana Souza".
	nameOwners = wordSet("my good full first last given real his her their your our preferred display student middle family legal")
	// titles may stand between a cue and a surname: "Dear Dr. Smith".
	nameTitles = wordSet("dr mr mrs ms miss mx prof professor sir madam dame mme mlle sr sra srta herr frau")
	// notNames are capitalised words that follow cues without being names.
	notNames = wordSet(`i a an the and but or so if all everyone everybody everyone's team guys folks people friends
		there world again sir madam maam ma'am staff class classmates mates mate man buddy bro y'all yall you
		sure not just also here back happy glad sorry new still really very going working trying learning stuck
		confused done from in on at to with of is it this that my we they he she his her our your their me us
		them who what when where why how course forum moderator moderators instructor instructors teacher
		teachers professor prof admin admins support community student students learner learners mentor mentors
		thanks thank hi hello hey dear good great nice cool ok okay yes no please welcome bye best regards cheers
		kind warm many much for as by about after before now today tomorrow yesterday google python java excel
		monday tuesday wednesday thursday friday saturday sunday january february march april may june july
		august september october november december english spanish french german chinese indian american
		british african european asian canadian mexican brazilian nigerian japanese italian russian arabic
		hindi portuguese muslim christian jewish catholic one two three four five six seven eight nine ten
		first second last next other another every each some any most more less few both either neither
		excited interested curious new back late early ready able unable`)
)

// What a folded word is in the lists of the cue detector.
const (
	kindNotName uint8 = 1 << iota
	kindTitle
	kindFirstName
	kindSignOff
)

var (
	nameKinds = func() map[string]uint8 {
		m := map[string]uint8{}
		for set, k := range map[*map[string]bool]uint8{&notNames: kindNotName, &nameTitles: kindTitle, &firstNames: kindFirstName, &signOffs: kindSignOff} {
			for w := range *set {
				m[w] |= k
			}
		}
		return m
	}()
	nameKindPrefixes = newPrefixFilter(nameKinds)
	nameKindTable    = newWordTable(nameKinds)
)

// nameKindsOf looks a folded word up in the lists, with one lookup for
// all of them and none for most words.
func nameKindsOf(w []byte) uint8 {
	if !mayContain(nameKindPrefixes, w) {
		return 0
	}
	return get(nameKindTable, w)
}

// capWordAt reports whether a capitalised word starts at a and where it
// ends.
func capWordAt(s string, a int) (int, bool) {
	if a >= len(s) {
		return 0, false
	}
	n := 1
	if c := s[a]; c < utf8.RuneSelf {
		if c < 'A' || c > 'Z' {
			return 0, false
		}
	} else {
		var r rune
		if r, n = utf8.DecodeRuneInString(s[a:]); !unicode.IsUpper(r) && !unicode.IsTitle(r) {
			return 0, false
		}
	}
	b := a + n
	for b < len(s) {
		if c := s[b]; c < utf8.RuneSelf {
			if asciiWord[c] {
				b++
				continue
			}
			if c != '\'' && c != '-' {
				break
			}
		}
		r, n := runeAt(s, b)
		if !isWordRune(r) {
			if (r == '\'' || r == '-') && b+1 < len(s) {
				if r2, _ := runeAt(s, b+1); unicode.IsLetter(r2) && !strings.HasPrefix(s[b:], "'s") && !strings.HasPrefix(s[b:], "'S") {
					b++ // "O'Brien", "Jean-Luc"
					continue
				}
			}
			break
		}
		b += n
	}
	return b, true
}

// capWordEnd is capWordAt(s, a) for a word of ix.s that starts at a with
// a capital or a non-ASCII byte (a candidate of a capitalWords cursor) and
// ends at wordEnd. For an ASCII capital capWordAt stops where the word
// stops, unless an apostrophe or a hyphen goes on with it ("O'Brien",
// "Jean-Luc"): only then, or for a non-ASCII rune, does it need to be run.
func (ix *textIndex) capWordEnd(a, wordEnd int) (int, bool) {
	s := ix.s
	if s[a] < utf8.RuneSelf && (wordEnd >= len(s) || s[wordEnd] != '\'' && s[wordEnd] != '-') {
		return wordEnd, true
	}
	return capWordAt(s, a)
}

// foldedWord folds a word for the name lists (lower case, no
// diacritics). The result aliases scratch: use it only as a map key, in
// m[string(b)] form, which does not allocate.
func foldedWord(w string, scratch []byte) ([]byte, []byte) {
	scratch = appendFolded(scratch[:0], w)
	return scratch, scratch
}

func findCuedNames(ix *textIndex, dst []match) []match {
	s := ix.s
	// A window of 32 bytes, as a [32]byte was: w below is read after
	// surnameEnd has reused the buffer, which depends on its capacity.
	scratch := ix.scratch(32)
	words := ix.cursor(capitalWords)
	here := newStringFinder(s, " here") // what hereAfter needs after a name
	for i := 0; ; {
		// A name starts a word with a capital.
		a, wordEnd := words.nextWord(i)
		if a < 0 {
			return dst
		}
		i = wordEnd
		if a > 0 {
			if r, _ := runeBefore(s, a); r == tokenEnd || r == '\'' || r == '@' || r == '_' || r == '/' || r == '.' && a > 1 && s[a-2] != ' ' {
				continue // a token, a handle, a path
			}
		}
		b, ok := ix.capWordEnd(a, wordEnd)
		if !ok {
			continue
		}
		i = b
		var w []byte
		scratch, w = foldedWord(s[a:b], scratch)
		kinds := nameKindsOf(w)
		if kinds&(kindNotName|kindTitle) == kindNotName {
			continue
		}
		cue := nameCueBefore(s, a)
		// The name with its surname ends at or after b: without " here"
		// from b on, hereAfter is false, and the surname need not be
		// sought.
		if cue == noCue && here.next(b) < len(s) && hereAfter(s, a, surnameEnd(s, b, &scratch)) {
			cue = weakCue // "Hello Elif, Rohan here — ..."
		}
		if cue == weakCue && isAllCaps(s[a:b]) {
			cue = noCue // an acronym: "with RAM", "by SEM"
		}
		if cue == noCue {
			continue
		}
		// w aliases scratch, which surnameEnd may have overwritten above
		// with the next word: fold the word again before looking it up.
		scratch, w = foldedWord(s[a:b], scratch)
		if kinds = nameKindsOf(w); kinds&kindTitle != 0 {
			// "Dear Dr. Smith": the name is the word after the title.
			j := b
			if j < len(s) && s[j] == '.' {
				j++
			}
			if j < len(s) && s[j] == ' ' {
				j++
			}
			nb, ok := capWordAt(s, j)
			if !ok || j == b {
				continue
			}
			a, b = j, nb
			i = b
			scratch, w = foldedWord(s[a:b], scratch)
			kinds = nameKindsOf(w)
			cue = max(cue, greetingCue)
		}
		known := kinds&kindFirstName != 0
		if k := bytes.IndexByte(w, '-'); k > 0 && !known {
			known = nameKindsOf(w[:k])&kindFirstName != 0 // "Jean-Luc"
		}
		accept := false
		switch {
		case kinds&kindNotName != 0:
		case known:
			accept = true
		case cue == strongCue:
			accept = true
		case cue == greetingCue:
			accept = closesGreeting(s, surnameEnd(s, b, &scratch))
		}
		if !accept {
			continue
		}
		end := skipPossessive(s, surnameEnd(s, b, &scratch))
		dst = append(dst, match{start: a, end: end, typ: FindingPerson, token: genericTokens[FindingPerson], rank: rankCuedPerson})
		i = end
	}
}

// surnameEnd extends a name ending at b over up to two more capitalised
// words on the same line, with particles between them.
func surnameEnd(s string, b int, scratch *[]byte) int {
	end := b
	for words := 0; words < 2; {
		j := end
		if j >= len(s) || s[j] != ' ' && s[j] != '-' {
			break
		}
		j++
		if wb, ok := capWordAt(s, j); ok {
			var w []byte
			*scratch, w = foldedWord(s[j:wb], *scratch)
			if nameKindsOf(w)&(kindNotName|kindSignOff|kindTitle) != 0 {
				break
			}
			end = wb
			words++
			continue
		}
		// A particle, then a capitalised word: "Ana de Souza".
		k := j
		for k < len(s) && isAlpha(s[k]) && k-j < 4 {
			k++
		}
		if k == j || !mayContain(nameParticlePrefixes, s[j:k]) || !isLower(nameParticles, s[j:k]) || k >= len(s) || s[k] != ' ' {
			break
		}
		wb, ok := capWordAt(s, k+1)
		if !ok {
			break
		}
		end = wb
		words++
	}
	return end
}

// closesGreeting reports whether a greeting's name ends at e: punctuation,
// the end of the line or of the text follows.
func closesGreeting(s string, e int) bool {
	if e >= len(s) {
		return true
	}
	switch s[e] {
	case ',', '!', '.', ':', ';', '\n', '\r', ')':
		return true
	}
	return strings.HasPrefix(s[e:], " —") || strings.HasPrefix(s[e:], " -")
}

// nameCueBefore returns the strongest cue that introduces a word at a.
func nameCueBefore(s string, a int) cueStrength {
	// A sign-off line: the name stands alone on its line after "Cheers,"
	// or after a dash.
	ls := lineStart(s, a)
	// Whether the name ends its sentence matters at the start of a line,
	// or after a comma or a dash (signOffSameLine, dashInLine).
	endsSentence := false
	if ls >= 0 || a >= 3 && s[a-1] == ' ' && s[a-2] == ',' || dashJustBefore(s, a) {
		endsSentence = nameEndsSentence(s, a)
	}
	if ls >= 0 {
		if endsSentence || nameLineEnds(s, a) {
			if signOffBefore(s, ls) {
				return strongCue
			}
			if dashBefore(s, ls, a) {
				return weakCue
			}
		}
	}
	// A sign-off inside a line: "... refund. — Mirela.", "Ta, Oskar",
	// "Best wishes, Ana. This took me ages".
	if endsSentence {
		if signOffSameLine(s, a) {
			return strongCue
		}
		if dashInLine(s, a) {
			return weakCue
		}
	}
	j := a
	for n, commas := 0, 0; j > 0 && n < 3 && (s[j-1] == ' ' || s[j-1] == ',' && commas == 0); n++ {
		if s[j-1] == ',' {
			commas++
		}
		j--
	}
	if j == a {
		return noCue
	}
	comma := strings.IndexByte(s[j:a], ',') >= 0
	// The cue is the last one to four words before j. The key holds the
	// words from w to j, lower case, at the end of buf.
	var buf [40]byte
	start := len(buf)
	best := noCue
	k := j
	for words := 0; words < 4 && k > 0; words++ {
		w := k
		for w > 0 && k-w < 12 && (isAlpha(s[w-1]) || s[w-1] == '\'' || s[w-1] == ':') {
			w--
		}
		if w == k || w > 0 && (isAlnum(s[w-1]) || s[w-1] >= utf8.RuneSelf) || len(buf)-start+k-w+1 > len(buf) {
			break
		}
		start = prependLowerWord(buf[:], start, s[w:k])
		key := buf[start:]
		if sp := bytes.IndexByte(key, ' '); sp > 0 && bytes.HasPrefix(key[sp+1:], []byte("name")) &&
			nameCueOf(key[sp+1:]) == strongCue && !nameOwners[string(key[:sp])] {
			// "Team name: Outliers", "the file name is Report": the
			// name of a thing, not a person.
			return noCue
		}
		if st := nameCueOf(key); st > best && !(comma && st == weakCue) {
			best = st
		}
		k = w
		if k > 0 && s[k-1] == ' ' {
			k--
		} else if k > 1 && s[k-1] == 0x99 && strings.HasSuffix(s[:k], "’") {
			break
		} else {
			break
		}
	}
	if best == noCue && strings.HasSuffix(s[:j], "’m") && endsWithWord(s, j, "i’m") && !comma {
		return weakCue
	}
	return best
}

// nameCues maps each cue, lower case, to its strength.
var nameCues = func() map[string]cueStrength {
	m := map[string]cueStrength{}
	for _, c := range weakNameCues {
		m[c] = weakCue
	}
	for _, c := range greetingNameCues {
		m[c] = greetingCue
	}
	for _, c := range strongNameCues {
		m[c] = strongCue
	}
	return m
}()

var (
	nameParticlePrefixes = newPrefixFilter(nameParticles)
	nameCuePrefixes      = newPrefixFilter(nameCues)
	nameCueTable         = newWordTable(nameCues)
)

// nameCueOf returns the strength of the cue key (lower case), or noCue.
func nameCueOf(key []byte) cueStrength {
	if !mayContain(nameCuePrefixes, key) {
		return noCue
	}
	return get(nameCueTable, key)
}

// endsWithWord reports whether s[:j] ends with the words cue (ASCII case
// folded) starting at a word boundary.
func endsWithWord(s string, j int, cue string) bool {
	k := j - len(cue)
	return k >= 0 && hasPrefixFold(s, k, cue) && (k == 0 || !isAlnum(s[k-1]) && s[k-1] < utf8.RuneSelf && s[k-1] != '\'')
}

// lineStart returns where the line holding a starts if only a dash and
// spaces precede a on it, else -1.
func lineStart(s string, a int) int {
	j := a
	for j > 0 && a-j < 8 && s[j-1] != '\n' {
		j--
	}
	if j > 0 && s[j-1] != '\n' {
		return -1
	}
	if strings.Trim(s[j:a], " \t-—–~") != "" {
		return -1
	}
	return j
}

// nameLineEnds reports whether the line from a holds at most three words
// (a name) and nothing else.
func nameLineEnds(s string, a int) bool {
	words, j := 0, a
	for j < len(s) && s[j] != '\n' {
		if j-a > 60 {
			return false
		}
		b, ok := capWordAt(s, j)
		if !ok {
			return false
		}
		words++
		j = b
		for j < len(s) && (s[j] == ' ' || s[j] == '.' || s[j] == '\r') {
			j++
		}
	}
	return words >= 1 && words <= 3
}

// signOffBefore reports whether the line before the one starting at ls
// ends with a sign-off ("Cheers,", "Best regards,", "Thanks!", or a bare
// "Warm regards"), alone on that line or after the end of a sentence.
func signOffBefore(s string, ls int) bool {
	if ls == 0 {
		return false
	}
	e := ls - 1 // the '\n'
	for e > 0 && (s[e-1] == '\r' || s[e-1] == ' ') {
		e--
	}
	if e == 0 {
		return false
	}
	punct := s[e-1] == ',' || s[e-1] == '!' || s[e-1] == '.'
	if punct {
		e--
	}
	return signOffPhrase(s, e, !punct)
}

// signOffPhrase reports whether the text ending at e is a sign-off phrase
// of at most three words that starts the text, a line or a sentence. A
// bare phrase (without a comma after it) must consist of sign-off words
// only ("Warm regards", not "the best").
func signOffPhrase(s string, e int, bare bool) bool {
	k := e
	for k > 0 && e-k < 24 && s[k-1] != '\n' && (isAlpha(s[k-1]) || s[k-1] == ' ') {
		k--
	}
	if k > 0 && s[k-1] != '\n' {
		// Only the end of a sentence may come before the phrase.
		if s[k] != ' ' || !strings.ContainsRune(".!?", rune(s[k-1])) {
			return false
		}
	}
	// The words, which s[k:e] holds with spaces only.
	var words [4]string
	n := 0
	for f := range strings.FieldsSeq(s[k:e]) {
		if n == len(words) {
			return false
		}
		words[n] = f
		n++
	}
	fields := words[:n]
	if len(fields) == 0 || len(fields) > 3 {
		return false
	}
	if !bare {
		return isLower(signOffs, fields[len(fields)-1]) || isLower(signOffs, fields[0])
	}
	if len(fields[0]) == 3 && hasPrefixFold(fields[0], 0, "the") {
		return false // "The best", unlike "All the best"
	}
	for _, f := range fields {
		if !isLower(signOffs, f) && !isLower(signOffWords, f) {
			return false
		}
	}
	return isLower(signOffs, fields[len(fields)-1])
}

// signOffSameLine reports whether a sign-off and a comma precede the name
// at a on its line: "Ta, Oskar", "Best wishes, Ana".
func signOffSameLine(s string, a int) bool {
	if a < 3 || s[a-1] != ' ' || s[a-2] != ',' {
		return false
	}
	return signOffPhrase(s, a-2, false)
}

// dashJustBefore reports whether spaces and then a dash, or a non-ASCII
// byte, come before a: what dashInLine needs first.
func dashJustBefore(s string, a int) bool {
	j := a
	for j > 0 && s[j-1] == ' ' {
		j--
	}
	return j < a && j > 0 && (s[j-1] == '-' || s[j-1] == '~' || s[j-1] >= 0x80)
}

// dashInLine reports whether a dash after the end of a sentence precedes
// the name at a: "please refund. — Mirela".
func dashInLine(s string, a int) bool {
	j := a
	for j > 0 && s[j-1] == ' ' {
		j--
	}
	if j == a {
		return false
	}
	d := j
	for d > 0 && j-d < 6 && (s[d-1] == '-' || s[d-1] == '~' || s[d-1] >= 0x80) {
		d--
	}
	if d == j || !strings.ContainsAny(s[d:j], "-—–~") || strings.Trim(s[d:j], "-—–~") != "" {
		return false
	}
	if d == 0 || s[d-1] == '\n' {
		return true
	}
	if s[d-1] != ' ' {
		return false
	}
	for d > 0 && s[d-1] == ' ' {
		d--
	}
	return d > 0 && strings.ContainsRune(".!?)", rune(s[d-1]))
}

// nameEndsSentence reports whether the one to three capitalised words at a
// end the text, their line or their sentence: "Tom Bradley. I'm ...".
func nameEndsSentence(s string, a int) bool {
	j := a
	for words := 0; ; {
		b, ok := capWordAt(s, j)
		if !ok || words == 3 {
			return false
		}
		words++
		j = b
		if j < len(s) && s[j] == ' ' {
			if _, ok := capWordAt(s, j+1); ok {
				j++
				continue
			}
		}
		break
	}
	if j < len(s) && (s[j] == '.' || s[j] == '!') {
		j++
	}
	return j == len(s) || s[j] == ' ' && j > 0 && (s[j-1] == '.' || s[j-1] == '!') || s[j] == '\n' || s[j] == '\r'
}

// hereAfter reports whether the name s[a:e] introduces the writer with
// "here" at the start of a clause: "Hello Elif, Rohan here — we met".
func hereAfter(s string, a, e int) bool {
	if !strings.HasPrefix(s[e:], " here") {
		return false
	}
	e += len(" here")
	if e < len(s) && !strings.ContainsRune(",.!:;", rune(s[e])) && !strings.HasPrefix(s[e:], " —") &&
		!strings.HasPrefix(s[e:], " –") && !strings.HasPrefix(s[e:], " -") {
		return false
	}
	if a == 0 || s[a-1] == '\n' {
		return true
	}
	return a >= 2 && s[a-1] == ' ' && strings.ContainsRune(",.!?", rune(s[a-2]))
}

// isAllCaps reports whether w has two or more letters, all upper case.
func isAllCaps(w string) bool {
	n := 0
	for _, r := range w {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n >= 2
}

// dashBefore reports whether the name at a follows a dash at the start of
// its line ("— Ana", "-- Tom").
func dashBefore(s string, ls, a int) bool {
	return strings.ContainsAny(s[ls:a], "-—–~")
}
