package deidentify

import (
	"cmp"
	"math/bits"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The roster detectors find the people enrolled in the course:
//
//   - PERSON: a full name, in any case ("maria lopez"), its words separated
//     by spaces, hyphens, apostrophes or dots; or one name part of at least
//     three letters written with a capital ("Maria", "Lopez"). Matching
//     ignores case and Latin diacritics ("Lopez" finds "López") and takes a
//     possessive with it ("Maria's").
//     A name part alone in lower case ("maria") is a mention too, unless it
//     is a common English word ("will", "grace") or glued to a handle or
//     path; a part in a script without case ("शर्मा") always is.
//   - PERSON in scripts written without spaces (Chinese, Japanese, and
//     Korean with its particles): the full name, or a part of at least two
//     characters that the roster separates with a space ("田中 陽子"),
//     anywhere inside a run of such characters ("田中陽子さん").
//   - USERNAME: a roster username as a whole word, in any case.

// Limits of the roster index.
const (
	minNamePart     = 3  // shorter name parts ("Li", "de") match only in a full name
	minUsername     = 2  // shorter usernames would erase ordinary words
	maxNameWords    = 8  // longer names are found by their parts
	maxNameWordGap  = 4  // bytes between the words of a full name, e.g. " ", "-", "’"
	scratchKeyBytes = 64 // folded key buffer on the stack
)

type rosterIndex struct {
	// words maps a folded name word to what it can start or be.
	words map[string]nameWord
	// fullNames maps a full name's folded words, joined by single spaces,
	// to its token ("[PERSON]" if people with different tokens share it).
	fullNames map[string]string
	// usernames holds lower-cased usernames.
	usernames map[string]struct{}
	// glued maps the first rune of a name (or name part) in a script
	// written without spaces to the names starting with it, longest first.
	glued    map[rune][]gluedName
	maxWords int
	// wordFilter and userFilter hold the hashes of the keys of words and
	// usernames.
	wordFilter, userFilter keyFilter
	// asciiWords holds the ASCII keys of words: a first filter of the
	// ASCII words of a text, cheaper than a hash of their folded form.
	asciiWords asciiWordFilter
	// asciiUsers likewise holds the ASCII usernames. userLens holds, for
	// each first byte of a username, a bit per length (63 standing for
	// longer), for the other words.
	asciiUsers asciiWordFilter
	userLens   [256]uint64
	// plainUsernames tells whether some username is made of ASCII letters
	// only; if none is, a word of them is no username.
	plainUsernames bool
}

func lenBit(n int) uint64 { return 1 << min(n, 63) }

type nameWord struct {
	startsName bool   // first word of some full name
	partToken  string // token when matched alone as a name part; "" if not a part
}

// gluedName is a name in a script written without spaces, and its token.
type gluedName struct{ name, token string }

func (ri *rosterIndex) empty() bool {
	return len(ri.words) == 0 && len(ri.usernames) == 0 && len(ri.glued) == 0
}

// minGluedRunes is the shortest name part found inside a run of
// characters: one Han character or Hangul syllable alone is too often a
// word.
const minGluedRunes = 2

// isGluedScript reports whether r belongs to a script whose names are
// written glued to the text around them.
func isGluedScript(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// allGlued reports whether w is non-empty and written in such scripts only.
func allGlued(w string) bool {
	for _, r := range w {
		if !isGluedScript(r) {
			return false
		}
	}
	return w != ""
}

// addGlued indexes name (in a script without spaces) with its token.
func (ri *rosterIndex) addGlued(name, tok string, merge func(old, tok string) string) {
	if utf8.RuneCountInString(name) < minGluedRunes {
		return
	}
	if ri.glued == nil {
		ri.glued = make(map[rune][]gluedName)
	}
	r, _ := utf8.DecodeRuneInString(name)
	list := ri.glued[r]
	for i := range list {
		if list[i].name == name {
			list[i].token = merge(list[i].token, tok)
			return
		}
	}
	list = append(list, gluedName{name, tok})
	slices.SortStableFunc(list, func(x, y gluedName) int { return cmp.Compare(len(y.name), len(x.name)) })
	ri.glued[r] = list
}

// buildRosterIndex indexes the names and usernames of roster; token
// normalises a person's token.
func buildRosterIndex(roster []Person, token func(string) string) rosterIndex {
	ri := rosterIndex{
		words:     make(map[string]nameWord, len(roster)/4), // name parts repeat a lot
		fullNames: make(map[string]string, len(roster)),
		usernames: make(map[string]struct{}, len(roster)),
	}
	generic := genericTokens[FindingPerson]
	merge := func(old, tok string) string {
		if old == "" || old == tok {
			return tok
		}
		return generic // ambiguous: do not attribute the mention to either
	}
	var words []string
	var key []byte
	for _, p := range roster {
		tok := token(p.Token)
		words = words[:0]
		for i := 0; ; {
			a, b := nextWord(p.Name, i)
			if a < 0 {
				break
			}
			words = append(words, string(appendFolded(nil, p.Name[a:b])))
			i = b
		}
		if n := len(words); n > 0 && n <= maxNameWords {
			ri.maxWords = max(ri.maxWords, n)
			key = key[:0]
			for i, w := range words {
				if i > 0 {
					key = append(key, ' ')
				}
				key = append(key, w...)
			}
			ri.fullNames[string(key)] = merge(ri.fullNames[string(key)], tok)
			w := ri.words[words[0]]
			w.startsName = true
			ri.words[words[0]] = w
		}
		if n := len(words); n > 0 && n <= maxNameWords {
			if whole := strings.Join(words, ""); allGlued(whole) {
				ri.addGlued(whole, tok, merge)
				for _, part := range words {
					if n > 1 {
						ri.addGlued(part, tok, merge)
					}
				}
			}
		}
		for _, part := range words {
			if utf8.RuneCountInString(part) < minNamePart {
				continue
			}
			w := ri.words[part]
			w.partToken = merge(w.partToken, tok)
			ri.words[part] = w
		}
		for _, u := range p.Usernames {
			u = strings.ToLower(strings.Trim(strings.TrimSpace(u), ".-"))
			if utf8.RuneCountInString(u) >= minUsername {
				ri.usernames[u] = struct{}{}
			}
		}
	}
	ri.wordFilter = newKeyFilter(len(ri.words))
	ri.asciiWords = newASCIIWordFilter(len(ri.words))
	for w := range ri.words {
		ri.wordFilter.add(hashBytes(w))
		if w != "" && isASCII(w) { // "" from a word of combining marks
			ri.asciiWords.add(w)
		}
	}
	ri.userFilter = newKeyFilter(len(ri.usernames))
	ri.asciiUsers = newASCIIWordFilter(len(ri.usernames))
	for u := range ri.usernames {
		ri.userFilter.add(hashBytes(u))
		if isASCII(u) {
			ri.asciiUsers.add(u)
		}
		ri.plainUsernames = ri.plainUsernames || isASCIILetters(u)
		ri.userLens[u[0]] |= lenBit(len(u))
		if !isASCII(u) {
			ri.userLens[u[0]] = ^uint64(0) // lower-casing may change lengths
		}
	}
	return ri
}

func (ri *rosterIndex) find(ix *textIndex, dst []match) []match {
	if len(ri.words) > 0 || len(ri.glued) > 0 {
		dst = ri.findNames(ix, dst)
	}
	if len(ri.usernames) > 0 {
		dst = ri.findUsernames(ix, dst)
	}
	return dst
}

// lookupWord returns the index entry of a text word; ascii tells whether
// it is ASCII.
func (ri *rosterIndex) lookupWord(word string, ascii bool, scratch []byte) (nameWord, []byte) {
	if ascii {
		if !ri.asciiWords.mayContainAt(word, 0, len(word)) || !ri.wordFilter.mayContain(hashLowerASCII(word)) {
			return nameWord{}, scratch
		}
		if isFolded(word) {
			return ri.words[word], scratch
		}
	}
	scratch = appendFolded(scratch[:0], word)
	if !ri.wordFilter.mayContain(hashBytes(scratch)) {
		return nameWord{}, scratch
	}
	return ri.words[string(scratch)], scratch
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (ri *rosterIndex) findNames(ix *textIndex, dst []match) []match {
	s := ix.s
	var buf [scratchKeyBytes]byte
	scratch := buf[:0]
	for i := 0; ; {
		var a, b int
		if ix.inWord(i) {
			a, b = ix.nextWord(i) // the rest of the word, as nextWord has it
		} else if a, b = ri.nextCandidate(ix, i); a < 0 {
			return dst
		}
		i = b
		ascii := ix.isASCII(a, b)
		var w nameWord
		w, scratch = ri.lookupWord(s[a:b], ascii, scratch)
		end, tok := -1, ""
		if w.startsName {
			end, tok, scratch = ri.matchFullName(s, a, b, scratch)
			if end >= 0 && commonPhrase(s[a:end]) {
				end = -1 // "will hunt" in "I will hunt for it"
			}
		}
		if end < 0 && w.partToken != "" && partAlone(s, a, b) {
			end, tok = b, w.partToken
		}
		if end < 0 {
			if len(ri.glued) > 0 && !ascii {
				dst = ri.findGlued(s, a, b, dst)
			}
			continue
		}
		end = skipPossessive(s, end)
		dst = append(dst, match{start: a, end: end, typ: FindingPerson, token: tok, rank: rankPerson})
		i = end
	}
}

// nextCandidate returns the first word at or after i (not inside a word)
// that may be a name or part of one: one with a non-ASCII rune, or an
// ASCII one that passes asciiWords. It skips the others, most words of a
// text, which findNames would look up in vain.
func (ri *rosterIndex) nextCandidate(ix *textIndex, i int) (a, b int) {
	s, f := ix.s, &ri.asciiWords
	for k := i >> 6; k<<6 < len(s); k++ {
		// The first and last bytes of the words in block k; a word that
		// goes on into the next block has no last byte here, and one that
		// came from the previous block no first byte.
		w, prev, next := ix.word[k], uint64(0), uint64(0)
		if k > 0 {
			prev = ix.word[k-1] >> 63
		}
		if k+1 < len(ix.word) {
			next = ix.word[k+1] << 63
		}
		starts, ends := w&^(w<<1|prev), w&^(w>>1|next)
		if w&prev != 0 {
			ends &= ends - 1
		}
		if k == i>>6 {
			starts &^= 1<<(uint(i)&63) - 1
			ends &^= 1<<(uint(i)&63) - 1
		}
		for ; starts != 0; starts &= starts - 1 {
			a = k<<6 + bits.TrailingZeros64(starts)
			if ends == 0 {
				b = nextClear(ix.word, a, len(s))
			} else {
				b = k<<6 + bits.TrailingZeros64(ends) + 1
				ends &= ends - 1
			}
			if !ix.isASCII(a, b) {
				return a, b
			}
			// f.mayContainAt(s, a, b), inlined.
			var x uint64
			if a+8 <= len(s) {
				x = load64(s, a)
			} else {
				x = loadPrefix(s[a:b])
			}
			if f.has(x, b-a) {
				return a, b
			}
		}
	}
	return -1, -1
}

// partAlone reports whether the roster name part s[a:b], found without
// the rest of its name, is a mention of the person: capitalised ("Maria"),
// in a script without case ("شرما"), or in lower case ("maria") when it is
// no common word and not glued to a handle, path or address
// ("olivia_h", "/maria").
func partAlone(s string, a, b int) bool {
	r, _ := runeAt(s, a)
	if unicode.IsUpper(r) || unicode.IsTitle(r) {
		return true
	}
	if !unicode.IsLower(r) {
		return unicode.IsLetter(r)
	}
	for _, r := range s[a:b] {
		if unicode.IsUpper(r) || unicode.IsDigit(r) {
			return false // "iPhone", "maria2"
		}
	}
	if p, _ := runeBefore(s, a); strings.ContainsRune("_@/#\\.", p) && p != utf8.RuneError {
		return false
	}
	if n, _ := runeAt(s, b); n == '_' || n == '@' || n == '/' {
		return false
	} else if n == '.' {
		if n2, _ := runeAt(s, b+1); isWordRune(n2) {
			return false // "maria.lopez", "olivia.com"
		}
	}
	var buf [scratchKeyBytes]byte
	return !commonWords[string(appendFolded(buf[:0], s[a:b]))]
}

// commonPhrase reports whether the full name found in phrase is in lower
// case and made of common words only, so most likely not a name.
func commonPhrase(phrase string) bool {
	var buf [scratchKeyBytes]byte
	for i := 0; ; {
		a, b := nextWord(phrase, i)
		if a < 0 {
			return true
		}
		if r, _ := runeAt(phrase, a); !unicode.IsLower(r) || !commonWords[string(appendFolded(buf[:0], phrase[a:b]))] {
			return false
		}
		i = b
	}
}

// findGlued appends the roster names found inside the word s[a:b] that
// are written in scripts without spaces.
func (ri *rosterIndex) findGlued(s string, a, b int, dst []match) []match {
	for p := a; p < b; {
		r, n := utf8.DecodeRuneInString(s[p:b])
		found := false
		for _, g := range ri.glued[r] {
			if strings.HasPrefix(s[p:b], g.name) {
				end := skipPossessive(s, p+len(g.name))
				dst = append(dst, match{start: p, end: end, typ: FindingPerson, token: g.token, rank: rankPerson})
				p, found = p+len(g.name), true
				break
			}
		}
		if !found {
			p += n
		}
	}
	return dst
}

// matchFullName tries the full names that start with the word s[a:b] and
// returns the end and token of the longest one present, or -1.
func (ri *rosterIndex) matchFullName(s string, a, b int, scratch []byte) (int, string, []byte) {
	scratch = appendFolded(scratch[:0], s[a:b])
	end, tok := -1, ""
	if t, ok := ri.fullNames[string(scratch)]; ok {
		end, tok = b, t
	}
	for n := 1; n < ri.maxWords; n++ {
		na, nb := nextWord(s, b)
		if na < 0 || !nameGap(s[b:na]) {
			break
		}
		scratch = append(scratch, ' ')
		scratch = appendFolded(scratch, s[na:nb])
		if t, ok := ri.fullNames[string(scratch)]; ok {
			end, tok = nb, t
		}
		b = nb
	}
	return end, tok, scratch
}

// nameGap reports whether gap can separate the words of one name.
func nameGap(gap string) bool {
	if len(gap) == 0 || len(gap) > maxNameWordGap {
		return false
	}
	for i := 0; i < len(gap); i++ {
		switch gap[i] {
		case ' ', '-', '\'', '.':
		default:
			if !strings.HasPrefix(gap[i:], "’") {
				return false
			}
			i += len("’") - 1
		}
	}
	return true
}

// skipPossessive extends a name ending at end over "'s", "’s" or a bare
// apostrophe after a final s ("James'").
func skipPossessive(s string, end int) int {
	for _, suffix := range []string{"'s", "’s", "'S", "’S"} {
		if strings.HasPrefix(s[end:], suffix) {
			if r, _ := runeAt(s, end+len(suffix)); !isWordRune(r) || end+len(suffix) == len(s) {
				return end + len(suffix)
			}
		}
	}
	if end > 0 && s[end-1]|0x20 == 's' && end < len(s) && s[end] == '\'' {
		if r, _ := runeAt(s, end+1); !isWordRune(r) || end+1 == len(s) {
			return end + 1
		}
	}
	return end
}

func (ri *rosterIndex) findUsernames(ix *textIndex, dst []match) []match {
	s := ix.s
	var buf [scratchKeyBytes]byte
	notPlain := ix.cursor(notPlainUsers)
	for i := 0; ; {
		// A maximal run of username runes; without plain usernames, one
		// with more than ASCII letters in it.
		var a, b int
		if ri.plainUsernames {
			a, b = ix.nextUsernameRun(i)
		} else {
			a, b = notPlain.nextUsernameRun(i)
		}
		if a < 0 {
			return dst
		}
		i = b
		x, y := a, b
		for x < y && (s[x] == '.' || s[x] == '-') {
			x++
		}
		for y > x && (s[y-1] == '.' || s[y-1] == '-') {
			y--
		}
		if !ri.plainUsernames && ix.isASCII(x, y) && nextSet(ix.digit, x, y) >= y && nextClear(ix.word, x, y) >= y {
			continue // letters only, as "end." at the end of a sentence
		}
		if ri.isUsername(s[x:y], ix.isASCII(x, y), buf[:0]) {
			dst = append(dst, match{start: x, end: y, typ: FindingUsername, token: "[USERNAME]", rank: rankUsername})
			continue
		}
		// "see mlopez.Thanks": try the dot-separated pieces too.
		if strings.IndexByte(s[x:y], '.') < 0 {
			continue
		}
		for p := x; p < y; {
			q := strings.IndexByte(s[p:y], '.')
			if q < 0 {
				q = y - p
			}
			if ri.isUsername(s[p:p+q], ix.isASCII(p, p+q), buf[:0]) {
				dst = append(dst, match{start: p, end: p + q, typ: FindingUsername, token: "[USERNAME]", rank: rankUsername})
			}
			p += q + 1
		}
	}
}

func (ri *rosterIndex) isUsername(w string, ascii bool, scratch []byte) bool {
	if len(w) < minUsername {
		return false
	}
	if ascii {
		if !ri.asciiUsers.mayContainAt(w, 0, len(w)) || !ri.userFilter.mayContain(hashLowerASCII(w)) {
			return false
		}
		if isFolded(w) {
			_, ok := ri.usernames[w]
			return ok
		}
	} else if c := w[0]; c < utf8.RuneSelf && ri.userLens[lowerASCII(c)]&lenBit(len(w)) == 0 {
		return false
	}
	for _, r := range w {
		scratch = utf8.AppendRune(scratch, unicode.ToLower(r))
	}
	if !ri.userFilter.mayContain(hashBytes(scratch)) {
		return false
	}
	_, ok := ri.usernames[string(scratch)]
	return ok
}

// commonWords are English words that are also given names or surnames
// ("will", "grace", "hunt"), with the commonest function words: a roster
// name part in lower case that is one of them is read as the word.
var commonWords = wordSet(`
	the and for are but not you all any can had her was one our out day get has him his how man new now
	old see two way who boy did its let put say she too use that with have this from they will would
	there their what about which when make like time just know take into year your good some could them
	than then look only come over think also back after work first well even want because these give
	most very may might must shall should can't won't don't been being were here where why more much
	many such each other another every both few less least own same long little great high small large
	next early young important public bad able
	will may mark grace hope faith joy bill frank rose rob pat sue art max jack ray dean drew gene glen
	grant chase rich guy earl lance miles reed rod skip wade cliff dale heath jay carol amber ruby jade
	penny summer autumn winter spring dawn hazel holly ivy iris lily daisy violet poppy sky star storm
	rain snow river stone rock brook forest page price case cash bond banks burns mills wells power major
	noble bishop judge knight sterling street wolf fox crane swan finch lamb bird buck hart bass salt
	march april june august sunday monday victor don jean sunny summer honey angel bliss cherry ginger
	brown white black green gray grey gold silver wood woods hill hills field fields ford lane hall
	bush rice moss cook baker miller smith turner carter fisher hunter archer mason porter parker taylor
	walker little short strong sharp best love west north south east bell park king hunt young son
	sun song wing tan chin sang long hung lee van von del della der den ten ter dos das
	nick mike bob sam tim tom pete patty peg dot norm sandy rusty dusty buddy randy hardy happy
	constance prudence patience charity trinity destiny harmony melody serenity unity liberty justice
	will bill hope may rose mark
	person email token name names user team group admin test student people course class
	`)
