package api

import (
	"math"
	"sync"
	"time"
)

// RateLimit is a token bucket: Burst requests at once, refilled at
// PerSecond. The zero value means DefaultRateLimit.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// DefaultRateLimit is each token's (and each address's, for requests
// without a valid token) limit.
var DefaultRateLimit = RateLimit{PerSecond: 20, Burst: 40}

// limiter keeps one bucket per key (a principal id, or a client address).
// Buckets idle long enough to be full again are dropped, so memory is
// bounded by the keys active in the last few seconds.
type limiter struct {
	rate  RateLimit
	now   func() time.Time
	mu    sync.Mutex
	b     map[string]*bucket
	swept time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(r RateLimit, now func() time.Time) *limiter {
	if r.PerSecond <= 0 || r.Burst <= 0 {
		r = DefaultRateLimit
	}
	if now == nil {
		now = time.Now
	}
	return &limiter{rate: r, now: now, b: map[string]*bucket{}}
}

// allow takes one token from key's bucket. When it is empty it returns
// false and how long until a token is back.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	full := time.Duration(float64(l.rate.Burst) / l.rate.PerSecond * float64(time.Second))
	if now.Sub(l.swept) > full {
		for k, b := range l.b {
			if now.Sub(b.at) > full {
				delete(l.b, k)
			}
		}
		l.swept = now
	}
	b, ok := l.b[key]
	if !ok {
		b = &bucket{tokens: float64(l.rate.Burst), at: now}
		l.b[key] = b
	}
	b.tokens = math.Min(float64(l.rate.Burst), b.tokens+now.Sub(b.at).Seconds()*l.rate.PerSecond)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate.PerSecond * float64(time.Second))
	return false, wait
}
