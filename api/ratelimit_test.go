package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/internal/storetest"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestRateLimit sends requests faster than a limit of one a second with a
// burst of two: per token once the token is valid, per client address
// otherwise.
func TestRateLimit(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	svc := &export.Service{Store: db}
	root := export.Principal{ID: "local-admin", Role: export.RoleAdmin}
	tokens := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		_, token, err := svc.CreatePrincipal(ctx, root, name, export.RoleAdmin, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = token
	}
	clock := &fakeClock{t: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
	h, err := api.NewHandler(api.Config{Service: svc, Store: db, RateLimit: api.RateLimit{PerSecond: 1, Burst: 2}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// get sends GET /v1/exports from addr with token; it returns the
	// status, the error code and the Retry-After header.
	get := func(t *testing.T, addr, token string) (int, string, string) {
		t.Helper()
		req := httptest.NewRequest("GET", "/v1/exports", nil)
		req.RemoteAddr = addr + ":40000"
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var e api.Error
		if rec.Code >= 400 {
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("error body %q: %v", rec.Body.String(), err)
			}
		}
		return rec.Code, string(e.Code), rec.Header().Get("Retry-After")
	}
	// limited checks that a request is refused with 429, rate_limited and
	// a Retry-After of at least a second, and returns that wait.
	limited := func(t *testing.T, addr, token string) time.Duration {
		t.Helper()
		status, code, retry := get(t, addr, token)
		secs, err := strconv.Atoi(retry)
		if status != http.StatusTooManyRequests || code != "rate_limited" || err != nil || secs < 1 {
			t.Fatalf("got %d %q Retry-After %q; want 429 rate_limited with Retry-After >= 1", status, code, retry)
		}
		return time.Duration(secs) * time.Second
	}
	allowed := func(t *testing.T, addr, token string, want int) {
		t.Helper()
		if status, code, retry := get(t, addr, token); status != want || retry != "" {
			t.Fatalf("got %d %q Retry-After %q; want %d", status, code, retry, want)
		}
	}

	t.Run("PerToken", func(t *testing.T) {
		allowed(t, "192.0.2.1", tokens["a"], http.StatusOK)
		allowed(t, "192.0.2.1", tokens["a"], http.StatusOK)
		wait := limited(t, "192.0.2.1", tokens["a"])
		// The same token from another address shares the bucket.
		limited(t, "192.0.2.99", tokens["a"])
		// Another token is not affected.
		allowed(t, "192.0.2.1", tokens["b"], http.StatusOK)

		clock.Advance(wait - time.Millisecond)
		limited(t, "192.0.2.1", tokens["a"])
		clock.Advance(time.Millisecond)
		allowed(t, "192.0.2.1", tokens["a"], http.StatusOK)
		limited(t, "192.0.2.1", tokens["a"])
	})
	t.Run("BadTokensPerAddress", func(t *testing.T) {
		for _, bad := range []string{"rx_not-a-token", "rx_another-guess"} {
			allowed(t, "198.51.100.7", bad, http.StatusUnauthorized)
		}
		limited(t, "198.51.100.7", "rx_third-guess")
		limited(t, "198.51.100.7", "") // no token at all: the same bucket
		// Another address guessing is not affected...
		allowed(t, "198.51.100.8", "rx_not-a-token", http.StatusUnauthorized)
		// ...nor is a valid token from the limited address.
		allowed(t, "198.51.100.7", tokens["c"], http.StatusOK)

		clock.Advance(time.Second)
		allowed(t, "198.51.100.7", "rx_fourth-guess", http.StatusUnauthorized)
		limited(t, "198.51.100.7", "rx_fifth-guess")
	})
}
