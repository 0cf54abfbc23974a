package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/riverqueue"
)

// TestQueueRunsBuilds has one process work builds and others, API-only,
// approve exports: each approval's job reaches the worker. Workers find
// jobs by polling on every backend; where the backend notifies, a worker
// that would poll only once an hour is woken by the insert instead.
func TestQueueRunsBuilds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		modes := []struct {
			name     string
			pollOnly bool
			poll     time.Duration
		}{{"Polling", true, 50 * time.Millisecond}}
		if be.listens {
			modes = append(modes, struct {
				name     string
				pollOnly bool
				poll     time.Duration
			}{"Notified", false, time.Hour})
		}
		for _, mode := range modes {
			t.Run(mode.name, func(t *testing.T) {
				ctx := context.Background()
				where := be.newDatabase(t)
				worker := populate(t, be.open(t, where))
				built := make(chan string, 10)
				q, err := worker.db.newQueue(ctx, riverqueue.Config{
					// Two slots, so that a fetch never fills them and a
					// finished build does not fetch again on its own.
					Workers: 2,
					Build: func(_ context.Context, id string, _ int, lastAttempt bool) error {
						if lastAttempt {
							t.Errorf("build of %s: first attempt marked last", id)
						}
						built <- id
						return nil
					},
					PollInterval: mode.poll,
					PollOnly:     mode.pollOnly,
					BuildTimeout: 2 * time.Hour,
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := q.Start(ctx); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					if err := q.Stop(ctx); err != nil {
						t.Errorf("stop workers: %v", err)
					}
				})

				// Each export is approved by an API process of its own (a
				// River client notifies at most once per 100ms). The second
				// is approved after the first is built: the worker has
				// fetched by then and, if it does not poll, only the
				// insert's notification wakes it.
				for _, id := range []string{"exp_1", "exp_2"} {
					api := be.open(t, where)
					api.SetClock(func() time.Time { return worker.now })
					if _, err := api.newQueue(ctx, riverqueue.Config{}); err != nil {
						t.Fatal(err)
					}
					if id != "exp_1" {
						if err := api.CreateExport(ctx, &export.Export{ID: id, PartnerID: "p1", RequestedBy: "r1", State: export.StateSubmitted,
							CreatedAt: worker.now, UpdatedAt: worker.now}); err != nil {
							t.Fatal(err)
						}
					}
					if _, err := api.Decide(ctx, id, export.Decision{ReviewerID: "v1", Approved: true, At: worker.now}, 1); err != nil {
						t.Fatal(err)
					}
					select {
					case got := <-built:
						if got != id {
							t.Fatalf("built %s, want %s", got, id)
						}
					case <-time.After(30 * time.Second):
						t.Fatalf("%s approved, but no worker built it within 30s", id)
					}
				}
			})
		}
	})
}
