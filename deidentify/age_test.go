package deidentify

import (
	"testing"
	"time"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestAgeAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		birth, t time.Time
		want     int
	}{
		{"DayBeforeBirthday", date(2000, 6, 15), date(2013, 6, 14), 12},
		{"OnBirthday", date(2000, 6, 15), date(2013, 6, 15), 13},
		{"DayAfterBirthday", date(2000, 6, 15), date(2013, 6, 16), 13},
		{"LateOnDayBeforeBirthday", date(2000, 6, 15), time.Date(2013, 6, 14, 23, 59, 59, 0, time.UTC), 12},
		{"EarlierMonth", date(2000, 6, 15), date(2013, 5, 30), 12},
		{"LaterMonth", date(2000, 6, 15), date(2013, 7, 1), 13},
		{"Leap29FebNonLeapFeb28", date(2000, 2, 29), date(2013, 2, 28), 12},
		{"Leap29FebNonLeapMar1", date(2000, 2, 29), date(2013, 3, 1), 13},
		{"Leap29FebLeapFeb28", date(2000, 2, 29), date(2016, 2, 28), 15},
		{"Leap29FebLeapFeb29", date(2000, 2, 29), date(2016, 2, 29), 16},
		{"SameDay", date(2000, 1, 1), date(2000, 1, 1), 0},
		{"BeforeBirth", date(2000, 6, 15), date(2000, 6, 14), -1},
		{"YearBeforeBirth", date(2000, 6, 15), date(1999, 6, 15), -1},
		{"NewYearsEve", date(2000, 12, 31), date(2013, 12, 31), 13},
		// The calendar date of t in birth's location counts: 23:00 on the
		// 14th in New York is already the 15th in UTC.
		{"OtherLocation", date(2000, 6, 15), time.Date(2013, 6, 14, 23, 0, 0, 0, time.FixedZone("EDT", -4*3600)), 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AgeAt(tt.birth, tt.t); got != tt.want {
				t.Errorf("AgeAt(%s, %s) = %d, want %d", tt.birth, tt.t, got, tt.want)
			}
		})
	}
}

func TestMinAgeFromYear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		year int
		t    time.Time
		want int
	}{
		{2000, date(2013, 12, 30), 12},
		{2000, date(2013, 12, 31), 13},
		{2000, date(2014, 1, 1), 13},
		{2010, date(2024, 3, 1), 13},
		{2011, date(2024, 12, 31), 13},
		{2011, date(2024, 6, 1), 12},
	}
	for _, tt := range tests {
		if got := MinAgeFromYear(tt.year, tt.t); got != tt.want {
			t.Errorf("MinAgeFromYear(%d, %s) = %d, want %d", tt.year, tt.t.Format(time.DateOnly), got, tt.want)
		}
	}
}

func TestAgeBand(t *testing.T) {
	t.Parallel()
	for age, want := range map[int]string{
		-1: "", 0: "0-4", 4: "0-4", 10: "10-14", 13: "10-14", 14: "10-14", 15: "15-19",
		19: "15-19", 20: "20-24", 84: "80-84", 85: "85-89", 89: "85-89", 90: "90+", 120: "90+",
	} {
		if got := AgeBand(age); got != want {
			t.Errorf("AgeBand(%d) = %q, want %q", age, got, want)
		}
	}
}

// fuzzTime maps an arbitrary int64 to a time within a few thousand years of
// 2000, so that date arithmetic stays in range.
func fuzzTime(sec int64) time.Time {
	const span = 5000 * 365 * 24 * 3600
	sec %= span
	return time.Unix(946684800+sec, 0).UTC()
}

func FuzzAgeAt(f *testing.F) {
	f.Add(int64(0), int64(0), int64(86400))
	f.Add(int64(-951782400+946684800), int64(1362096000-946684800), int64(3600)) // 29 Feb 1970-ish
	f.Add(int64(1<<40), int64(-1<<40), int64(1<<33))
	f.Fuzz(func(t *testing.T, birthSec, tSec, deltaSec int64) {
		birth, t1 := fuzzTime(birthSec), fuzzTime(tSec)
		// Always forward, at most two centuries (uint64: -MinInt64 overflows).
		t2 := t1.Add(time.Duration(uint64(deltaSec)%(200*365*24*3600)) * time.Second)
		a1, a2 := AgeAt(birth, t1), AgeAt(birth, t2)
		if a2 < a1 {
			t.Fatalf("age decreased: AgeAt(%s, %s) = %d > AgeAt(.., %s) = %d", birth, t1, a1, t2, a2)
		}
		if !t1.Before(birth) && a1 < 0 {
			t.Fatalf("negative age %d at %s for birth %s", a1, t1, birth)
		}
		if b := AgeBand(a1); (a1 >= 0) != (b != "") {
			t.Fatalf("AgeBand(%d) = %q", a1, b)
		}
		if m := MinAgeFromYear(birth.Year(), t1); m > a1 {
			t.Fatalf("MinAgeFromYear(%d) = %d > AgeAt = %d", birth.Year(), m, a1)
		}
	})
}
