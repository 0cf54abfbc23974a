package deidentify

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// The types of Finding. Each is also the text of its replacement token, in
// brackets: an email address becomes "[EMAIL]".
const (
	FindingEmail    = "EMAIL"
	FindingPhone    = "PHONE"
	FindingURL      = "URL"
	FindingIP       = "IP"
	FindingPerson   = "PERSON"
	FindingUsername = "USERNAME"
	FindingHandle   = "HANDLE"
	// FindingStreetAddress is a house number and street, with any postcode
	// and city that follow.
	FindingStreetAddress = "STREET_ADDRESS"
	// FindingPostalCode and FindingLocation are a roster person's own
	// postal code and city.
	FindingPostalCode = "POSTAL_CODE"
	FindingLocation   = "LOCATION"
	// FindingCreditCard is a payment card number that passes the Luhn check.
	FindingCreditCard = "CREDIT_CARD"
	// FindingIBAN is an international bank account number with valid check
	// digits.
	FindingIBAN = "IBAN"
	// FindingNationalID is a US Social Security number, a UK National
	// Insurance number or a Brazilian CPF.
	FindingNationalID = "NATIONAL_ID"
	// FindingAge is an age the writer discloses ("I'm 45"); the span is the
	// number with any "years old" or "y/o" after it.
	FindingAge = "AGE"
	// FindingDateOfBirth is a date after a cue such as "born on" or "DOB";
	// the span is the date alone.
	FindingDateOfBirth = "DATE_OF_BIRTH"
)

// Finding is one piece of personal data found in a text: its type (one of
// the Finding* constants) and its byte span [Start, End) in the text given
// to Scrub.
type Finding struct {
	Type       string
	Start, End int
}

// Person is a roster entry: someone enrolled in the course (learner, mentor
// or instructor) whose name and usernames must not appear in exported text.
type Person struct {
	// Name is the person's full name, e.g. "María López".
	Name string
	// Usernames are the person's platform and forum usernames.
	Usernames []string
	// Emails are the person's addresses. The EMAIL detector removes any
	// address, so they need no index of their own.
	Emails []string
	// Cities and PostalCodes are where the person lives: mentions become
	// [LOCATION] and [POSTAL_CODE].
	Cities      []string
	PostalCodes []string
	// Token replaces a mention of the person's name, e.g.
	// "[PERSON l_abc...]" with their pseudonym. Empty means "[PERSON]". A
	// token must be bracketed ("[...]", no other brackets, one line); one
	// that is not is wrapped in brackets, or replaced by "[PERSON]" if it
	// contains brackets.
	Token string
}

// Scrubber removes personal data from free text (forum posts, survey
// answers). Build it once per course with NewScrubber; it is safe for
// concurrent use by multiple goroutines after construction.
type Scrubber struct {
	roster    rosterIndex
	detectors []gatedDetector
	// tokens are the replacement tokens a Scrub output may contain. Scrub
	// never changes them, which together with re-scanning its own output
	// makes it idempotent.
	tokens      map[string]struct{}
	maxTokenLen int
}

// A detector appends the findings of one kind of personal data in the
// indexed text to dst. Detectors only look at the text; the Scrubber merges
// their overlapping results.
type detector func(ix *textIndex, dst []match) []match

// match is a finding with its replacement and a rank that breaks ties
// between findings with the same span (lower wins).
type match struct {
	start, end int
	typ        string
	token      string
	rank       int8
}

// Ranks of the detectors: on equal spans the more specific type wins.
const (
	rankEmail int8 = iota
	rankURL
	rankCard
	rankIBAN
	rankNationalID
	rankIP
	rankPhone
	rankDateOfBirth
	rankAge
	rankHandle
	rankPerson
	rankCuedPerson
	rankUsername
	rankAddress
	rankPlace
)

// genericTokens are the replacements of the non-roster findings.
var genericTokens = map[string]string{
	FindingEmail:    "[EMAIL]",
	FindingPhone:    "[PHONE]",
	FindingURL:      "[URL]",
	FindingIP:       "[IP]",
	FindingPerson:   "[PERSON]",
	FindingUsername: "[USERNAME]",
	FindingHandle:   "[HANDLE]",

	FindingStreetAddress: "[STREET_ADDRESS]",
	FindingPostalCode:    "[POSTAL_CODE]",
	FindingLocation:      "[LOCATION]",
	FindingCreditCard:    "[CREDIT_CARD]",
	FindingIBAN:          "[IBAN]",
	FindingNationalID:    "[NATIONAL_ID]",
	FindingAge:           "[AGE]",
	FindingDateOfBirth:   "[DATE_OF_BIRTH]",
}

// maxPersonToken bounds a roster token's length.
const maxPersonToken = 200

// maxScrubPasses bounds the detection passes of one Scrub. Ordinary text
// needs one pass, or two when it has findings; a third is needed only when
// detectors compete for the same characters (as in "000-0000 0::000",
// where the IP takes the last digit of a rejected phone candidate), which
// happens in noise, not prose.
const maxScrubPasses = 6

// NewScrubber indexes roster (names and usernames of the people in a course)
// and returns a Scrubber that removes them, along with emails, phone
// numbers, URLs, IP addresses and @handles, from text. Building is linear
// in the size of the roster.
func NewScrubber(roster []Person) *Scrubber {
	sc := &Scrubber{tokens: make(map[string]struct{}, len(genericTokens))}
	for _, tok := range genericTokens {
		sc.addToken(tok)
	}
	sc.roster = buildRosterIndex(roster, func(tok string) string {
		tok = normaliseToken(tok)
		sc.addToken(tok)
		return tok
	})
	sc.detectors = []gatedDetector{
		{findEmails, nil},
		{findURLs, nil},
		{findIPs, needsDigits(1)},
		{findPhones, needsDigits(minPhoneDigits)},
		{findHandles, needsAt},
		{findStreetAddresses, needsUpperDigit},
		{findCreditCards, needsDigits(13)},
		{findIBANs, needsLettersDigit},
		{findSSNsAndCPFs, needsDigits(9)},
		{findNINOs, needsLettersDigit},
		{findAges, needsDigits(1)},
		{findDatesOfBirth, needsDigits(1)},
		{findPostalCodes, needsDigits(1)}, // "N9B 3T6" has no longer digit run
		{findCuedNames, needsUpper},
	}
	if !sc.roster.empty() {
		sc.detectors = append(sc.detectors, gatedDetector{sc.roster.find, nil})
	}
	if places := buildPlaceIndex(roster); !places.empty() {
		sc.detectors = append(sc.detectors, gatedDetector{places.find, nil})
	}
	return sc
}

func (sc *Scrubber) addToken(tok string) {
	sc.tokens[tok] = struct{}{}
	sc.maxTokenLen = max(sc.maxTokenLen, len(tok))
}

// normaliseToken makes a roster token safe to protect: bracketed, one line,
// valid UTF-8, with no inner brackets.
func normaliseToken(tok string) string {
	tok = strings.TrimSpace(strings.ToValidUTF8(tok, "\uFFFD"))
	if tok == "" {
		return genericTokens[FindingPerson]
	}
	inner, bracketed := tok, false
	if len(tok) >= 2 && tok[0] == '[' && tok[len(tok)-1] == ']' {
		inner, bracketed = tok[1:len(tok)-1], true
	}
	if inner == "" || len(inner) > maxPersonToken || strings.ContainsAny(inner, "[]\r\n") {
		return genericTokens[FindingPerson]
	}
	if bracketed {
		return tok
	}
	return "[" + inner + "]"
}

// Scrub returns text with every finding replaced by its token ("[EMAIL]",
// "[PHONE]", ..., or the person's Token for a roster name) and the findings,
// sorted, with spans into text. Overlapping findings are merged into one
// covering their union, with the type of the one that starts first (the
// longest, on a tie).
//
// Scrub is idempotent: Scrub(Scrub(x)) returns Scrub(x) unchanged. It
// achieves this by leaving replacement tokens alone and re-scanning its
// output until nothing more is found (replacing text can expose a new
// finding, e.g. an @handle after a username). Invalid UTF-8 is replaced with
// U+FFFD in the output. Text that still yields new findings after several
// passes (only contrived input does) is replaced as a whole by the token of
// its first finding, which bounds the work and keeps Scrub idempotent.
func (sc *Scrubber) Scrub(text string) (string, []Finding) {
	out, findings, _ := sc.scrub(text, maxScrubPasses)
	return out, findings
}

// scrub is Scrub with a pass limit, also returning the passes made.
func (sc *Scrubber) scrub(text string, maxPasses int) (out string, findings []Finding, passes int) {
	s := text
	var fixes []utf8Fix
	if !utf8.ValidString(s) {
		s, fixes = sanitizeUTF8(s)
	}
	st := statePool.Get().(*scrubState)
	defer st.release()
	all := st.all[:0] // in s, sorted, disjoint
	defer func() { st.all = all[:0] }()
	cur := s
	for {
		passes++
		found := sc.detect(cur, st)
		if len(found) == 0 {
			break
		}
		if len(all) > 0 {
			mapToSource(found, all)
		}
		if passes == maxPasses {
			first := found[0]
			if len(all) > 0 && all[0].start < first.start {
				first = all[0]
			}
			tok := genericTokens[first.typ]
			return tok, []Finding{{Type: first.typ, Start: 0, End: len(text)}}, passes
		}
		all = append(all, found...)
		slices.SortFunc(all, func(a, b match) int { return cmp.Compare(a.start, b.start) })
		// Even without the pass limit the loop would end: each pass turns
		// at least one byte outside the tokens into a token.
		cur = replaceSpans(s, all)
	}
	if len(all) == 0 {
		return cur, nil, passes
	}
	findings = make([]Finding, len(all))
	for i, m := range all {
		findings[i] = Finding{Type: m.typ, Start: m.start, End: m.end}
	}
	if fixes != nil {
		remapFindings(findings, fixes)
	}
	return cur, findings, passes
}

// scrubState is the working memory of a Scrub, recycled between calls so
// that scrubbing allocates little more than its result.
type scrubState struct {
	ix         textIndex
	found, cut []match
	all        []match
	prot       []span
}

var statePool = sync.Pool{New: func() any { return new(scrubState) }}

// maxPooledMatches bounds the match buffers a recycled state keeps.
const maxPooledMatches = 1 << 12

func (st *scrubState) release() {
	// Keep nothing of the text: its folded words are personal data.
	st.ix.s = ""
	clear(st.ix.key[:cap(st.ix.key)])
	if len(st.ix.word) > maxPooledIndex || cap(st.found) > maxPooledMatches || cap(st.cut) > maxPooledMatches ||
		cap(st.all) > maxPooledMatches || cap(st.prot) > maxPooledMatches {
		return // a rare huge text must not pin its memory
	}
	statePool.Put(st)
}

// detect runs every detector over s and returns the merged findings outside
// the replacement tokens already in s, sorted by start. They are valid
// until the next call with st.
func (sc *Scrubber) detect(s string, st *scrubState) []match {
	ms := st.found[:0]
	ix := &st.ix
	ix.reset(s)
	for _, d := range sc.detectors {
		if d.needs == nil || d.needs(&ix.traits) {
			ms = d.find(ix, ms)
		}
	}
	st.found = ms[:0]
	if len(ms) == 0 {
		return nil
	}
	if st.prot = sc.protectedSpans(s, st.prot[:0]); len(st.prot) > 0 {
		ms = subtractSpans(s, ms, st.prot, st.cut[:0])
		st.cut = ms[:0]
	}
	return mergeMatches(ms)
}

// span is a byte range [start, end).
type span struct{ start, end int }

// protectedSpans returns the replacement tokens in s: bracketed text equal
// to a token this Scrubber can produce. Tokens contain no inner brackets, so
// the spans found are disjoint and every inserted token is found again.
func (sc *Scrubber) protectedSpans(s string, spans []span) []span {
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '[')
		if j < 0 {
			break
		}
		a := i + j
		k := a + 1
		for k < len(s) && k-a < sc.maxTokenLen && s[k] != ']' && s[k] != '[' && s[k] != '\n' {
			k++
		}
		if k < len(s) && s[k] == ']' {
			if _, ok := sc.tokens[s[a:k+1]]; ok {
				spans = append(spans, span{a, k + 1})
				i = k + 1
				continue
			}
		}
		i = a + 1
	}
	return spans
}

// subtractSpans cuts the protected spans out of the matches, appending
// what is left to out. A match that straddles a token leaves the pieces on
// either side (trimmed of spaces), since those may still hold personal data.
func subtractSpans(s string, ms []match, prot []span, out []match) []match {
	slices.SortFunc(ms, func(a, b match) int { return cmp.Compare(a.start, b.start) })
	lo := 0 // prot[:lo] end before the current match starts
	for _, m := range ms {
		for lo < len(prot) && prot[lo].end <= m.start {
			lo++
		}
		cut := false
		cur := m.start
		for _, p := range prot[lo:] {
			if p.start >= m.end {
				break
			}
			cut = true
			if p.start > cur {
				out = appendPiece(s, out, m, cur, p.start)
			}
			cur = max(cur, p.end)
		}
		switch {
		case !cut:
			out = append(out, m)
		case cur < m.end:
			out = appendPiece(s, out, m, cur, m.end)
		}
	}
	return out
}

func appendPiece(s string, dst []match, m match, start, end int) []match {
	for start < end && isSpaceByte(s[start]) {
		start++
	}
	for end > start && isSpaceByte(s[end-1]) {
		end--
	}
	if start < end {
		m.start, m.end = start, end
		dst = append(dst, m)
	}
	return dst
}

// mergeMatches sorts ms and merges overlapping matches into one covering
// their union, keeping the type and token of the earliest (then longest,
// then best-ranked) one. Adjacent matches stay separate.
func mergeMatches(ms []match) []match {
	if len(ms) == 0 {
		return nil
	}
	slices.SortFunc(ms, func(a, b match) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		if c := cmp.Compare(b.end, a.end); c != 0 {
			return c
		}
		return cmp.Compare(a.rank, b.rank)
	})
	out := ms[:1]
	for _, m := range ms[1:] {
		last := &out[len(out)-1]
		if m.start < last.end {
			last.end = max(last.end, m.end)
			if last.typ == FindingPerson && m.typ == FindingPerson && m.rank < last.rank {
				// A roster name inside a cued one keeps its own token.
				last.token, last.rank = m.token, m.rank
			}
			continue
		}
		out = append(out, m)
	}
	return out
}

// replaceSpans returns s with each match replaced by its token.
func replaceSpans(s string, ms []match) string {
	var sb strings.Builder
	sb.Grow(len(s))
	prev := 0
	for _, m := range ms {
		sb.WriteString(s[prev:m.start])
		sb.WriteString(m.token)
		prev = m.end
	}
	sb.WriteString(s[prev:])
	return sb.String()
}

// mapToSource converts matches found in replaceSpans(s, done) back to spans
// of s. The matches lie outside the tokens, so each position shifts by the
// growth of the tokens before it.
func mapToSource(found, done []match) {
	k, delta := 0, 0 // done[:k] end at or before the current position
	outEnd := func(k int) int { return done[k].start + delta + len(done[k].token) }
	shift := func(pos int) int {
		for k < len(done) && outEnd(k) <= pos {
			delta += len(done[k].token) - (done[k].end - done[k].start)
			k++
		}
		return pos - delta
	}
	for i := range found {
		found[i].start = shift(found[i].start)
		found[i].end = shift(found[i].end)
	}
}

// utf8Fix records that the invalid bytes src[start:end] became one U+FFFD
// at position at of the sanitized text.
type utf8Fix struct{ at, start, end int }

// sanitizeUTF8 replaces each run of invalid bytes with U+FFFD, like
// strings.ToValidUTF8, and records where.
func sanitizeUTF8(s string) (string, []utf8Fix) {
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	var fixes []utf8Fix
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || size != 1 {
			sb.WriteString(s[i : i+size])
			i += size
			continue
		}
		j := i + 1
		for j < len(s) {
			if r, size := utf8.DecodeRuneInString(s[j:]); r != utf8.RuneError || size != 1 {
				break
			}
			j++
		}
		fixes = append(fixes, utf8Fix{at: sb.Len(), start: i, end: j})
		sb.WriteString("\uFFFD")
		i = j
	}
	return sb.String(), fixes
}

// remapFindings converts spans of the sanitized text back to the original.
func remapFindings(fs []Finding, fixes []utf8Fix) {
	const width = len("\uFFFD")
	toSource := func(pos int, isEnd bool) int {
		delta := 0
		for _, f := range fixes {
			if pos >= f.at+width {
				delta = f.end - (f.at + width)
				continue
			}
			if pos > f.at { // inside the replacement character
				if isEnd {
					return f.end
				}
				return f.start
			}
			break
		}
		return pos + delta
	}
	for i := range fs {
		fs[i].Start = toSource(fs[i].Start, false)
		fs[i].End = toSource(fs[i].End, true)
	}
}
