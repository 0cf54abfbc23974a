package deidentify

import (
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
	maxWords  int
	// wordFilter and userFilter hold the hashes of the keys of words and
	// usernames.
	wordFilter, userFilter keyFilter
}

type nameWord struct {
	startsName bool   // first word of some full name
	partToken  string // token when matched alone as a name part; "" if not a part
}

func (ri *rosterIndex) empty() bool { return len(ri.words) == 0 && len(ri.usernames) == 0 }

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
	for w := range ri.words {
		ri.wordFilter.add(hashBytes(w))
	}
	ri.userFilter = newKeyFilter(len(ri.usernames))
	for u := range ri.usernames {
		ri.userFilter.add(hashBytes(u))
	}
	return ri
}

func (ri *rosterIndex) find(s string, dst []match) []match {
	if len(ri.words) > 0 {
		dst = ri.findNames(s, dst)
	}
	if len(ri.usernames) > 0 {
		dst = ri.findUsernames(s, dst)
	}
	return dst
}

// lookupWord returns the index entry of a text word.
func (ri *rosterIndex) lookupWord(word string, scratch []byte) (nameWord, []byte) {
	if isASCII(word) {
		if !ri.wordFilter.mayContain(hashLowerASCII(word)) {
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

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (ri *rosterIndex) findNames(s string, dst []match) []match {
	var buf [scratchKeyBytes]byte
	scratch := buf[:0]
	for i := 0; ; {
		a, b := nextWord(s, i)
		if a < 0 {
			return dst
		}
		i = b
		var w nameWord
		w, scratch = ri.lookupWord(s[a:b], scratch)
		if !w.startsName && w.partToken == "" {
			continue
		}
		end, tok := -1, ""
		if w.startsName {
			end, tok, scratch = ri.matchFullName(s, a, b, scratch)
		}
		if end < 0 && w.partToken != "" {
			if r, _ := runeAt(s, a); unicode.IsUpper(r) || unicode.IsTitle(r) {
				end, tok = b, w.partToken
			}
		}
		if end < 0 {
			continue
		}
		end = skipPossessive(s, end)
		dst = append(dst, match{start: a, end: end, typ: FindingPerson, token: tok, rank: rankPerson})
		i = end
	}
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

// isUsernameRune reports whether r can be part of a username.
func isUsernameRune(r rune) bool {
	return r == '_' || r == '.' || r == '-' || isWordRune(r)
}

func (ri *rosterIndex) findUsernames(s string, dst []match) []match {
	var buf [scratchKeyBytes]byte
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf && !asciiUsername[c] {
			i++
			continue
		}
		if r, n := runeAt(s, i); !isUsernameRune(r) {
			i += n
			continue
		}
		a := i
		for i < len(s) {
			if c := s[i]; c < utf8.RuneSelf {
				if !asciiUsername[c] {
					break
				}
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if !isUsernameRune(r) {
				break
			}
			i += n
		}
		x, y := a, i
		for x < y && (s[x] == '.' || s[x] == '-') {
			x++
		}
		for y > x && (s[y-1] == '.' || s[y-1] == '-') {
			y--
		}
		if ri.isUsername(s[x:y], buf[:0]) {
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
			if ri.isUsername(s[p:p+q], buf[:0]) {
				dst = append(dst, match{start: p, end: p + q, typ: FindingUsername, token: "[USERNAME]", rank: rankUsername})
			}
			p += q + 1
		}
	}
	return dst
}

func (ri *rosterIndex) isUsername(w string, scratch []byte) bool {
	if len(w) < minUsername {
		return false
	}
	if isASCII(w) {
		if !ri.userFilter.mayContain(hashLowerASCII(w)) {
			return false
		}
		if isFolded(w) {
			_, ok := ri.usernames[w]
			return ok
		}
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
