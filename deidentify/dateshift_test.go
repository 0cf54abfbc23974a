package deidentify

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
)

func testMaster(t testing.TB) MasterKey {
	t.Helper()
	k, err := GenerateMasterKey(strings.NewReader(strings.Repeat("date shift test key", 2)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// referenceDateShift is the scheme written the obvious way with
// crypto/hmac, independently of the pooled HMAC state.
func referenceDateShift(master MasterKey, p KeyParams, id string, maxDays int) int {
	key, err := hkdf.Key(sha256.New, master[:], []byte("rexport pseudonym key salt v1"), keyInfo(p), 32)
	if err != nil {
		panic(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("dateshift\x00" + id))
	v := binary.BigEndian.Uint64(m.Sum(nil))
	r := int(v % uint64(2*maxDays))
	if r < maxDays {
		return -(r + 1)
	}
	return r - maxDays + 1
}

func TestDateShiftDays(t *testing.T) {
	t.Parallel()
	master := testMaster(t)
	params := KeyParams{Partner: "mitx", Scope: ScopePartner, Version: 1}
	ps := mustPseudonymizer(t, master, params)
	ids := testIDs(propertyIDs)

	t.Run("MatchesReference", func(t *testing.T) {
		t.Parallel()
		for _, id := range ids[:200] {
			for _, max := range []int{1, 7, 30, 365} {
				if got, want := ps.DateShiftDays(id, max), referenceDateShift(master, params, id, max); got != want {
					t.Fatalf("DateShiftDays(%q, %d) = %d, want %d", id, max, got, want)
				}
			}
		}
	})

	t.Run("Deterministic", func(t *testing.T) {
		t.Parallel()
		again := mustPseudonymizer(t, master, params)
		for _, id := range ids[:1000] {
			if a, b := ps.DateShiftDays(id, 30), again.DateShiftDays(id, 30); a != b {
				t.Fatalf("DateShiftDays(%q) = %d, then %d", id, a, b)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		want := make([]int, 500)
		for i, id := range ids[:len(want)] {
			want[i] = ps.DateShiftDays(id, 90)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 4)
		for range 4 {
			wg.Go(func() {
				for i, id := range ids[:len(want)] {
					// Interleave with pseudonyms, which share the pooled state.
					_ = ps.Pseudonym(KindLearner, id)
					if got := ps.DateShiftDays(id, 90); got != want[i] {
						errs <- id
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for id := range errs {
			t.Errorf("DateShiftDays(%q) differs when called concurrently", id)
		}
	})

	t.Run("NoShiftWithoutRange", func(t *testing.T) {
		t.Parallel()
		for _, max := range []int{0, -1, -365} {
			if got := ps.DateShiftDays("42", max); got != 0 {
				t.Errorf("DateShiftDays(42, %d) = %d, want 0", max, got)
			}
		}
	})

	t.Run("UniformAndNonZero", func(t *testing.T) {
		t.Parallel()
		const maxDays = 30
		counts := make(map[int]int)
		for _, id := range ids {
			d := ps.DateShiftDays(id, maxDays)
			if d == 0 || d < -maxDays || d > maxDays {
				t.Fatalf("DateShiftDays(%q, %d) = %d, out of range", id, maxDays, d)
			}
			counts[d]++
		}
		if len(counts) != 2*maxDays {
			t.Fatalf("%d distinct shifts, want %d", len(counts), 2*maxDays)
		}
		// Chi-squared with 59 degrees of freedom; 100 is beyond its 0.1%
		// tail. The key and ids are fixed, so this never flakes.
		exp := float64(len(ids)) / (2 * maxDays)
		chi2 := 0.0
		sum := 0
		for d, n := range counts {
			chi2 += (float64(n) - exp) * (float64(n) - exp) / exp
			sum += d * n
		}
		if chi2 > 100 {
			t.Errorf("chi-squared = %.1f over %d shifts: not uniform: %v", chi2, 2*maxDays, counts)
		}
		if mean := float64(sum) / float64(len(ids)); mean < -1 || mean > 1 {
			t.Errorf("mean shift %.2f days, want about 0", mean)
		}
		both := 0
		for _, id := range ids[:1000] {
			if d := ps.DateShiftDays(id, 1); d == 1 || d == -1 {
				both += d
			} else {
				t.Fatalf("DateShiftDays(%q, 1) = %d, want ±1", id, d)
			}
		}
		if both < -150 || both > 150 {
			t.Errorf("maxDays 1: sum of 1000 shifts is %d, want near 0", both)
		}
	})

	t.Run("DiffersBetweenKeys", func(t *testing.T) {
		t.Parallel()
		others := []KeyParams{
			{Partner: "harvardx", Scope: ScopePartner, Version: 1},
			{Partner: "mitx", Scope: ScopeRequest, RequestID: "req-1", Version: 1},
			{Partner: "mitx", Scope: ScopePartner, Version: 2},
		}
		for _, op := range others {
			other := mustPseudonymizer(t, master, op)
			same := 0
			for _, id := range ids[:1000] {
				if ps.DateShiftDays(id, 365) == other.DateShiftDays(id, 365) {
					same++
				}
			}
			// Independent shifts agree with probability 1/730.
			if same > 10 {
				t.Errorf("%+v: %d of 1000 shifts equal the mitx ones", op, same)
			}
		}
	})
}

func FuzzDateShiftDays(f *testing.F) {
	ps := mustPseudonymizer(f, testMaster(f), KeyParams{Partner: "p", Scope: ScopePartner, Version: 1})
	f.Fuzz(func(t *testing.T, id string, maxDays int) {
		d := ps.DateShiftDays(id, maxDays)
		switch {
		case maxDays < 1 && d != 0:
			t.Fatalf("DateShiftDays(%q, %d) = %d, want 0", id, maxDays, d)
		case maxDays >= 1 && (d == 0 || d < -maxDays || d > maxDays):
			t.Fatalf("DateShiftDays(%q, %d) = %d, out of range", id, maxDays, d)
		case ps.DateShiftDays(id, maxDays) != d:
			t.Fatalf("DateShiftDays(%q, %d) is not deterministic", id, maxDays)
		}
	})
}
