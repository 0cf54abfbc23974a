package deidentify

import (
	"net/netip"
	"strings"
)

// The IP detector finds IPv4 addresses (four decimal octets 0-255, so not
// versions like "1.2.3" or "1.2.3.4.5") and IPv6 addresses in full or
// compressed form, validated with net/netip. Slices such as "a[1::2]" are
// not addresses: an IPv6 candidate needs three groups or a group of at
// least three hex digits.

// ipLeftStop reports whether an address preceded by c would be part of a
// larger token (a word, a version, a longer address).
func ipLeftStop(c byte) bool { return isAlnum(c) || c == '_' || c == '.' || c == tokenEnd }

func isIPChar(c byte) bool { return isHexDigit(c) || c == ':' || c == '.' }

func findIPs(ix *textIndex, dst []match) []match {
	s := ix.s
	colons := newByteFinder(s, ':')
	for i := 0; i < len(s); {
		// Jump to the next digit or colon (every address holds one), then
		// back to the start of its run of address characters.
		p := min(ix.nextDigit(i), colons.next(i))
		if p == len(s) {
			break
		}
		for p > i && isIPChar(s[p-1]) {
			p--
		}
		i = p
		c := s[i]
		if !isHexDigit(c) && c != ':' || i > 0 && ipLeftStop(s[i-1]) {
			// Move on to the next byte that could start an address, so
			// that the back-up above never revisits this one.
			i++
			for i < len(s) && isIPChar(s[i]) && ipLeftStop(s[i-1]) {
				i++
			}
			continue
		}
		if isAlpha(c) {
			// A word: an address only if a colon follows its letters and
			// digits ("fe80::1"); skip it otherwise.
			j := i
			for j < len(s) && isAlnum(s[j]) {
				j++
			}
			if j >= len(s) || s[j] != ':' {
				i = j
				continue
			}
		}
		j := i
		for j < len(s) && isIPChar(s[j]) {
			j++
		}
		if j < len(s) && (isAlnum(s[j]) || s[j] == '_' || s[j] == tokenStart) {
			// The run goes on into a word ("deadbeef", "6.002x"): skip it.
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
				j++
			}
			i = j
			continue
		}
		if n := ipLength(s[i:j]); n > 0 {
			start, end := i, i+n
			end = ipZone(s, start, end)
			// "[2001:db8::1]:8443": the brackets and port belong to it.
			if start > 0 && s[start-1] == '[' && end < len(s) && s[end] == ']' {
				start, end = start-1, ipPort(s, end+1)
			}
			dst = append(dst, match{start: start, end: end, typ: FindingIP, token: "[IP]", rank: rankIP})
			j = max(j, end)
		}
		i = max(j, i+1)
	}
	return dst
}

// ipLength returns the length of the address at the start of run (a run of
// hex digits, colons and dots), or 0 if there is none.
func ipLength(run string) int {
	e := len(run)
	for e > 0 && (run[e-1] == '.' || run[e-1] == ':') {
		e--
	}
	trimmed := run[:e]
	for k, cand := range []string{trimmed, run} {
		if k == 1 && len(trimmed) == len(run) {
			break // the same as the first
		}
		colons := strings.Count(cand, ":")
		switch {
		case colons >= 2:
			if isIPv6(cand) {
				return len(cand)
			}
		case colons == 1:
			// "10.0.0.1:8080": the address with its port.
			if k := strings.IndexByte(cand, ':'); isIPv4(cand[:k]) {
				if p := cand[k+1:]; len(p) >= 1 && len(p) <= 5 && strings.Trim(p, "0123456789") == "" {
					return len(cand)
				}
				return k
			}
		case isIPv4(cand):
			return len(cand)
		}
	}
	return 0
}

// isIPv4 reports whether s is four dot-separated decimal octets, each 0-255
// (leading zeros allowed: "010.001.002.003" is still an address to scrub).
func isIPv4(s string) bool {
	octets, v, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || v > 255 {
				return false
			}
			octets++
			v, digits = 0, 0
			continue
		}
		if !isDigit(s[i]) || digits == 3 {
			return false
		}
		v = v*10 + int(s[i]-'0')
		digits++
	}
	return octets == 4
}

func isIPv6(s string) bool {
	if !strings.ContainsAny(s, "0123456789") {
		return false // "::", "C::B"
	}
	groups, long := 0, false
	for g := range strings.SplitSeq(s, ":") {
		if g != "" {
			groups++
			long = long || len(g) >= 3
		}
	}
	if groups < 3 && !long {
		return false // "1::2", "x[10::20]"
	}
	if strings.Count(s, ":") < 6 && !strings.Contains(s, "::") {
		return false // netip refuses it too: "12:30:45" is a time
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

// ipZone extends an IPv6 address ending at end through a zone index
// ("fe80::1%eth0", "%wlp2s0").
func ipZone(s string, start, end int) int {
	if end+1 >= len(s) || s[end] != '%' || !strings.Contains(s[start:end], ":") {
		return end
	}
	k := end + 1
	for k < len(s) && (isAlnum(s[k]) || s[k] == '_' || s[k] == '-' || s[k] == '.') {
		k++
	}
	for k > end+1 && s[k-1] == '.' {
		k-- // a sentence's full stop
	}
	if k == end+1 {
		return end
	}
	return k
}

// ipPort extends a bracketed address ending at end (after "]") through
// ":port".
func ipPort(s string, end int) int {
	if end >= len(s) || s[end] != ':' {
		return end
	}
	k := end + 1
	for k < len(s) && k-end <= 5 && isDigit(s[k]) {
		k++
	}
	if k == end+1 {
		return end
	}
	return k
}
