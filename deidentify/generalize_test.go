package deidentify

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAgeBand10(t *testing.T) {
	t.Parallel()
	for age, want := range map[int]string{
		-1: "", -100: "", 0: "0-9", 9: "0-9", 10: "10-19", 13: "10-19", 19: "10-19", 20: "20-29",
		55: "50-59", 80: "80-89", 89: "80-89", 90: "90+", 120: "90+",
	} {
		if got := AgeBand10(age); got != want {
			t.Errorf("AgeBand10(%d) = %q, want %q", age, got, want)
		}
	}
}

func TestWidenAgeBand(t *testing.T) {
	t.Parallel()
	for band, want := range map[string]string{
		"0-4": "0-9", "5-9": "0-9", "10-14": "10-19", "15-19": "10-19", "20-24": "20-29",
		"80-84": "80-89", "85-89": "80-89", "90+": "90+",
		// Ten-year bands are fixed points.
		"10-19": "10-19", "80-89": "80-89", "0-9": "0-9",
		// Not bands: null.
		"": "", "unknown": "", "15": "", "15-": "", "-19": "", "15-18": "", "16-20": "",
		"90-94": "", "95+": "", "85+": "", "05-09": "", "+5-9": "", "15-19 ": "", "-5-9": "",
		"10-19-29": "", "15–19": "",
	} {
		if got := WidenAgeBand(band); got != want {
			t.Errorf("WidenAgeBand(%q) = %q, want %q", band, got, want)
		}
	}
}

// bandLow returns the lower bound of a band from AgeBand or AgeBand10.
func bandLow(t *testing.T, band string) int {
	t.Helper()
	lo, _, _ := strings.Cut(strings.TrimSuffix(band, "+"), "-")
	n, err := strconv.Atoi(lo)
	if err != nil {
		t.Fatalf("band %q: %v", band, err)
	}
	return n
}

func FuzzAgeBand10(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b int) {
		if a > b {
			a, b = b, a
		}
		ba, bb := AgeBand10(a), AgeBand10(b)
		if w := WidenAgeBand(AgeBand(a)); w != ba {
			t.Fatalf("WidenAgeBand(AgeBand(%d)) = %q, want AgeBand10 = %q", a, w, ba)
		}
		if (ba == "") != (a < 0) || (bb == "") != (b < 0) {
			t.Fatalf("AgeBand10(%d) = %q, AgeBand10(%d) = %q", a, ba, b, bb)
		}
		if a >= 0 && bandLow(t, ba) > bandLow(t, bb) {
			t.Fatalf("AgeBand10(%d) = %q is above AgeBand10(%d) = %q", a, ba, b, bb)
		}
		if a >= 0 && bandLow(t, ba) > a {
			t.Fatalf("AgeBand10(%d) = %q does not contain the age", a, ba)
		}
	})
}

func FuzzWidenAgeBand(f *testing.F) {
	f.Fuzz(func(t *testing.T, band string) {
		w := WidenAgeBand(band)
		if WidenAgeBand(w) != w {
			t.Fatalf("WidenAgeBand(%q) = %q is not a fixed point", band, w)
		}
		if w != "" && AgeBand10(bandLow(t, w)) != w {
			t.Fatalf("WidenAgeBand(%q) = %q is not a ten-year band", band, w)
		}
	})
}

func TestParsePrecision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Precision
		wantErr bool
	}{
		{"", PrecisionHour, false},
		{"  ", PrecisionHour, false},
		{"second", PrecisionSecond, false},
		{"hour", PrecisionHour, false},
		{"day", PrecisionDay, false},
		{" Day\n", PrecisionDay, false},
		{"HOUR", PrecisionHour, false},
		{"minute", "", true},
		{"days", "", true},
		{"d", "", true},
	}
	for _, tt := range tests {
		got, err := ParsePrecision(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParsePrecision(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), strconv.Quote(tt.in)) {
			t.Errorf("ParsePrecision(%q): error %q does not name the input", tt.in, err)
		}
	}
}

func TestPrecisionCoarser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p, than Precision
		want    bool
	}{
		{PrecisionDay, PrecisionHour, true},
		{PrecisionDay, PrecisionSecond, true},
		{PrecisionHour, PrecisionSecond, true},
		{PrecisionHour, PrecisionDay, false},
		{PrecisionSecond, PrecisionHour, false},
		{PrecisionSecond, PrecisionDay, false},
		{PrecisionDay, PrecisionDay, false},
		{PrecisionHour, PrecisionHour, false},
		{"week", PrecisionDay, false},
		{PrecisionDay, "week", false},
		{"", PrecisionSecond, false},
	}
	for _, tt := range tests {
		if got := tt.p.Coarser(tt.than); got != tt.want {
			t.Errorf("%q.Coarser(%q) = %v, want %v", tt.p, tt.than, got, tt.want)
		}
	}
}

func TestTruncateTime(t *testing.T) {
	t.Parallel()
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		in   time.Time
		p    Precision
		want time.Time
	}{
		{time.Date(2024, 3, 5, 14, 37, 12, 999, time.UTC), PrecisionSecond, time.Date(2024, 3, 5, 14, 37, 12, 0, time.UTC)},
		{time.Date(2024, 3, 5, 14, 37, 12, 999, time.UTC), PrecisionHour, time.Date(2024, 3, 5, 14, 0, 0, 0, time.UTC)},
		{time.Date(2024, 3, 5, 14, 37, 12, 999, time.UTC), PrecisionDay, time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)},
		// The day is the UTC day: 00:30 in CET is still the day before.
		{time.Date(2024, 3, 6, 0, 30, 0, 0, cet), PrecisionDay, time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)},
		{time.Date(2024, 3, 6, 0, 30, 0, 0, cet), PrecisionHour, time.Date(2024, 3, 5, 23, 0, 0, 0, time.UTC)},
		// A half-hour zone: the hour is the UTC hour.
		{time.Date(2024, 3, 6, 10, 45, 0, 0, time.FixedZone("IST", 5*3600+1800)), PrecisionHour, time.Date(2024, 3, 6, 5, 0, 0, 0, time.UTC)},
		{time.Date(1969, 12, 31, 23, 59, 59, 5, time.UTC), PrecisionDay, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{time.Date(-50, 6, 1, 12, 0, 0, 1, time.UTC), PrecisionDay, time.Date(-50, 6, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2024, 3, 5, 14, 37, 12, 0, time.UTC), "fortnight", time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got := TruncateTime(tt.in, tt.p)
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("TruncateTime(%s, %q) = %s, want %s", tt.in, tt.p, got, tt.want)
		}
	}
	// The monotonic clock reading is dropped, so == compares wall times.
	now := time.Now()
	if got := TruncateTime(now, PrecisionSecond); got != TruncateTime(got, PrecisionSecond) {
		t.Errorf("TruncateTime(now) kept a monotonic reading: %v", got)
	}
}

// fuzzInstant maps arbitrary integers to an instant within about 10,000
// years of 1970, where time arithmetic cannot overflow.
func fuzzInstant(sec, nsec int64) time.Time {
	const span = 10_000 * 366 * 24 * 3600
	return time.Unix(sec%span, nsec%1e9)
}

var precisions = []Precision{PrecisionSecond, PrecisionHour, PrecisionDay}

func FuzzTruncateTime(f *testing.F) {
	f.Fuzz(func(t *testing.T, sec1, nsec1, sec2, nsec2 int64) {
		t1, t2 := fuzzInstant(sec1, nsec1), fuzzInstant(sec2, nsec2)
		if t2.Before(t1) {
			t1, t2 = t2, t1
		}
		prev := t1
		for _, p := range precisions {
			u1, u2 := TruncateTime(t1, p), TruncateTime(t2, p)
			if u1.Location() != time.UTC {
				t.Fatalf("TruncateTime(%s, %s) is in %s", t1, p, u1.Location())
			}
			if u1.After(t1) {
				t.Fatalf("TruncateTime(%s, %s) = %s is after it", t1, p, u1)
			}
			if again := TruncateTime(u1, p); !again.Equal(u1) {
				t.Fatalf("TruncateTime(%s, %s) = %s, but truncating again gives %s", t1, p, u1, again)
			}
			if u2.Before(u1) {
				t.Fatalf("%s <= %s but at %s %s > %s", t1, t2, p, u1, u2)
			}
			if u1.After(prev) {
				t.Fatalf("at %s %s is after the finer %s", p, u1, prev)
			}
			prev = u1
		}
		if d := t1.Sub(TruncateTime(t1, PrecisionDay)); d >= 24*time.Hour {
			t.Fatalf("TruncateTime(%s, day) is %s before it", t1, d)
		}
	})
}
