package export

import (
	"strconv"
	"testing"
)

// TestPseudonymCache checks that the cache gives what it wraps, computes
// each id once while it is remembered, and starts over at its bound.
func TestPseudonymCache(t *testing.T) {
	calls := map[string]int{}
	p := newPseudonymCache(func(id string) string {
		calls[id]++
		return "p_" + id
	})
	for _, id := range []string{"a", "b", "a", "a", "b"} {
		if got := p(id); got != "p_"+id {
			t.Fatalf("p(%q) = %q", id, got)
		}
	}
	if calls["a"] != 1 || calls["b"] != 1 {
		t.Errorf("computed a %d times and b %d times, want once each", calls["a"], calls["b"])
	}
	// Fill the cache to its bound: the next new id clears it, so "a" is
	// computed again.
	for i := range pseudonymCacheSize {
		p(strconv.Itoa(i))
	}
	if p("a"); calls["a"] != 2 {
		t.Errorf("after %d more ids, a computed %d times in all, want 2 (the cache is bounded)", pseudonymCacheSize, calls["a"])
	}
}
