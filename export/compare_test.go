package export

import (
	"testing"
	"time"
)

func TestCompareValues(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		a, b any
		want int
	}{
		{nil, nil, 0}, {nil, "a", -1}, {"a", nil, 1},
		{"B", "a", -1}, // by bytes, not by case-folded text
		{"a", "ab", -1}, {"é", "z", 1},
		{int64(-1), int64(2), -1}, {1.5, 1.5, 0},
		{t0, t0.Add(time.Nanosecond), -1},
		{false, true, -1}, {true, true, 0},
	} {
		if got := CompareValues(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareValues(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := CompareValues(tt.b, tt.a); got != -tt.want {
			t.Errorf("CompareValues(%v, %v) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}
