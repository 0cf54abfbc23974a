package deidentify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The EMAIL detector finds addresses written plainly ("ana@example.com"),
// with spaces around the "@" ("ana @ example.com") and obfuscated
// ("ana at example dot com", "ana [at] example [dot] com", "(at)", "(dot)",
// any case). The HANDLE detector finds @mentions that are not part of one.

// Bounds that keep the work per candidate constant, so that scanning stays
// linear in the text whatever it contains.
const (
	maxSepSpaces = 2   // spaces around an "@" or an obfuscated separator
	maxLocalLen  = 128 // bytes of a local part, obfuscated dots included (RFC 5321: 64)
	maxDomainLen = 300 // bytes of a domain, obfuscated dots included (DNS: 253)
)

// webmailDomains are providers whose name after a plain " at " makes an
// address likely even without an obfuscated dot ("ana at gmail.com").
var webmailDomains = map[string]bool{
	"gmail": true, "googlemail": true, "yahoo": true, "hotmail": true, "outlook": true,
	"live": true, "icloud": true, "me": true, "aol": true, "proton": true,
	"protonmail": true, "gmx": true, "mail": true, "yandex": true, "qq": true, "163": true,
}

type atKind uint8

const (
	atSymbol  atKind = iota // "@"
	atBracket               // "[at]", "(at)", "{at}", "<at>"
	atWord                  // " at "
)

func isLocalChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isLabelChar(c byte) bool { return isAlnum(c) || c == '-' }

func skipSpaces(s string, i, limit int) int {
	for n := 0; i < len(s) && n < limit && (s[i] == ' ' || s[i] == '\t'); n++ {
		i++
	}
	return i
}

func skipSpacesBack(s string, i, limit int) int {
	for n := 0; i > 0 && n < limit && (s[i-1] == ' ' || s[i-1] == '\t'); n++ {
		i--
	}
	return i
}

// bracketWord reports whether s[i:] starts with word in brackets, e.g.
// "[at]" or "(dot)".
func bracketWord(s string, i int, word string) bool {
	if i >= len(s) || i+len(word)+2 > len(s) {
		return false
	}
	var closer byte
	switch s[i] {
	case '[':
		closer = ']'
	case '(':
		closer = ')'
	case '{':
		closer = '}'
	case '<':
		closer = '>'
	default:
		return false
	}
	return hasPrefixFold(s, i+1, word) && s[i+1+len(word)] == closer
}

// atSeparator reports whether an at-separator starts at i and returns its end.
func atSeparator(s string, i int) (end int, kind atKind, ok bool) {
	switch c := s[i]; {
	case c == '@':
		return i + 1, atSymbol, true
	case bracketWord(s, i, "at"):
		return i + 4, atBracket, true
	case c|0x20 == 'a' && i > 0 && s[i-1] == ' ' && i+2 < len(s) && s[i+1]|0x20 == 't' && s[i+2] == ' ':
		return i + 2, atWord, true
	}
	return 0, 0, false
}

// dotSeparator reports whether an obfuscated dot (" dot ", "[dot]", "(dot)",
// with optional spaces) starts at i and is followed by a label, returning
// where the label starts.
func dotSeparator(s string, i int) (int, bool) {
	j := skipSpaces(s, i, maxSepSpaces)
	var e int
	switch {
	case bracketWord(s, j, "dot"):
		e = skipSpaces(s, j+5, maxSepSpaces)
	case j > i && hasPrefixFold(s, j, "dot") && j+3 < len(s) && s[j+3] == ' ':
		e = skipSpaces(s, j+3, maxSepSpaces)
	default:
		return 0, false
	}
	return e, e < len(s) && isAlnum(s[e])
}

// dotSeparatorBefore is dotSeparator backwards: whether an obfuscated dot
// ends at i and is preceded by a local-part character, returning where the
// separator (with its spaces) starts.
func dotSeparatorBefore(s string, i int) (int, bool) {
	j := skipSpacesBack(s, i, maxSepSpaces)
	var b int
	switch {
	case j >= 5 && bracketWord(s, j-5, "dot"):
		b = skipSpacesBack(s, j-5, maxSepSpaces)
	case j < i && j >= 4 && hasPrefixFold(s, j-3, "dot") && s[j-4] == ' ':
		b = skipSpacesBack(s, j-3, maxSepSpaces)
		if b == j-3 {
			return 0, false
		}
	default:
		return 0, false
	}
	return b, b > 0 && isLocalChar(s[b-1])
}

// domain is the result of parsing a host name.
type domain struct {
	end       int  // end of the last label
	labels    int  // number of labels
	tld       int  // start of the last label
	obfuscate bool // some separator was an obfuscated dot
}

// parseDomain parses labels separated by "." (and by obfuscated dots if
// obf) starting at i.
func parseDomain(s string, i int, obf bool) domain {
	var d domain
	p, pendingObf := i, false
	for p-i < maxDomainLen {
		q := p
		for q < len(s) {
			if isLabelChar(s[q]) {
				q++
			} else if n := letterRuneLen(s, q); n > 0 {
				q += n // internationalised label ("zürich-lernen", "例え")
			} else {
				break
			}
		}
		for q > p && s[q-1] == '-' {
			q--
		}
		if q == p || !isAlnum(s[p]) && letterRuneLen(s, p) == 0 {
			return d
		}
		d.labels++
		d.tld, d.end = p, q
		d.obfuscate = d.obfuscate || pendingObf
		if q+1 < len(s) && s[q] == '.' && isAlnum(s[q+1]) {
			p, pendingObf = q+1, false
			continue
		}
		if obf {
			if e, ok := dotSeparator(s, q); ok {
				p, pendingObf = e, true
				continue
			}
		}
		return d
	}
	return d
}

// isTLD reports whether s looks like a top-level domain: 2 to 24 letters.
func isTLD(s string) bool {
	if len(s) < 2 || len(s) > 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return true
}

// parseLocal parses a local part backwards from end, following obfuscated
// dots ("ana dot lopez at ..."), and returns its start (end if empty).
func parseLocal(s string, end int) int {
	start, p := end, end
	for end-p < maxLocalLen {
		q := p
		for q > 0 && end-q < maxLocalLen {
			if isLocalChar(s[q-1]) {
				q--
			} else if n := letterRuneLenBefore(s, q); n > 0 {
				q -= n // "françois.m@..."
			} else {
				break
			}
		}
		if q == p {
			break
		}
		start = q
		b, ok := dotSeparatorBefore(s, q)
		if !ok {
			break
		}
		p = b
	}
	for start < end && s[start] == '.' {
		start++
	}
	return start
}

// atFinder finds where an at-separator may start: at an "@", at a bracket
// ("[at]", "(at)", "{at}", "<at>") and at the word "at", in any case. Most
// text has few of them, and the finders skip the rest quickly.
type atFinder struct {
	ix                 *textIndex
	bytes              [5]byteFinder
	bytesFrom, bytesAt int // the first byte found from bytesFrom, or len(s)
	wordFrom, at       int // the word "at" found from wordFrom, or len(s)
}

func (f *atFinder) init(ix *textIndex) {
	f.ix = ix
	for k, c := range []byte("@[({<") {
		f.bytes[k] = newByteFinder(ix.s, c)
	}
	f.bytesFrom, f.bytesAt = 1, 0
	f.wordFrom, f.at = 1, 0
}

// next returns the first position at or after i where an at-separator may
// start, or len(s).
func (f *atFinder) next(i int) int {
	if i < f.bytesFrom || i > f.bytesAt {
		f.bytesFrom, f.bytesAt = i, f.bytes[0].next(i)
		for k := 1; k < len(f.bytes); k++ {
			f.bytesAt = min(f.bytesAt, f.bytes[k].next(i))
		}
	}
	p := f.bytesAt
	if i < f.wordFrom || i > f.at {
		f.wordFrom, f.at = i, f.ix.nextAtWord(i)
	}
	return min(p, f.at)
}

func findEmails(ix *textIndex, dst []match) []match {
	s := ix.s
	var at atFinder
	at.init(ix)
	for i := 0; i < len(s); i++ {
		if i = at.next(i); i >= len(s) {
			break
		}
		sepEnd, kind, ok := atSeparator(s, i)
		if !ok {
			continue
		}
		localEnd := skipSpacesBack(s, i, maxSepSpaces)
		domStart := skipSpaces(s, sepEnd, maxSepSpaces)
		spaced := localEnd < i || domStart > sepEnd
		if kind == atWord && (!spaced || localEnd == i || domStart == sepEnd) {
			continue
		}
		start := parseLocal(s, localEnd)
		if start == localEnd {
			continue
		}
		d := parseDomain(s, domStart, true)
		if d.labels < 2 || !isTLD(s[d.tld:d.end]) {
			continue
		}
		if !emailPlausible(s, kind, spaced, start, localEnd, domStart, d) {
			continue
		}
		dst = append(dst, match{start: start, end: d.end, typ: FindingEmail, token: "[EMAIL]", rank: rankEmail})
		i = d.end - 1
	}
	return dst
}

// emailPlausible applies the stricter rules that keep ordinary prose ("look
// at example.com", "ping me @ noon.today") from reading as an address.
func emailPlausible(s string, kind atKind, spaced bool, start, localEnd, domStart int, d domain) bool {
	tld := s[d.tld:d.end]
	switch {
	case kind == atBracket:
		return true
	case kind == atSymbol && !spaced:
		return true
	case kind == atSymbol:
		return d.obfuscate || isKnownTLD(tld)
	}
	// A plain " at ".
	if !isKnownTLD(tld) {
		return false
	}
	if d.obfuscate {
		return true
	}
	for _, c := range []byte(s[start:localEnd]) {
		if !isAlpha(c) {
			return true // "ana.lopez at example.com"
		}
	}
	first := domStart
	for first < d.end && isLabelChar(s[first]) {
		first++
	}
	var buf [16]byte
	if n := first - domStart; n <= len(buf) {
		for j := range n {
			buf[j] = lowerASCII(s[domStart+j])
		}
		return webmailDomains[string(buf[:n])]
	}
	return false
}

// findHandles finds @mentions: "@" at the start of a word followed by a
// name with at least one letter. An "@" inside an address is preceded by
// the local part and so never starts a handle.
func findHandles(ix *textIndex, dst []match) []match {
	s := ix.s
	code := newCodeState(s)
	for i := 0; i < len(s); i++ {
		j := strings.IndexByte(s[i:], '@')
		if j < 0 {
			break
		}
		j += i
		i = j
		if j > 0 {
			if r, _ := runeBefore(s, j); isWordRune(r) || r < 0x80 && (isLocalChar(byte(r)) || r == '@' || byte(r) == tokenEnd) {
				continue
			}
		}
		k, letters := j+1, 0
		for k < len(s) {
			r, n := runeAt(s, k)
			switch {
			case r == '_' || isWordRune(r):
				if !(r >= '0' && r <= '9') && r != '_' {
					letters++
				}
			case (r == '.' || r == '-') && k+1 < len(s) && isAlnum(s[k+1]):
			default:
				n = 0
			}
			if n == 0 {
				break
			}
			k += n
		}
		if letters > 0 && k-j <= 64 && !code.annotation(j, k) {
			dst = append(dst, match{start: j, end: k, typ: FindingHandle, token: "[HANDLE]", rank: rankHandle})
			i = k - 1
		}
	}
	return dst
}

// notHandles are @words that name no person: group mentions, and the
// annotations and decorators of common languages.
var notHandles = wordSet("everyone here channel all " +
	"override test beforeeach aftereach beforeall afterall before after deprecated suppresswarnings functionalinterface " +
	"autowired component service repository controller restcontroller bean entity table column id transactional " +
	"getmapping postmapping requestmapping pathvariable requestbody param returns throws author since see " +
	"staticmethod classmethod property dataclass abstractmethod cache lru_cache wraps contextmanager " +
	"total_ordering overload")

// codeState tracks, in one forward pass, whether a position is inside a
// code block: the @words there are annotations and decorators, not people.
// Positions must be asked in increasing order, which keeps it linear.
type codeState struct {
	s            string
	pos          int // s[:pos] is accounted for
	fences       int // "```" fences in s[:pos]
	lastFence    int // start of the last fence in s, -1 if none, -2 until needed
	lineTicks    int // single backticks on the current line before pos
	ticks, lines byteFinder
}

func newCodeState(s string) *codeState {
	return &codeState{s: s, lastFence: -2, ticks: newByteFinder(s, '`'), lines: newByteFinder(s, '\n')}
}

// inCode reports whether s[j:k] lies inside a closed code block: after an
// odd number of fences with another fence to come, or after an odd number
// of backticks on its line with one more before the line ends. An
// unclosed fence or a stray backtick does not stop the scrubbing.
func (c *codeState) inCode(j, k int) bool {
	s := c.s
	for c.pos < j {
		// Only backticks and newlines change the state.
		if p := min(c.ticks.next(c.pos), c.lines.next(c.pos)); p < j {
			c.pos = p
		} else {
			c.pos = j
			break
		}
		switch {
		case strings.HasPrefix(s[c.pos:], "```"):
			c.fences++
			c.pos += 3
			continue
		case s[c.pos] == '\n':
			c.lineTicks = 0
		case s[c.pos] == '`':
			c.lineTicks++
		}
		c.pos++
	}
	if c.fences%2 == 1 {
		if c.lastFence == -2 {
			c.lastFence = strings.LastIndex(s, "```")
		}
		if c.lastFence >= k {
			return true
		}
	}
	if c.lineTicks%2 == 0 {
		return false
	}
	return c.ticks.next(k) < c.lines.next(k)
}

// annotation reports whether the @word at s[j:k] is code rather than a
// mention: a known annotation or decorator, a decorator call
// ("@app.route(", "@dataclass(frozen=True)"), or anything inside a closed
// code block.
func (c *codeState) annotation(j, k int) bool {
	if notHandles[strings.ToLower(c.s[j+1:k])] {
		return true
	}
	if k < len(c.s) && c.s[k] == '(' {
		return true
	}
	return c.inCode(j, k)
}

// letterRuneLen returns the length of the non-ASCII letter or digit rune at
// s[i], or 0: internationalised addresses use them in both parts.
func letterRuneLen(s string, i int) int {
	if i >= len(s) || s[i] < utf8.RuneSelf {
		return 0
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError || !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
		return 0
	}
	return n
}

// letterRuneLenBefore is letterRuneLen for the rune ending at s[i].
func letterRuneLenBefore(s string, i int) int {
	if i <= 0 || s[i-1] < utf8.RuneSelf {
		return 0
	}
	r, n := utf8.DecodeLastRuneInString(s[:i])
	if r == utf8.RuneError || !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
		return 0
	}
	return n
}
