package deidentify

// The PHONE detector finds international numbers ("+44 20 7946 0958",
// "+44 (0)20 7946 0958", "+442079460958", "0044 20 7946 0958") whose
// national part has a length allowed for the country code, and national
// numbers in the formats of the countries whose learners write most:
//
//   - NANP (US, CA): "(555) 123-4567", "555.123.4567", "1-800-555-1234",
//     "555-1234"; the area code does not start with 0 or 1, nor does the
//     exchange of a number written with the leading "1" or of a 7-digit
//     local number. (A 3-3-4 number with a 0/1 exchange is still a phone:
//     such formatting is no date, score or id, and a miss leaks a number.)
//   - Trunk-prefixed numbers of 10 to 12 digits: UK "020 7946 0958",
//     "07700 900123"; DE "030 12345678", "030/12345678"; FR
//     "06 12 34 56 78"; NG "0803 123 4567"; JP "090-1234-5678",
//     "03-1234-5678".
//   - 10 digits starting 2-9 (IN "98765 43210", MX "55 1234 5678"), 11
//     digits starting 13-19 (CN "138 0013 8000"), an area code in
//     parentheses (BR "(11) 91234-5678").
//
// Groups are separated by one space, dot, dash or (after a 0-prefixed area
// code) slash, or by nothing. The detector leaves alone what merely has
// digits in it: years, ranges ("1990-2000"), scores ("8/10"), times
// ("12:34:56"), versions ("1.2.3"), dates ("2024-03-01", "01/02/2024"),
// ISBNs, decimals, digit runs that are ids or hashes (bare runs of 12 or
// more digits without "+", anything over 15 digits), card numbers, and
// numbers after "#", "order", "ticket", "invoice" and the like.

const (
	minPhoneDigits = 7
	maxPhoneDigits = 15
	maxPhoneGroups = 8
)

// phoneLeftStop reports whether a number preceded by c is part of something
// larger (a word, a version, a decimal, an amount) and so not a phone number.
func phoneLeftStop(c byte) bool {
	if isAlnum(c) || c >= 0x80 || c == tokenEnd {
		return true
	}
	switch c {
	case '+', '-', '.', '/', ':', '_', ',', '@', '#', '$', '%', '&', '=', '\\', '*', '^', '~':
		return true
	}
	return false
}

// phoneShape describes a candidate number.
type phoneShape struct {
	plus, parens bool
	trunkParen   bool // "+44 (0)20": the (0) is not dialled from abroad
	digits       int
	groups       int
	lens         [maxPhoneGroups]int
	seps         [maxPhoneGroups]byte // seps[k] precedes group k (0 if none)
	yearish      uint8                // bit k: group k is 19xx or 20xx
	parenGroup   int                  // index of the group in parentheses
	d            [maxPhoneDigits]byte // the digits, in order
}

func findPhones(ix *textIndex, dst []match) []match {
	s := ix.s
	// A number starts with a digit, "+" or "(".
	plus, paren := newByteFinder(s, '+'), newByteFinder(s, '(')
	for i := 0; i < len(s); {
		if i = min(ix.nextDigit(i), plus.next(i), paren.next(i)); i >= len(s) {
			break
		}
		if i > 0 && phoneLeftStop(s[i-1]) && !hasPrefixFold(s, i-4, "tel:") {
			// Skip the rest of the run this byte belongs to.
			i++
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			continue
		}
		end, ok := parsePhone(s, i)
		if ok && !afterIDWord(s, i) {
			dst = append(dst, match{start: i, end: end, typ: FindingPhone, token: "[PHONE]", rank: rankPhone})
		}
		// Never retry inside a rejected candidate: "2024-03-01" must not
		// yield "03-01".
		i = max(end, i+1)
	}
	return dst
}

// parsePhone scans the number starting at i and reports where it ends and
// whether it is a phone number.
func parsePhone(s string, i int) (int, bool) {
	var ph phoneShape
	p := i
	if s[p] == '+' {
		ph.plus = true
		p++
	}
	var sep byte
	// groupEnd is where the last complete group ends: if what follows a
	// separator is no group ("555-0106 (evenings)"), the number ends there.
	groupEnd := -1
loop:
	for {
		if ph.groups == maxPhoneGroups {
			return p, false
		}
		switch {
		case groupEnd >= 0 && p < len(s) && s[p] == '(' && !phoneParenGroup(s, p):
			p = groupEnd
			break loop
		case p < len(s) && s[p] == '(' && !ph.parens && (ph.groups == 0 || ph.groups == 1 && (ph.plus || ph.digits == 1 && ph.d[0] == '1')):
			q := p + 1
			for q < len(s) && isDigit(s[q]) {
				q++
			}
			if q == p+1 || q-p-1 > 5 || q >= len(s) || s[q] != ')' {
				return p, false
			}
			ph.parens, ph.parenGroup = true, ph.groups
			if ph.plus && ph.groups == 1 && s[p+1:q] == "0" {
				ph.trunkParen = true
			}
			if !ph.addGroup(s[p+1:q], sep) {
				return q, false
			}
			p = q + 1
		case p < len(s) && isDigit(s[p]):
			q := p
			for q < len(s) && isDigit(s[q]) && q-p <= maxPhoneDigits {
				q++
			}
			if !ph.addGroup(s[p:q], sep) {
				for q < len(s) && isDigit(s[q]) {
					q++
				}
				return q, false
			}
			p = q
		default:
			return p, false
		}
		// One separator, then another group; or a group straight after ")".
		if p+1 < len(s) && (s[p] == ' ' || s[p] == '.' || s[p] == '-' || s[p] == '/') && (isDigit(s[p+1]) || s[p+1] == '(') {
			groupEnd = p
			sep = s[p]
			p++
			continue
		}
		if s[p-1] == ')' && p < len(s) && isDigit(s[p]) {
			sep = 0
			continue
		}
		break
	}
	if p < len(s) {
		c := s[p]
		if isAlnum(c) || c == '_' || c >= 0x80 || c == tokenStart {
			return p, false
		}
		if p+1 < len(s) && isDigit(s[p+1]) && (c == '.' || c == '-' || c == '/' || c == ':' || c == ',' || c == '+') {
			return p, false
		}
		if c == ':' && p+1 < len(s) && isAlnum(s[p+1]) {
			return p, false // part of a longer token, e.g. an IPv6 address
		}
	}
	return p, ph.plausible()
}

// addGroup records a group of digits; it fails when there are too many.
func (ph *phoneShape) addGroup(g string, sep byte) bool {
	if ph.digits+len(g) > maxPhoneDigits {
		return false
	}
	ph.lens[ph.groups], ph.seps[ph.groups] = len(g), sep
	if len(g) == 4 && (g[:2] == "19" || g[:2] == "20") {
		ph.yearish |= 1 << ph.groups
	}
	ph.groups++
	ph.digits += copy(ph.d[ph.digits:], g)
	return true
}

// plausible applies the rules that tell a phone number from other numbers.
func (ph *phoneShape) plausible() bool {
	if ph.digits < minPhoneDigits {
		return false
	}
	for k := 1; k < ph.groups; k++ {
		if ph.seps[k] == '/' && (k != 1 || ph.plus || ph.d[0] != '0' || ph.lens[0] < 3 || ph.lens[0] > 5) {
			return false // "8/10", "01/02/2024"; "030/12345678" is fine
		}
	}
	if ph.plus {
		return ph.internationalPlausible(ph.d[:ph.digits], ph.lens[0])
	}
	d := ph.d[:ph.digits]
	if d[0] == '0' && d[1] == '0' && len(d) > 9 && !ph.parens {
		// "0044 20 7946 0958": 00 is the international prefix.
		first := ph.lens[0] - 2
		if ph.lens[0] == 2 && ph.groups > 1 {
			first = ph.lens[1]
		}
		return ph.internationalPlausible(d[2:], first)
	}
	return ph.nationalPlausible()
}

// internationalPlausible checks a number after "+" (or "00"): d are its
// digits, of which the first group holds firstLen.
func (ph *phoneShape) internationalPlausible(d []byte, firstLen int) bool {
	if len(d) < 8 || len(d) > maxPhoneDigits || d[0] == '0' {
		return false
	}
	cc := countryCodeOf(d, firstLen)
	if cc == 0 {
		return false
	}
	national := len(d) - ccDigits(cc)
	if ph.trunkParen {
		national--
	} else if national > 0 && d[ccDigits(cc)] == '0' && cc != 39 {
		national-- // "+44 020 ...": a trunk 0 written by mistake
	}
	r, known := nationalLengths[cc]
	if !known {
		return national >= 6 && national <= 13 // ITU: at most 15 digits
	}
	return national >= int(r[0]) && national <= int(r[1])
}

// countryCodeOf returns the country code d starts with: the first group if
// it is one (1 to 3 digits), else the longest listed prefix, else 0.
func countryCodeOf(d []byte, firstLen int) int {
	if firstLen >= 1 && firstLen <= 3 && firstLen < len(d) {
		cc := 0
		for _, c := range d[:firstLen] {
			cc = cc*10 + int(c-'0')
		}
		return cc
	}
	cc := 0
	for k := 0; k < 3 && k < len(d); k++ {
		cc = cc*10 + int(d[k]-'0')
		if _, ok := nationalLengths[cc]; ok {
			return cc
		}
	}
	return 0
}

func ccDigits(cc int) int {
	switch {
	case cc < 10:
		return 1
	case cc < 100:
		return 2
	}
	return 3
}

// nationalLengths are the lengths of the national significant number (no
// trunk 0) of common country codes. Others take any 6 to 13 digits.
var nationalLengths = map[int][2]uint8{
	1: {10, 10}, 7: {10, 10}, 20: {9, 10}, 27: {9, 9}, 30: {10, 10}, 31: {9, 9},
	32: {8, 9}, 33: {9, 9}, 34: {9, 9}, 36: {8, 9}, 39: {6, 11}, 40: {9, 9},
	41: {9, 9}, 43: {4, 13}, 44: {9, 10}, 45: {8, 8}, 46: {7, 10}, 47: {8, 8},
	48: {9, 9}, 49: {6, 12}, 51: {8, 9}, 52: {10, 11}, 53: {8, 8}, 54: {10, 11},
	55: {10, 11}, 56: {9, 9}, 57: {8, 10}, 58: {10, 10}, 60: {7, 10}, 61: {9, 9},
	62: {8, 12}, 63: {8, 10}, 64: {8, 10}, 65: {8, 8}, 66: {8, 9}, 81: {9, 10},
	82: {8, 10}, 84: {9, 10}, 86: {10, 11}, 90: {10, 10}, 91: {10, 10}, 92: {9, 10},
	93: {9, 9}, 94: {9, 9}, 95: {7, 10}, 98: {10, 10},
	212: {9, 9}, 213: {8, 9}, 216: {8, 8}, 221: {9, 9}, 225: {8, 10}, 233: {9, 9},
	234: {8, 10}, 237: {9, 9}, 251: {9, 9}, 254: {9, 9}, 255: {9, 9}, 256: {9, 9},
	351: {9, 9}, 353: {7, 9}, 358: {5, 12}, 380: {9, 9}, 852: {8, 8}, 880: {10, 10},
	886: {8, 9}, 961: {7, 8}, 962: {8, 9}, 964: {10, 10}, 966: {9, 9}, 971: {8, 9},
	972: {8, 9},
}

// nationalPlausible applies the national formats to a number without "+".
func (ph *phoneShape) nationalPlausible() bool {
	d := ph.d[:ph.digits]
	n, lens := ph.groups, ph.lens[:ph.groups]
	dots, mixedDots := true, false
	space := false
	for k := 1; k < n; k++ {
		space = space || ph.seps[k] == ' '
		dots = dots && ph.seps[k] == '.'
		mixedDots = mixedDots || ph.seps[k] == '.'
	}
	if n > 1 && mixedDots && !dots {
		return false // "123.456.789-09" is a CPF
	}
	years := true
	for k, l := range lens {
		if l == 1 && k > 0 {
			return false // versions "10.0.19041.1", ISBNs
		}
		years = years && ph.yearish&(1<<k) != 0
	}
	switch {
	case n == 3 && (lens[0] == 4 && lens[1] == 2 && lens[2] == 2 || lens[0] == 2 && lens[1] == 2 && lens[2] == 4):
		return false // a date
	case dots && n == 2:
		return false // a decimal
	case dots && n == 4 && lens[0] <= 3 && lens[1] <= 3 && lens[2] <= 3 && lens[3] <= 3:
		return false // an IPv4 address, the IP detector's
	case years:
		return false // "2019-2020-2021"
	case space && ph.digits < 9:
		return false // "scores 85 90 77 66"
	}
	if ph.parens {
		// "(555) 123-4567", "(11) 91234-5678", "(030) 1234567"
		pl := lens[ph.parenGroup]
		if ph.parenGroup == 1 && lens[0] == 1 && d[0] == '1' {
			return pl == 3 && len(d) == 11 && nanp(d[1:]) // "1 (415) 555-0106"
		}
		return ph.parenGroup == 0 && pl >= 2 && pl <= 5 && len(d) >= 10 && len(d) <= 12
	}
	switch {
	case d[0] == '0':
		// Trunk prefix: UK, DE, FR, NG, JP, IN, BR.
		return len(d) >= 10 && len(d) <= 12 && d[1] != '0'
	case d[0] == '1':
		if len(d) != 11 {
			return false
		}
		if d[1] >= '3' && n <= 3 && (n == 1 || lens[0] == 3) {
			return true // CN mobile "138 0013 8000"
		}
		return nanp(d[1:]) // "1-800-555-1234"
	case len(d) == 10:
		return true // NANP, IN, MX
	case len(d) == 11 && n >= 2 && lens[0] == 2 && d[2] == '9':
		return true // BR mobile "61 93032 7548": area code, then 9 and 8 digits
	case len(d) == 7:
		// A local NANP number "555-1234".
		return n == 2 && lens[0] == 3 && ph.seps[1] == '-' && d[0] >= '2'
	}
	return false
}

// nanp reports whether d is a NANP number: area and exchange codes start
// with 2-9.
func nanp(d []byte) bool {
	return len(d) == 10 && d[0] >= '2' && d[3] >= '2'
}

// idWords are words after which a number is a reference, not a phone.
var idWords = wordSet("order orders ticket tickets invoice inv ref reference case account acct id isbn issn sku serial transaction txn confirmation receipt po tracking booking item product student learner user no nr number num")

// afterIDWord reports whether the number at i follows an id word, as in
// "order 5551234567" or "Ticket no. 5551234567".
func afterIDWord(s string, i int) bool {
	for range 2 {
		j := i
		for j > 0 && i-j < 4 && (s[j-1] == ' ' || s[j-1] == ':' || s[j-1] == '.' || s[j-1] == '#') {
			j--
		}
		if j == i && i > 0 {
			return false
		}
		k := j
		for k > 0 && j-k < 16 && isAlpha(s[k-1]) {
			k--
		}
		if k == j || k > 0 && isAlnum(s[k-1]) {
			return false
		}
		var buf [16]byte
		w := buf[:0]
		for _, c := range []byte(s[k:j]) {
			w = append(w, lowerASCII(c))
		}
		if !idWords[string(w)] {
			return false
		}
		if w := string(w); w != "no" && w != "nr" && w != "number" && w != "num" {
			return true
		}
		i = k // "order no. 123": look one word further back
	}
	return false
}

// phoneParenGroup reports whether s[p] opens a parenthesised group of 1 to
// 5 digits ("(415)", "(0)").
func phoneParenGroup(s string, p int) bool {
	q := p + 1
	for q < len(s) && isDigit(s[q]) && q-p <= 5 {
		q++
	}
	return q > p+1 && q < len(s) && s[q] == ')'
}
