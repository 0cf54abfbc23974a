package deidentify

// The number detectors with check digits: CREDIT_CARD (Luhn), IBAN (ISO
// 13616, mod 97) and NATIONAL_ID (US SSN, UK National Insurance number,
// Brazilian CPF). The checks make a false positive from an ordinary number
// unlikely, and one wrong digit (a typo or a redacted example) is not
// matched.

// numLeftStop reports whether a number preceded by c continues something
// else: a word, a decimal, a version, a longer id, a token.
func numLeftStop(c byte) bool {
	return isAlnum(c) || c >= 0x80 || c == tokenEnd || c == '.' || c == '-' || c == '/' || c == '_' || c == '+' || c == ',' || c == ':' || c == '#' || c == '$'
}

// numRightStop reports whether a number followed by s[p:] goes on.
func numRightStop(s string, p int) bool {
	if p >= len(s) {
		return false
	}
	c := s[p]
	if isAlnum(c) || c == '_' || c >= 0x80 || c == tokenStart {
		return true
	}
	return p+1 < len(s) && isDigit(s[p+1]) && (c == '.' || c == '-' || c == '/' || c == ':' || c == ',')
}

// idLeftStop is numLeftStop for numbers with check digits or a fixed
// shape: "CC#4111 1111 1111 1111" and "ssn:123-45-6789" are still ids.
func idLeftStop(c byte) bool { return c != '#' && c != ':' && numLeftStop(c) }

// digitGroups reads digits from i in groups separated by one byte from
// seps (the same one throughout), appending them to d (at most max). It
// returns the end and the digits; ok is false when there are more than max
// digits or the separator changes.
func digitGroups(s string, i int, seps string, d []byte, maxDigits int) (end int, _ []byte, ok bool) {
	var sep byte
	p := i
	for {
		q := p
		for q < len(s) && isDigit(s[q]) {
			if len(d) == maxDigits {
				return q, d, false
			}
			d = append(d, s[q])
			q++
		}
		p = q
		if p+1 < len(s) && isDigit(s[p+1]) && (sep == 0 && containsByte(seps, s[p]) || sep != 0 && s[p] == sep) {
			sep = s[p]
			p++
			continue
		}
		return p, d, true
	}
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// findCreditCards finds 13 to 19 digits, bare or in groups of 3 to 6
// separated by spaces or dashes, with a card network's prefix and a valid
// Luhn check digit.
func findCreditCards(ix *textIndex, dst []match) []match {
	s := ix.s
	var buf [19]byte
	for i := ix.nextNumberStart(0, idLeftStop); i < len(s); i = ix.nextNumberStart(i, idLeftStop) {
		end, d, ok := digitGroups(s, i, " -.", buf[:0], 19)
		if ok && len(d) >= 13 && !numRightStop(s, end) && cardGroupsOK(s[i:end]) && cardPrefix(d) && luhn(d) {
			dst = append(dst, match{start: i, end: end, typ: FindingCreditCard, token: genericTokens[FindingCreditCard], rank: rankCard})
		}
		for end < len(s) && isDigit(s[end]) {
			end++
		}
		i = max(end, i+1)
	}
	return dst
}

// cardGroupsOK reports whether the groups of a written card number are
// 3 to 6 digits long, the last 1 to 6 (19-digit cards are written
// "6212 1120 7209 3621 19"), or the number is bare.
func cardGroupsOK(num string) bool {
	n := 0
	for i := 0; i <= len(num); i++ {
		if i < len(num) && isDigit(num[i]) {
			n++
			continue
		}
		if n == len(num) {
			return true
		}
		if n > 6 || n < 3 && i < len(num) {
			return false
		}
		n = 0
	}
	return true
}

// cardPrefix reports whether d starts with the issuer prefix of a card
// network: Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, Diners
// 30/36/38, JCB 35, Discover and UnionPay 6.
func cardPrefix(d []byte) bool {
	switch d[0] {
	case '4', '6':
		return true
	case '5':
		return d[1] >= '1' && d[1] <= '5'
	case '3':
		return d[1] == '0' || d[1] >= '4' && d[1] <= '8'
	case '2':
		p := int(d[0]-'0')*1000 + int(d[1]-'0')*100 + int(d[2]-'0')*10 + int(d[3]-'0')
		return p >= 2221 && p <= 2720
	}
	return false
}

// luhn reports whether the digits d pass the Luhn check.
func luhn(d []byte) bool {
	sum := 0
	for k := range d {
		v := int(d[len(d)-1-k] - '0')
		if k%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// ibanLengths are the IBAN lengths of the countries that use one.
var ibanLengths = map[string]uint8{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
	"BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
	"DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
	"GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
	"IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
	"ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
	"PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
	"SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VA": 22,
	"VG": 24, "XK": 20,
}

// maxIBAN is the longest IBAN.
const maxIBAN = 34

// findIBANs finds IBANs written compactly or in groups of four separated by
// single spaces, in upper or lower case.
func findIBANs(ix *textIndex, dst []match) []match {
	s := ix.s
	for i := 0; i+4 <= len(s); i++ {
		// Driven by the digits: the check digits follow two letters.
		d := ix.nextDigit(i + 2)
		if d+1 >= len(s) {
			break
		}
		i = d - 2
		if !isAlpha(s[i]) || !isAlpha(s[i+1]) || !isDigit(s[i+3]) {
			continue
		}
		if i > 0 && (isAlnum(s[i-1]) || s[i-1] >= 0x80 || s[i-1] == tokenEnd || s[i-1] == '_') {
			continue
		}
		if end, ok := ibanAt(s, i); ok {
			dst = append(dst, match{start: i, end: end, typ: FindingIBAN, token: genericTokens[FindingIBAN], rank: rankIBAN})
			i = end - 1
		}
	}
	return dst
}

// ibanAt reads the IBAN starting at i and reports where it ends and
// whether it is valid.
func ibanAt(s string, i int) (int, bool) {
	cc := [2]byte{s[i] &^ 0x20, s[i+1] &^ 0x20}
	want := int(ibanLengths[string(cc[:])])
	if want == 0 {
		return 0, false
	}
	var buf [maxIBAN]byte
	n, group, p := 0, 0, i
	for n < want && p < len(s) {
		c := s[p]
		switch {
		case isAlnum(c):
			buf[n] = c &^ 0x20
			if isDigit(c) {
				buf[n] = c
			}
			n++
			group++
			p++
		case c == ' ' && group == 4 && p+1 < len(s) && isAlnum(s[p+1]):
			group = 0
			p++
		default:
			return 0, false
		}
	}
	if n != want || p < len(s) && (isAlnum(s[p]) || s[p] == '_' || s[p] >= 0x80 || s[p] == tokenStart) {
		return 0, false
	}
	return p, ibanChecksum(buf[:n])
}

// ibanChecksum computes the ISO 7064 mod 97-10 check of an upper-case IBAN.
func ibanChecksum(b []byte) bool {
	rem := 0
	add := func(c byte) {
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
			return
		}
		rem = (rem*100 + int(c-'A') + 10) % 97
	}
	for _, c := range b[4:] {
		add(c)
	}
	for _, c := range b[:4] {
		add(c)
	}
	return rem == 1
}

// findNationalIDs finds US Social Security numbers, UK National Insurance
// numbers and Brazilian CPFs.
func findNationalIDs(ix *textIndex, dst []match) []match {
	return findNINOs(ix, findSSNsAndCPFs(ix, dst))
}

// findSSNsAndCPFs finds the all-digit national ids.
func findSSNsAndCPFs(ix *textIndex, dst []match) []match {
	s := ix.s
	var buf [12]byte
	for i := ix.nextNumberStart(0, idLeftStop); i < len(s); i = ix.nextNumberStart(i, idLeftStop) {
		end, d, ok := digitGroups(s, i, " -.", buf[:0], 11)
		if e := matchShape(s, i, "999.999.999-99"); e > 0 {
			// A CPF mixes dots and a dash.
			end, ok, d = e, true, buf[:0]
			for k := i; k < e; k++ {
				if isDigit(s[k]) {
					d = append(d, s[k])
				}
			}
		}
		if ok && !numRightStop(s, end) && (ssnAt(s, i, end, d) || cpfAt(s, i, end, d)) {
			dst = append(dst, match{start: i, end: end, typ: FindingNationalID, token: genericTokens[FindingNationalID], rank: rankNationalID})
		}
		for end < len(s) && isDigit(s[end]) {
			end++
		}
		i = max(end, i+1)
	}
	return dst
}

// ssnAt reports whether s[i:end], with digits d, is an SSN: AAA-GG-SSSS or
// AAA GG SSSS, or nine bare digits after "SSN" or "social security".
func ssnAt(s string, i, end int, d []byte) bool {
	if len(d) != 9 {
		return false
	}
	num := s[i:end]
	switch {
	case len(num) == 11 && (num[3] == '-' && num[6] == '-' || num[3] == ' ' && num[6] == ' '):
	case len(num) == 9 && cueBefore(s, i, 40, "ssn", "social security", "ss#", "ss no", "itin", "tax id", "verification", "verify", "identity"):
	default:
		return false
	}
	area := int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	if area == 0 || area == 666 || area >= 900 {
		return false
	}
	return string(d[3:5]) != "00" && string(d[5:]) != "0000"
}

// cpfAt reports whether s[i:end] is a CPF with valid check digits: written
// 123.456.789-09, or 11 bare digits after "CPF".
func cpfAt(s string, i, end int, d []byte) bool {
	if len(d) != 11 {
		return false
	}
	num := s[i:end]
	formatted := len(num) == 14 && num[3] == '.' && num[7] == '.' && num[11] == '-'
	if !formatted && !(len(num) == 11 && cueBefore(s, i, 40, "cpf")) {
		return false
	}
	same := true
	for _, c := range d {
		same = same && c == d[0]
	}
	return !same && cpfCheck(d[:9]) == d[9] && cpfCheck(d[:10]) == d[10]
}

// cpfCheck computes the CPF check digit following d.
func cpfCheck(d []byte) byte {
	sum := 0
	for k, c := range d {
		sum += int(c-'0') * (len(d) + 1 - k)
	}
	return byte((sum*10)%11%10) + '0'
}

// findNINOs finds UK National Insurance numbers: two prefix letters
// allowed by HMRC, six digits (optionally in pairs) and a suffix A-D.
func findNINOs(ix *textIndex, dst []match) []match {
	s := ix.s
	for pos := 0; pos < len(s); {
		d := ix.nextNumberStartAny(pos)
		if d >= len(s) {
			break
		}
		pos = d + 1
		i := d - 2
		if d > 0 && s[d-1] == ' ' {
			i = d - 3
		}
		if i < 0 {
			continue
		}
		if end := ninoAt(s, i); end > 0 {
			dst = append(dst, match{start: i, end: end, typ: FindingNationalID, token: genericTokens[FindingNationalID], rank: rankNationalID})
			pos = end
		}
	}
	return dst
}

// ninoAt returns the end of a National Insurance number at i, or -1.
func ninoAt(s string, i int) int {
	if !isAlpha(s[i]) || !isAlpha(s[i+1]) || (i > 0 && (isAlnum(s[i-1]) || s[i-1] >= 0x80 || s[i-1] == tokenEnd)) {
		return -1
	}
	if !ninoPrefix(s[i]&^0x20, s[i+1]&^0x20) {
		return -1
	}
	p, digits := i+2, 0
	for digits < 6 && p < len(s) {
		if digits%2 == 0 && s[p] == ' ' && p+1 < len(s) && isDigit(s[p+1]) {
			p++
		}
		if !isDigit(s[p]) {
			break
		}
		digits++
		p++
	}
	if digits != 6 {
		return -1
	}
	if p+1 < len(s) && s[p] == ' ' {
		p++
	}
	if p >= len(s) || s[p]&^0x20 < 'A' || s[p]&^0x20 > 'D' {
		return -1
	}
	p++
	if p < len(s) && (isAlnum(s[p]) || s[p] >= 0x80 || s[p] == tokenStart) {
		return -1
	}
	return p
}

// ninoPrefix applies HMRC's rules to the prefix letters a, b (upper case).
func ninoPrefix(a, b byte) bool {
	switch a {
	case 'D', 'F', 'I', 'Q', 'U', 'V':
		return false
	}
	switch b {
	case 'D', 'F', 'I', 'O', 'Q', 'U', 'V':
		return false
	}
	switch string([]byte{a, b}) {
	case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
		return false
	}
	return true
}

// cueBefore reports whether one of the cues (lower case) occurs, ASCII
// case-insensitively and starting at a word boundary, in the window bytes
// before i.
func cueBefore(s string, i, window int, cues ...string) bool {
	lo := max(0, i-window)
	for _, cue := range cues {
		for k := i - len(cue); k >= lo; k-- {
			if hasPrefixFold(s, k, cue) && (k == 0 || !isAlnum(s[k-1])) {
				return true
			}
		}
	}
	return false
}
