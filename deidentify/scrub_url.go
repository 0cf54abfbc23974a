package deidentify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The URL detector finds links with a scheme ("https://..."), links starting
// "www.", and bare domains with a known top-level domain followed by a path
// ("example.com/page", "linkedin.com/in/ana", "github.com/ana"). A bare
// domain with no path ("example.com") is left alone: it is rarely personal.

// knownTLDs are the top-level domains a bare domain must end in.
var knownTLDs = map[string]bool{
	"com": true, "org": true, "net": true, "edu": true, "gov": true, "mil": true, "int": true,
	"io": true, "co": true, "me": true, "info": true, "biz": true, "dev": true, "app": true,
	"ai": true, "ly": true, "tv": true, "xyz": true, "online": true, "site": true, "tech": true,
	"uk": true, "us": true, "eu": true, "de": true, "fr": true, "es": true, "it": true, "nl": true,
	"be": true, "ch": true, "at": true, "se": true, "no": true, "dk": true, "fi": true, "pl": true,
	"pt": true, "ie": true, "gr": true, "cz": true, "ro": true, "hu": true, "ru": true, "ua": true,
	"tr": true, "il": true, "in": true, "pk": true, "cn": true, "jp": true, "kr": true, "tw": true,
	"hk": true, "sg": true, "my": true, "id": true, "ph": true, "vn": true, "th": true, "au": true,
	"nz": true, "ca": true, "mx": true, "br": true, "ar": true, "cl": true, "pe": true, "za": true,
	"ng": true, "ke": true, "eg": true,
}

// isKnownTLD reports whether label (any case) is in knownTLDs.
func isKnownTLD(label string) bool {
	var buf [8]byte
	if len(label) > len(buf) {
		return false
	}
	for i := 0; i < len(label); i++ {
		buf[i] = lowerASCII(label[i])
	}
	return knownTLDs[string(buf[:len(label)])]
}

var urlSchemes = []string{"https://", "http://", "ftp://"}

// urlLeftStop reports whether a bare domain preceded by c is part of
// something else: an address ("@"), a path, a longer name.
func urlLeftStop(c byte) bool { return urlLeftStops[c] }

var urlLeftStops = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isAlnum(byte(c)) || byte(c) == tokenEnd || strings.IndexByte("@._-/:%+=~&#\\", byte(c)) >= 0
	}
	return t
}()

func findURLs(ix *textIndex, dst []match) []match {
	s := ix.s
	var starts urlStarts
	starts.init(ix)
	for i := 0; i < len(s); {
		c := starts.next(i)
		if c >= len(s) {
			break
		}
		if end := urlAt(s, c); end > c {
			dst = append(dst, match{start: c, end: end, typ: FindingURL, token: "[URL]", rank: rankURL})
			i = end
			continue
		}
		i = c + 1
	}
	return dst
}

// urlStarts finds, from increasing positions, the words where urlAt may
// find a URL: a word that starts a scheme ("https://"), and a word
// (alphanumeric, after neither a word nor a replacement token) whose
// labels run up to a dot. Other words start none, and prose has few dots.
type urlStarts struct {
	s                    string
	dots                 cursor // of joiners: a dot before a word is one
	schemes              stringFinder
	dotFrom, dotAt       int // the start found from dotFrom, or len(s)
	schemeFrom, schemeAt int
}

func (u *urlStarts) init(ix *textIndex) {
	s := ix.s
	*u = urlStarts{s: s, dots: ix.cursor(joiners), schemes: newStringFinder(s, "://"), dotFrom: 1, schemeFrom: 1}
}

// next returns the first start at or after i, or len(s).
func (u *urlStarts) next(i int) int { return min(u.dotStart(i), u.schemeStart(i)) }

// urlWordStart reports whether the word at k follows no word or token.
func urlWordStart(s string, k int) bool {
	return k == 0 || !isAlnum(s[k-1]) && s[k-1] != tokenEnd
}

func (u *urlStarts) dotStart(i int) int {
	if i >= u.dotFrom && i <= u.dotAt {
		return u.dotAt
	}
	s := u.s
	u.dotFrom, u.dotAt = i, len(s)
	for d := u.dots.next(i); d < len(s); d = u.dots.next(d + 1) {
		if s[d] != '.' || !isAlnum(s[d+1]) {
			continue // not a dot before a label: a domain needs two
		}
		// The labels before the dot; a word inside them follows a "-",
		// which urlLeftStop rejects.
		k := d
		for k > i && isLabelChar(s[k-1]) {
			k--
		}
		if k < d && isAlnum(s[k]) && (k == 0 || !isLabelChar(s[k-1])) && urlWordStart(s, k) {
			u.dotAt = k
			break
		}
	}
	return u.dotAt
}

func (u *urlStarts) schemeStart(i int) int {
	if i >= u.schemeFrom && i <= u.schemeAt {
		return u.schemeAt
	}
	s := u.s
	u.schemeFrom, u.schemeAt = i, len(s)
	for p := u.schemes.next(i); p < len(s); p = u.schemes.next(p + 1) {
		for _, scheme := range urlSchemes {
			if k := p + len("://") - len(scheme); k >= i && hasPrefixFold(s, k, scheme) && urlWordStart(s, k) {
				u.schemeAt = k
				return k
			}
		}
	}
	return u.schemeAt
}

// urlAt returns the end of the URL starting at the word start i, or i.
func urlAt(s string, i int) int {
	if c := s[i] | 0x20; c == 'h' || c == 'f' {
		for _, scheme := range urlSchemes {
			if hasPrefixFold(s, i, scheme) {
				if p := i + len(scheme); p < len(s) && isAlnum(s[p]) {
					return urlEnd(s, p)
				}
				return i
			}
		}
	}
	if i > 0 && urlLeftStop(s[i-1]) {
		return i
	}
	// Most words are not followed by a dot: skip parsing a domain.
	j := i
	for j < len(s) && isLabelChar(s[j]) {
		j++
	}
	if j+1 >= len(s) || s[j] != '.' {
		return i
	}
	d := parseDomain(s, i, false)
	if d.labels < 2 {
		return i
	}
	switch {
	case hasPrefixFold(s, i, "www.") && d.labels >= 3 && isTLD(s[d.tld:d.end]):
		return urlEnd(s, d.end)
	case d.end < len(s) && s[d.end] == '/' && isKnownTLD(s[d.tld:d.end]):
		return urlEnd(s, d.end)
	}
	return i
}

// urlEnd returns where the URL whose host or path continues at p ends:
// at a space, a quote, a bracket, or a non-alphanumeric non-ASCII
// character, less trailing sentence punctuation and unbalanced ")".
func urlEnd(s string, p int) int {
	q := p
	for q < len(s) {
		c := s[q]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == 0x7f || strings.IndexByte("<>\"'`{}|\\^[]", c) >= 0 {
				break
			}
			q++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[q:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
			break
		}
		q += n
	}
	open, closed := 0, 0
	if strings.IndexByte(s[p:q], ')') >= 0 {
		open, closed = strings.Count(s[p:q], "("), strings.Count(s[p:q], ")")
	}
	for q > p {
		switch c := s[q-1]; {
		case strings.IndexByte(".,;:!?*", c) >= 0:
			q--
			continue
		case c == ')' && open < closed:
			q--
			closed--
			continue
		}
		break
	}
	return q
}
