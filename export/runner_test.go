package export_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/blobstore"
	"github.com/rexport/rexport/export/sqlite"
)

func TestSweepEnforcesRetention(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetEnqueuer(func(context.Context, *sql.Tx, string, int) error { return nil })
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreatePartner(ctx, export.Partner{ID: "p1", Name: "P", Courses: []string{"c1"}}, "admin"))
	must(db.CreatePrincipal(ctx, export.Principal{ID: "r1", Name: "r", Role: export.RoleResearcher, PartnerID: "p1"}, []byte("h1"), "admin"))
	must(db.CreatePrincipal(ctx, export.Principal{ID: "v1", Name: "v", Role: export.RoleReviewer}, []byte("h2"), "admin"))
	must(db.CreateExport(ctx, &export.Export{ID: "exp_a", PartnerID: "p1", RequestedBy: "r1", State: export.StateSubmitted, CreatedAt: t0, UpdatedAt: t0}))
	_, err = db.Decide(ctx, "exp_a", export.Decision{ReviewerID: "v1", Approved: true, At: t0}, 1)
	must(err)
	_, err = db.StartBuild(ctx, "exp_a", 1, 0)
	must(err)

	dir := t.TempDir()
	files, err := blobstore.OpenDir(dir)
	must(err)
	defer files.Close()
	r := &export.Runner{Store: db, Files: files}
	local := filepath.Join(t.TempDir(), "grades.parquet")
	must(os.WriteFile(local, []byte("data"), 0o640))
	for _, d := range []string{"exp_a", "exp_orphan"} {
		must(files.Put(ctx, d+"/grades.parquet", local))
	}
	must(db.FinishBuild(ctx, "exp_a", export.BuildResult{Files: []export.File{{Name: "grades.parquet"}}, ReadyAt: t0, ExpiresAt: t0.Add(time.Hour)}))

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
