package riverqueue

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRiverConfig checks how a queue's configuration becomes River's.
func TestRiverConfig(t *testing.T) {
	build := func(context.Context, string, int, bool) error { return nil }
	// River rescues a build's job after its timeout, a day by default.
	const day = 24*time.Hour + time.Minute
	type got struct {
		PollOnly        bool
		Poll, Cooldown  time.Duration
		Rescue          time.Duration
		Workers         int
		Periodic        int
		SkipUnknownJobs bool
	}
	tests := []struct {
		name   string
		cfg    Config
		listen bool
		want   got
	}{
		{"Defaults", Config{}, true, got{Poll: time.Second, Cooldown: 100 * time.Millisecond, Rescue: day, SkipUnknownJobs: true}},
		{"NoListenerPolls", Config{}, false, got{PollOnly: true, Poll: time.Second, Cooldown: 100 * time.Millisecond, Rescue: day, SkipUnknownJobs: true}},
		{"PollOnly", Config{PollOnly: true}, true, got{PollOnly: true, Poll: time.Second, Cooldown: 100 * time.Millisecond, Rescue: day, SkipUnknownJobs: true}},
		{"FastPoll", Config{PollInterval: 50 * time.Millisecond}, false, got{PollOnly: true, Poll: 50 * time.Millisecond, Cooldown: 50 * time.Millisecond, Rescue: day, SkipUnknownJobs: true}},
		{"SlowPollKeepsCooldown", Config{PollInterval: time.Minute}, true, got{Poll: time.Minute, Cooldown: 100 * time.Millisecond, Rescue: day, SkipUnknownJobs: true}},
		{"BuildTimeout", Config{BuildTimeout: 6 * time.Hour}, true, got{Poll: time.Second, Cooldown: 100 * time.Millisecond, Rescue: 6*time.Hour + time.Minute, SkipUnknownJobs: true}},
		{"Workers", Config{Workers: 3, Build: build, Sweep: func(context.Context) error { return nil }}, true,
			got{Poll: time.Second, Cooldown: 100 * time.Millisecond, Rescue: day, Workers: 3, Periodic: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := riverConfig(tt.cfg, tt.listen)
			g := got{PollOnly: rc.PollOnly, Poll: rc.FetchPollInterval, Cooldown: rc.FetchCooldown, Rescue: rc.RescueStuckJobsAfter,
				Periodic: len(rc.PeriodicJobs), SkipUnknownJobs: rc.SkipUnknownJobCheck}
			for _, q := range rc.Queues {
				g.Workers += q.MaxWorkers
			}
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("River config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryBackoff(t *testing.T) {
	want := []time.Duration{2 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, 64 * time.Second, 2 * time.Minute, 2 * time.Minute, 2 * time.Minute}
	for attempt, w := range want {
		if got := retryBackoff(attempt); got != w {
			t.Errorf("retryBackoff(%d) = %v, want %v", attempt, got, w)
		}
	}
	if got := retryBackoff(1000); got != 2*time.Minute {
		t.Errorf("retryBackoff(1000) = %v, want the two-minute cap", got)
	}
}
