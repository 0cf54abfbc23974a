package deidentify

// The PHONE detector finds international numbers ("+44 20 7946 0958") and
// common national formats ("(555) 123-4567", "555.123.4567",
// "06 12 34 56 78", "5551234567"): 7 to 15 digits in groups separated by
// one space, dot or dash, with an optional area code in parentheses. It
// leaves alone what merely has digits in it: years, scores ("8/10"), times
// ("12:34:56"), versions ("1.2.3"), dates ("2024-03-01"), decimals and
// digits inside words or hashes.

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
	digits       int
	groups       int
	lens         [maxPhoneGroups]int
	seps         [maxPhoneGroups]byte // seps[k] precedes group k (0 if none)
	yearish      uint8                // bit k: group k is 19xx or 20xx
}

// phoneStarts are the bytes a phone number starts with.
var phoneStarts = func() (t [256]bool) {
	for _, c := range []byte("0123456789+(") {
		t[c] = true
	}
	return t
}()

func findPhones(s string, dst []match) []match {
	for i := 0; i < len(s); {
		c := s[i]
		if !phoneStarts[c] || i > 0 && phoneLeftStop(s[i-1]) && !hasPrefixFold(s, i-4, "tel:") {
			i++
			continue
		}
		end, ok := parsePhone(s, i)
		if ok {
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
	for {
		if ph.groups == maxPhoneGroups {
			return p, false
		}
		switch {
		case p < len(s) && s[p] == '(' && !ph.parens && (ph.groups == 0 || ph.groups == 1 && ph.plus):
			q := p + 1
			for q < len(s) && isDigit(s[q]) {
				q++
			}
			if q == p+1 || q-p-1 > 5 || q >= len(s) || s[q] != ')' {
				return p, false
			}
			ph.parens = true
			ph.lens[ph.groups], ph.seps[ph.groups] = q-p-1, sep
			ph.groups++
			ph.digits += q - p - 1
			p = q + 1
		case p < len(s) && isDigit(s[p]):
			q := p
			for q < len(s) && isDigit(s[q]) {
				q++
			}
			ph.lens[ph.groups], ph.seps[ph.groups] = q-p, sep
			if q-p == 4 && (s[p:p+2] == "19" || s[p:p+2] == "20") {
				ph.yearish |= 1 << ph.groups
			}
			ph.groups++
			ph.digits += q - p
			p = q
		default:
			return p, false
		}
		// One separator, then another group; or a group straight after ")".
		if p+1 < len(s) && (s[p] == ' ' || s[p] == '.' || s[p] == '-') && (isDigit(s[p+1]) || s[p+1] == '(') {
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

// plausible applies the rules that tell a phone number from other numbers.
func (ph *phoneShape) plausible() bool {
	if ph.digits < minPhoneDigits || ph.digits > maxPhoneDigits {
		return false
	}
	if ph.plus {
		return ph.digits >= 8
	}
	if ph.parens {
		return true
	}
	n, lens := ph.groups, ph.lens[:ph.groups]
	if n == 1 {
		return ph.digits >= 10 // a bare 7-9 digit number is more likely an id or amount
	}
	space, dots := false, true
	for k := 1; k < n; k++ {
		space = space || ph.seps[k] == ' '
		dots = dots && ph.seps[k] == '.'
	}
	years := true
	for k, l := range lens {
		if l > 6 || l == 1 && k > 0 {
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
	return true
}
