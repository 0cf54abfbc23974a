package export

import (
	"strconv"
	"sync"
	"testing"
)

// TestPseudonymCache checks that the cache gives what it wraps, computes
// each id once while it is remembered, and starts over at its bound.
func TestPseudonymCache(t *testing.T) {
	calls := map[string]int{}
	p := newPseudonymCache(func(id string) string {
		calls[id]++
		return "p_" + id
	}).get
	for _, id := range []string{"a", "b", "a", "a", "b"} {
		if got := p(id); got != "p_"+id {
			t.Fatalf("p(%q) = %q", id, got)
		}
	}
	if calls["a"] != 1 || calls["b"] != 1 {
		t.Errorf("computed a %d times and b %d times, want once each", calls["a"], calls["b"])
	}
	// Add twice as many ids as the bound: every shard passes its part of
	// it (a shard gets 1/64 of the ids, give or take a few dozen), so
	// "a"'s shard has been cleared and "a" is computed again.
	c := newPseudonymCache(func(id string) string { calls[id]++; return "p_" + id })
	c.get("a")
	for i := range 2 * pseudonymCacheSize {
		c.get(strconv.Itoa(i))
	}
	held := 0
	for i := range c.shards {
		held += len(c.shards[i].m)
	}
	if held > pseudonymCacheSize {
		t.Errorf("the cache holds %d pseudonyms, more than its bound %d", held, pseudonymCacheSize)
	}
	if c.get("a"); calls["a"] != 3 {
		t.Errorf("after %d more ids, a computed %d times in all, want 3 (the cache is bounded)", 2*pseudonymCacheSize, calls["a"])
	}
}

// TestPseudonymCacheConcurrent: workers of concurrent tables share a
// cache (run with -race).
func TestPseudonymCacheConcurrent(t *testing.T) {
	c := newPseudonymCache(func(id string) string { return "p_" + id })
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 20000 {
				id := strconv.Itoa((i * (w + 1)) % 5000)
				if got := c.get(id); got != "p_"+id {
					t.Errorf("get(%q) = %q", id, got)
					return
				}
			}
		})
	}
	wg.Wait()
}
