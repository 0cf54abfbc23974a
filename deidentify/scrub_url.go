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

func findURLs(s string, dst []match) []match {
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) {
			i++
			continue
		}
		if i > 0 && (isAlnum(s[i-1]) || s[i-1] == tokenEnd) {
			for i < len(s) && isAlnum(s[i]) {
				i++
			}
			continue
		}
		end := urlAt(s, i)
		if end > i {
			dst = append(dst, match{start: i, end: end, typ: FindingURL, token: "[URL]", rank: rankURL})
			i = end
			continue
		}
		for i < len(s) && isAlnum(s[i]) {
			i++
		}
	}
	return dst
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
