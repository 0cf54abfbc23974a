package export_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/blobstore"
	"github.com/rexport/rexport/export/sqlite"
)

// runnerDB opens a metadata store with partner p1, its researcher r1 and
// reviewer v1; builds enqueue nothing.
func runnerDB(t *testing.T) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetEnqueuer(func(context.Context, *sql.Tx, string, int) error { return nil })
	for _, err := range []error{
		db.CreatePartner(ctx, export.Partner{ID: "p1", Name: "P", Courses: []string{"c1"}}, "admin"),
		db.CreatePrincipal(ctx, export.Principal{ID: "r1", Name: "r", Role: export.RoleResearcher, PartnerID: "p1"}, []byte("h1"), "admin"),
		db.CreatePrincipal(ctx, export.Principal{ID: "v1", Name: "v", Role: export.RoleReviewer}, []byte("h2"), "admin"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// startBuilding files export id, approves it and starts its build under
// lease.
func startBuilding(t *testing.T, db *sqlite.DB, id, lease string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateExport(ctx, &export.Export{ID: id, PartnerID: "p1", RequestedBy: "r1", State: export.StateSubmitted, CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Decide(ctx, id, export.Decision{ReviewerID: "v1", Approved: true, At: at}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.StartBuild(ctx, id, 1, 0, lease, time.Time{}); err != nil {
		t.Fatal(err)
	}
}

func TestSweepEnforcesRetention(t *testing.T) {
	ctx := context.Background()
	db := runnerDB(t)
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	startBuilding(t, db, "exp_a", testLease, t0)

	dir := t.TempDir()
	files, err := blobstore.OpenDir(dir)
	must(err)
	defer files.Close()
	r := &export.Runner{Store: db, Files: files}
	local := filepath.Join(t.TempDir(), "grades.parquet")
	must(os.WriteFile(local, []byte("data"), 0o640))
	// "backups" is not an export's folder: the sweep never touches it.
	for _, d := range []string{"exp_a", "exp_orphan", "backups"} {
		must(files.Put(ctx, d+"/grades.parquet", local))
	}
	must(db.FinishBuild(ctx, "exp_a", testLease, export.BuildResult{Files: []export.File{{Name: "grades.parquet"}}, ReadyAt: t0, ExpiresAt: t0.Add(time.Hour)}))

	svc := &export.Service{Store: db, Now: func() time.Time { return t0.Add(30 * time.Minute) }}
	researcher := export.Principal{ID: "r1", Role: export.RoleResearcher, PartnerID: "p1"}
	if _, _, err := svc.Downloadable(ctx, researcher, "exp_a", "grades.parquet"); err != nil {
		t.Fatalf("before expiry: %v", err)
	}

	// Before the expiry only the orphan (no export) goes.
	n, err := r.Sweep(ctx, t0.Add(59*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("Sweep before expiry removed %d (%v), want the orphan only", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "exp_a", "grades.parquet")); err != nil {
		t.Fatalf("ready export's files removed before expiry: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "exp_orphan")); !os.IsNotExist(err) {
		t.Errorf("orphan's files still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "backups", "grades.parquet")); err != nil {
		t.Errorf("the sweep deleted a folder that is not an export's: %v", err)
	}

	// Past the expiry the service refuses downloads even before a sweep.
	svc.Now = func() time.Time { return t0.Add(61 * time.Minute) }
	if _, _, err := svc.Downloadable(ctx, researcher, "exp_a", "grades.parquet"); export.ErrorCode(err) != export.ECONFLICT {
		t.Errorf("download after expiry: err = %v, want conflict", err)
	}
	n, err = r.Sweep(ctx, t0.Add(61*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("Sweep after expiry removed %d (%v), want 1", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "exp_a")); !os.IsNotExist(err) {
		t.Errorf("expired export's files still there: %v", err)
	}
	e, err := db.Export(ctx, "exp_a", "", true)
	must(err)
	if e.State != export.StateExpired {
		t.Errorf("state after sweep = %s, want expired", e.State)
	}
	log, err := db.AuditLog(ctx, "exp_a")
	must(err)
	if n := len(log); n < 2 || log[n-2].Action != "export.expire" || log[n-1].Action != "export.files.delete" {
		t.Errorf("audit log ends %+v, want export.expire then export.files.delete", log[max(0, n-2):])
	}
	if e.FilesDeletedAt.IsZero() {
		t.Errorf("files_deleted_at not set after the sweep")
	}
}

// TestRecoverRequeuesStaleBuilds checks that Recover requeues, with a new
// build generation and job, an export whose build stopped renewing its
// lease for LeaseTTL, leaves a build that renews alone, and fails an
// export whose builds were interrupted MaxInterruptions times.
func TestRecoverRequeuesStaleBuilds(t *testing.T) {
	ctx := context.Background()
	db := runnerDB(t)
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	clock := t0
	now := func() time.Time { return clock }
	db.SetClock(now)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"exp_dead", "exp_alive"} {
		startBuilding(t, db, id, "w-"+id+".1", t0)
	}
	type job struct {
		id  string
		gen int
	}
	var jobs []job
	db.SetEnqueuer(func(_ context.Context, _ *sql.Tx, id string, gen int) error {
		jobs = append(jobs, job{id, gen})
		return nil
	})
	r := &export.Runner{Store: db, LeaseTTL: time.Minute, Now: now}
	clock = t0.Add(50 * time.Second)
	must(db.SetProgress(ctx, "exp_alive", "w-exp_alive.1", 7, -1))

	clock = t0.Add(59 * time.Second) // exp_dead renewed 59s ago: not yet stale
	must(r.Recover(ctx))
	if len(jobs) != 0 {
		t.Fatalf("Recover within the lease TTL queued %v", jobs)
	}
	clock = t0.Add(61 * time.Second)
	must(r.Recover(ctx))
	if want := []job{{"exp_dead", 2}}; !slices.Equal(jobs, want) {
		t.Fatalf("jobs after the lease went stale: %v, want %v", jobs, want)
	}
	dead, err := db.Export(ctx, "exp_dead", "", true)
	must(err)
	if dead.State != export.StateQueued || dead.Generation != 2 {
		t.Errorf("stale build: state %s generation %d, want queued 2", dead.State, dead.Generation)
	}
	if alive, err := db.Export(ctx, "exp_alive", "", true); err != nil || alive.State != export.StateBuilding {
		t.Errorf("build renewed 11s ago: %v %v, want building", alive, err)
	}
	log, err := db.AuditLog(ctx, "exp_dead")
	must(err)
	if last := log[len(log)-1]; last.Action != "export.queue" || last.Detail != "generation=2 interrupted=1 stale_lease=w-exp_dead.1" {
		t.Errorf("audit entry of the requeue: %s %q", last.Action, last.Detail)
	}

	// Each later build dies too: the MaxInterruptions-th fails the export.
	for n := 2; n <= export.MaxInterruptions; n++ {
		lease := fmt.Sprintf("w-exp_dead.%d", n)
		_, err := db.StartBuild(ctx, "exp_dead", 1, 0, lease, clock.Add(-time.Minute))
		must(err)
		clock = clock.Add(2 * time.Minute)
		must(r.Recover(ctx))
		dead, err = db.Export(ctx, "exp_dead", "", true)
		must(err)
		want := export.StateQueued
		if n == export.MaxInterruptions {
			want = export.StateFailed
		}
		if dead.State != want {
			t.Fatalf("interruption %d: state %s, want %s", n, dead.State, want)
		}
	}
	deadJobs := slices.DeleteFunc(jobs, func(j job) bool { return j.id != "exp_dead" })
	if dead.Error == "" || len(deadJobs) != export.MaxInterruptions-1 {
		t.Errorf("after %d interruptions: error %q, %d jobs; want a reason and %d jobs", export.MaxInterruptions, dead.Error, len(deadJobs), export.MaxInterruptions-1)
	}
}

// jobList is the job queue's list of running build jobs, as Recover sees it.
type jobList []export.RunningBuild

func (l jobList) RunningBuilds(context.Context) ([]export.RunningBuild, error) { return l, nil }

// TestRecoverRequeuesStalledJobs checks that Recover requeues an export
// whose build job a worker took more than three leases ago but never
// started (the export is still queued at the job's generation), and
// leaves alone a job taken just now and a job of an older generation.
func TestRecoverRequeuesStalledJobs(t *testing.T) {
	ctx := context.Background()
	db := runnerDB(t)
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	clock := t0
	db.SetClock(func() time.Time { return clock })
	for _, id := range []string{"exp_stalled", "exp_fresh"} {
		if err := db.CreateExport(ctx, &export.Export{ID: id, PartnerID: "p1", RequestedBy: "r1", State: export.StateSubmitted, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Decide(ctx, id, export.Decision{ReviewerID: "v1", Approved: true, At: t0}, 1); err != nil {
			t.Fatal(err)
		}
	}
	clock = t0.Add(10 * time.Minute)
	r := &export.Runner{Store: db, LeaseTTL: time.Minute, Now: func() time.Time { return clock }, Jobs: jobList{
		{ExportID: "exp_stalled", Generation: 1, Since: t0},                        // ten minutes: stalled
		{ExportID: "exp_stalled", Generation: 0, Since: t0},                        // an older generation's
		{ExportID: "exp_fresh", Generation: 1, Since: clock.Add(-2 * time.Minute)}, // within three leases
	}}
	if err := r.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	stalled, err := db.Export(ctx, "exp_stalled", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if stalled.State != export.StateQueued || stalled.Generation != 2 {
		t.Errorf("stalled job's export: state %s generation %d, want queued 2", stalled.State, stalled.Generation)
	}
	fresh, err := db.Export(ctx, "exp_fresh", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Generation != 1 {
		t.Errorf("a job taken two minutes ago: generation %d, want 1 (left alone)", fresh.Generation)
	}
	// The same listing again: the export moved on to generation 2.
	if err := r.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := db.Export(ctx, "exp_stalled", "", true); again.Generation != 2 {
		t.Errorf("requeued twice for one stalled job: generation %d", again.Generation)
	}
}
