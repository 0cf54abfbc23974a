package riverqueue

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRiverConfig checks how a queue's configuration becomes River's.
func TestRiverConfig(t *testing.T) {
	build := func(context.Context, string, bool) error { return nil }
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
		{"Defaults", Config{}, true, got{Poll: time.Second, Cooldown: 100 * time.Millisecond, SkipUnknownJobs: true}},
		{"NoListenerPolls", Config{}, false, got{PollOnly: true, Poll: time.Second, Cooldown: 100 * time.Millisecond, SkipUnknownJobs: true}},
		{"PollOnly", Config{PollOnly: true}, true, got{PollOnly: true, Poll: time.Second, Cooldown: 100 * time.Millisecond, SkipUnknownJobs: true}},
		{"FastPoll", Config{PollInterval: 50 * time.Millisecond}, false, got{PollOnly: true, Poll: 50 * time.Millisecond, Cooldown: 50 * time.Millisecond, SkipUnknownJobs: true}},
		{"SlowPollKeepsCooldown", Config{PollInterval: time.Minute}, true, got{Poll: time.Minute, Cooldown: 100 * time.Millisecond, SkipUnknownJobs: true}},
		{"RescueAfter", Config{RescueAfter: 6 * time.Hour}, true, got{Poll: time.Second, Cooldown: 100 * time.Millisecond, Rescue: 6 * time.Hour, SkipUnknownJobs: true}},
		{"Workers", Config{Workers: 3, Build: build, Sweep: func(context.Context) error { return nil }}, true,
			got{Poll: time.Second, Cooldown: 100 * time.Millisecond, Workers: 3, Periodic: 1}},
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
