package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/rexport/rexport/export"
)

// TestConcurrentAuditAppends has several processes (each a DB of its own,
// with its own pool) append to one audit log at once, through Audit and
// through state changes that audit, and checks that the chain neither
// forked nor has gaps: it verifies, its ids run 1..n, and every append is
// in it once.
func TestConcurrentAuditAppends(t *testing.T) {
	const processes, appends = 4, 25
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		where := be.newDatabase(t)
		first := be.open(t, where)
		before, _, _, err := first.VerifyAudit(ctx)
		if err != nil || before != nil {
			t.Fatalf("empty log: %+v, %v", before, err)
		}
		dbs := []*testDB{first}
		for range processes - 1 {
			dbs = append(dbs, be.open(t, where))
		}
		var wg sync.WaitGroup
		errs := make(chan error, processes*appends)
		for p, db := range dbs {
			wg.Go(func() {
				for i := range appends {
					var err error
					switch i % 5 {
					case 0: // a state change and its entry in one transaction
						err = db.CreatePartner(ctx, export.Partner{ID: fmt.Sprintf("p%d-%d", p, i), Name: "n"}, "admin")
					case 1: // an entry after locking the head first
						_, err = db.RotateKey(ctx, fmt.Sprintf("admin%d", p))
					default:
						err = db.Audit(ctx, export.AuditEntry{PrincipalID: fmt.Sprintf("prn_%d", p), Action: "export.download",
							ExportID: fmt.Sprintf("exp_%d_%d", p, i), Detail: "table=grades"})
					}
					if err != nil {
						errs <- fmt.Errorf("process %d, append %d: %w", p, i, err)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		problem, n, _, err := first.VerifyAudit(ctx)
		if err != nil || problem != nil || n != processes*appends {
			t.Fatalf("after concurrent appends: problem %+v, %d entries (want %d), %v", problem, n, processes*appends, err)
		}
		log, err := first.AuditPage(ctx, 0, 2*processes*appends)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, e := range log {
			if e.ID != int64(i+1) {
				t.Fatalf("entry %d has id %d: ids have gaps", i+1, e.ID)
			}
			key := e.Action + " " + e.PrincipalID + " " + e.ExportID + " " + e.PartnerID + " " + e.Detail
			if seen[key] {
				t.Errorf("entry %d (%s) is in the log twice", e.ID, key)
			}
			seen[key] = true
		}
		// Rotations numbered their versions one after another.
		if v, err := first.KeyVersion(ctx); err != nil || v != 1+processes*appends/5 {
			t.Errorf("key version %d, %v; want %d", v, err, 1+processes*appends/5)
		}
	})
}

// TestConcurrentDecisions has two processes approve the same dual-approval
// request at once, each for a different reviewer, on many requests: the
// second approval always sees the first, so each request is queued exactly
// once, with one build job. (The two overlap often, not always: a store
// that lets them interleave fails here most runs, not every run.)
func TestConcurrentDecisions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		where := be.newDatabase(t)
		b := populate(t, be.open(t, where))
		if err := b.db.CreatePrincipal(ctx, export.Principal{ID: "v2", Name: "second reviewer", Role: export.RoleReviewer}, export.HashToken("token-v2"), "admin"); err != nil {
			t.Fatal(err)
		}
		other := be.open(t, where)
		var mu sync.Mutex
		jobs := map[string]int{}
		for _, db := range []*testDB{b.db, other} {
			db.setEnqueuer(func(id string, _ int) error {
				mu.Lock()
				defer mu.Unlock()
				jobs[id]++
				return nil
			})
		}
		req := export.Request{Title: "t", Purpose: "p", Courses: []string{"c1"}, Tables: []string{"grades"}, Linkage: export.LinkagePartner, IncludeFreeText: true}
		for i := range 20 {
			id := fmt.Sprintf("exp_dual_%d", i)
			if err := b.db.CreateExport(ctx, &export.Export{ID: id, PartnerID: "p1", RequestedBy: "r1", Request: req, State: export.StateSubmitted, CreatedAt: b.now, UpdatedAt: b.now}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for j, db := range []*testDB{b.db, other} {
				wg.Go(func() {
					<-start
					if _, err := db.Decide(ctx, id, export.Decision{ReviewerID: []string{"v1", "v2"}[j], Approved: true, At: b.now}, 2); err != nil {
						t.Errorf("%s: approval %d: %v", id, j+1, err)
					}
				})
			}
			close(start)
			wg.Wait()
			e, err := b.db.Export(ctx, id, "", true)
			if err != nil {
				t.Fatal(err)
			}
			if e.State != export.StateQueued || e.Approvals() != 2 || jobs[id] != 1 {
				t.Errorf("%s after two concurrent approvals: %s with %d approvals and %d build jobs; want queued, 2, 1", id, e.State, e.Approvals(), jobs[id])
			}
		}
		if p, _, _, err := b.db.VerifyAudit(ctx); err != nil || p != nil {
			t.Errorf("audit log after concurrent decisions: %+v, %v", p, err)
		}
	})
}
