package deidentify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AgeBand10 generalises an age to a ten-year band aligned on multiples of
// ten: "0-9", "10-19", ..., "80-89", and "90+" for 90 and over (top-coded as
// in AgeBand). It returns "" for a negative age. AgeBand10(a) is always
// WidenAgeBand(AgeBand(a)).
func AgeBand10(age int) string { return ageBand(age, 10) }

// WidenAgeBand maps a five-year band as returned by AgeBand, e.g. "15-19",
// to the ten-year band that contains it, "10-19"; "90+" stays "90+". A
// ten-year band is returned unchanged, so widening twice is harmless. Any
// other string, including "", yields "": a value that is not a band cannot
// be generalised and is published as null rather than as is.
func WidenAgeBand(band string) string {
	if band == strconv.Itoa(topAgeBand)+"+" {
		return band
	}
	los, his, ok := strings.Cut(band, "-")
	if !ok {
		return ""
	}
	lo, err1 := strconv.Atoi(los)
	hi, err2 := strconv.Atoi(his)
	switch {
	case err1 != nil || err2 != nil || lo < 0 || lo >= topAgeBand:
		return ""
	case lo%5 == 0 && hi == lo+4, lo%10 == 0 && hi == lo+9:
		// Only the canonical spelling is accepted ("05-09" is not a band),
		// so that equal bands are equal strings.
		if strconv.Itoa(lo) != los || strconv.Itoa(hi) != his {
			return ""
		}
		return AgeBand10(lo)
	}
	return ""
}

// Precision is the resolution at which timestamps are published.
type Precision string

// The precisions a timestamp column may be published at, finest first.
const (
	PrecisionSecond Precision = "second"
	PrecisionHour   Precision = "hour" // the default
	PrecisionDay    Precision = "day"
)

// ParsePrecision parses "second", "hour" or "day" (case and surrounding
// space ignored). An empty string yields the default, PrecisionHour.
func ParsePrecision(s string) (Precision, error) {
	switch p := Precision(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return PrecisionHour, nil
	case PrecisionSecond, PrecisionHour, PrecisionDay:
		return p, nil
	}
	return "", fmt.Errorf("deidentify: invalid precision %q: want %q, %q or %q", s, PrecisionSecond, PrecisionHour, PrecisionDay)
}

// rank orders the precisions from finest (0) to coarsest; it is -1 for a
// string that is not a Precision constant.
func (p Precision) rank() int {
	switch p {
	case PrecisionSecond:
		return 0
	case PrecisionHour:
		return 1
	case PrecisionDay:
		return 2
	}
	return -1
}

// Coarser reports whether p publishes strictly less detail than than, e.g.
// PrecisionDay.Coarser(PrecisionHour) is true. It is false if either is not
// one of the Precision constants.
func (p Precision) Coarser(than Precision) bool {
	a, b := p.rank(), than.rank()
	return a >= 0 && b >= 0 && a > b
}

// TruncateTime returns t in UTC rounded down to the precision p: to the
// second, to the hour, or to midnight UTC. The result is never after t,
// truncating it again changes nothing, and an earlier t never gives a later
// result. A p that is not one of the Precision constants truncates to the
// day, so a configuration mistake never publishes more detail than the
// coarsest setting. The monotonic clock reading, if any, is dropped.
func TruncateTime(t time.Time, p Precision) time.Time {
	// Truncate works on the absolute time since the zero time, which is
	// midnight UTC, and Go has no leap seconds, so a multiple of 24h is a
	// UTC midnight.
	d := 24 * time.Hour
	switch p {
	case PrecisionSecond:
		d = time.Second
	case PrecisionHour:
		d = time.Hour
	}
	return t.UTC().Truncate(d)
}
