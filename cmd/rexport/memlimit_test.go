package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "512MiB": 512 << 20, "2GiB": 2 << 30, "300MB": 300e6, "64 KiB": 64 << 10, "7B": 7} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-5MiB", "0", "1.5GiB", "12TB", "9223372036854775807GiB", "lots"} {
		if got, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", in, got)
		}
	}
}

func TestApplyMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "")
	for _, tt := range []struct {
		v      string
		builds int
		want   int64
	}{
		{"auto", 1, 256 << 20},
		{"auto", 3, 3 * 256 << 20},
		{"off", 1, math.MaxInt64},
		{"1GiB", 2, 1 << 30},
	} {
		got, _, err := applyMemoryLimit(tt.v, tt.builds)
		if err != nil || got != tt.want {
			t.Errorf("applyMemoryLimit(%q, %d) = %d, %v; want %d", tt.v, tt.builds, got, err, tt.want)
		}
		if now := debug.SetMemoryLimit(-1); now != tt.want {
			t.Errorf("after applyMemoryLimit(%q, %d) the runtime's limit is %d, want %d", tt.v, tt.builds, now, tt.want)
		}
	}
	// GOMEMLIMIT wins over auto, and an API-only process (no builds)
	// keeps the runtime's limit.
	debug.SetMemoryLimit(123 << 20)
	t.Setenv("GOMEMLIMIT", "123MiB")
	if got, auto, _ := applyMemoryLimit("auto", 1); got != 123<<20 || auto {
		t.Errorf("auto with GOMEMLIMIT set: limit %d, want GOMEMLIMIT's", got)
	}
	t.Setenv("GOMEMLIMIT", "")
	if got, auto, _ := applyMemoryLimit("auto", 0); got != 123<<20 || auto {
		t.Errorf("auto with no builds: limit %d, want the runtime's", got)
	}
	if _, _, err := applyMemoryLimit("huge", 1); err == nil {
		t.Error("applyMemoryLimit(huge) succeeded")
	}
}

func TestNextMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct{ live, limit, want int64 }{
		{100 * mib, 256 * mib, 256 * mib}, // room: unchanged
		{192 * mib, 256 * mib, 256 * mib}, // at three quarters: unchanged
		{200 * mib, 256 * mib, 400 * mib}, // past: twice the live heap
		{100 * mib, 400 * mib, 400 * mib}, // never lowered
	} {
		if got := nextMemoryLimit(tt.live, tt.limit); got != tt.want {
			t.Errorf("nextMemoryLimit(%d MiB, %d MiB) = %d MiB, want %d MiB", tt.live/mib, tt.limit/mib, got/mib, tt.want/mib)
		}
	}
}
