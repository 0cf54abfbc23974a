package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/sqlite"
)

type bundle struct {
	db  *sqlite.DB
	ctx context.Context
	now time.Time
}

// setup opens a fresh metadata DB with one partner, a researcher and a
// reviewer, and a submitted export "exp_1" of partner "p1".
func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := &bundle{db: db, ctx: ctx, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	db.SetClock(func() time.Time { return b.now })
	for _, p := range []export.Partner{
		{ID: "p1", Name: "One", Courses: []string{"c1", "c2"}, DUA: export.DUA{Reference: "d1", AllowedTables: []string{"grades"}}},
		{ID: "p2", Name: "Two", Courses: []string{"c3"}},
	} {
		if err := db.CreatePartner(ctx, p, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []export.Principal{
		{ID: "r1", Name: "researcher", Role: export.RoleResearcher, PartnerID: "p1"},
		{ID: "v1", Name: "reviewer", Role: export.RoleReviewer},
	} {
		if err := db.CreatePrincipal(ctx, p, export.HashToken("token-"+p.ID), "admin"); err != nil {
			t.Fatal(err)
		}
	}
	e := &export.Export{ID: "exp_1", PartnerID: "p1", RequestedBy: "r1", State: export.StateSubmitted, CreatedAt: b.now, UpdatedAt: b.now,
		Request: export.Request{Title: "t", Purpose: "p", Courses: []string{"c1"}, Tables: []string{"grades"}, Linkage: export.LinkagePartner}}
	if err := db.CreateExport(ctx, e); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPartnerRoundTrip(t *testing.T) {
	b := setup(t)
	got, err := b.db.Partner(b.ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	want := export.Partner{ID: "p1", Name: "One", Courses: []string{"c1", "c2"}, DUA: export.DUA{Reference: "d1", AllowedTables: []string{"grades"}}, CreatedAt: b.now}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Partner mismatch (-want +got):\n%s", diff)
	}
	t.Run("DuplicateIsConflict", func(t *testing.T) {
		err := b.db.CreatePartner(b.ctx, export.Partner{ID: "p1", Name: "again"}, "admin")
		if export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("err = %v, want conflict", err)
		}
	})
	t.Run("CourseOfAnotherPartnerIsConflict", func(t *testing.T) {
		err := b.db.CreatePartner(b.ctx, export.Partner{ID: "p3", Name: "three", Courses: []string{"c3"}}, "admin")
		if export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("err = %v, want conflict", err)
		}
		if _, err := b.db.Partner(b.ctx, "p3"); export.ErrorCode(err) != export.ENOTFOUND {
			t.Errorf("half-created partner left behind: %v", err)
		}
	})
}

func TestPrincipalByTokenHash(t *testing.T) {
	b := setup(t)
	p, err := b.db.PrincipalByTokenHash(b.ctx, export.HashToken("token-r1"))
	if err != nil || p.ID != "r1" || p.PartnerID != "p1" || p.Role != export.RoleResearcher {
		t.Fatalf("got %+v, %v", p, err)
	}
	if _, err := b.db.PrincipalByTokenHash(b.ctx, export.HashToken("nope")); export.ErrorCode(err) != export.EUNAUTHENTICATED {
		t.Errorf("unknown token: err = %v, want unauthenticated", err)
	}
	err = b.db.CreatePrincipal(b.ctx, export.Principal{ID: "x", Name: "x", Role: export.RoleResearcher}, export.HashToken("x"), "admin")
	if export.ErrorCode(err) != export.EINVALID {
		t.Errorf("researcher without partner: err = %v, want invalid", err)
	}
}

func TestExportScope(t *testing.T) {
	b := setup(t)
	tests := []struct {
		name    string
		partner string
		all     bool
		found   bool
	}{
		{"OwnPartner", "p1", false, true},
		{"OtherPartnerIsNotFound", "p2", false, false},
		{"NoPartnerSeesNothing", "", false, false},
		{"Staff", "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.db.Export(b.ctx, "exp_1", tt.partner, tt.all)
			if found := err == nil; found != tt.found {
				t.Errorf("found = %v (%v), want %v", found, err, tt.found)
			}
			if err != nil && export.ErrorCode(err) != export.ENOTFOUND {
				t.Errorf("err code = %s, want not_found", export.ErrorCode(err))
			}
			list, err := b.db.Exports(b.ctx, export.ExportFilter{PartnerID: tt.partner, AllPartners: tt.all, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if (len(list) == 1) != tt.found {
				t.Errorf("listing has %d exports", len(list))
			}
		})
	}
}

func TestDecide(t *testing.T) {
	t.Run("ApprovalWithoutQueueIsRefused", func(t *testing.T) {
		b := setup(t)
		if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1); err == nil {
			t.Fatal("approved with no job queue configured")
		}
	})
	t.Run("FailedEnqueueRollsBackEverything", func(t *testing.T) {
		b := setup(t)
		before, _ := b.db.AuditLog(b.ctx, "")
		b.db.SetEnqueuer(func(context.Context, *sql.Tx, string, int) error { return errors.New("queue down") })
		if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1); err == nil {
			t.Fatal("Decide succeeded although the job could not be enqueued")
		}
		e, _ := b.db.Export(b.ctx, "exp_1", "", true)
		after, _ := b.db.AuditLog(b.ctx, "")
		if e.State != export.StateSubmitted || len(e.Decisions) != 0 || len(after) != len(before) {
			t.Errorf("after failed enqueue: state %s, %d decisions, %d new audit entries", e.State, len(e.Decisions), len(after)-len(before))
		}
	})
	t.Run("ApprovalEnqueuesRiverJobInSameTransaction", func(t *testing.T) {
		b := setup(t)
		if _, err := sqlite.NewQueue(b.ctx, b.db, sqlite.QueueConfig{}); err != nil {
			t.Fatal(err)
		}
		e, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != export.StateQueued || e.KeyVersion != 1 || len(e.Decisions) != 1 || !e.Decisions[0].Approved {
			t.Errorf("after approval: %+v", e)
		}
		var jobs int
		if err := b.db.SQL().QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'rexport_build'`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if jobs != 1 {
			t.Errorf("%d build jobs queued, want 1", jobs)
		}
		if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: false, Reason: "late", At: b.now}, 1); export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("second decision: err = %v, want conflict", err)
		}
	})
}

func TestBuildTransitions(t *testing.T) {
	b := setup(t)
	if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0); export.ErrorCode(err) != export.ECONFLICT {
		t.Fatalf("StartBuild of a submitted export: err = %v, want conflict", err)
	}
	if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: false, Reason: "no", At: b.now}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0); export.ErrorCode(err) != export.ECONFLICT {
		t.Fatalf("StartBuild of a rejected export: err = %v, want conflict", err)
	}

	b = setup(t)
	b.db.SetEnqueuer(func(context.Context, *sql.Tx, string, int) error { return nil })
	if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.db.SetProgress(b.ctx, "exp_1", 4); err != nil {
		t.Fatal(err)
	}
	files := []export.File{{Name: "grades.parquet", Table: "grades", Rows: 9, Size: 100, SHA256: "ab"}}
	if err := b.db.FinishBuild(b.ctx, "exp_1", export.BuildResult{Files: files, ReadyAt: b.now, ExpiresAt: b.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e, err := b.db.Export(b.ctx, "exp_1", "p1", false)
	if err != nil {
		t.Fatal(err)
	}
	if e.State != export.StateReady || e.Progress != (export.Progress{RowsWritten: 9, RowsEstimated: 9}) || !e.ExpiresAt.Equal(b.now.Add(time.Hour)) {
		t.Errorf("ready export: %+v", e)
	}
	if diff := cmp.Diff(files, e.Files); diff != "" {
		t.Errorf("files mismatch (-want +got):\n%s", diff)
	}
	if err := b.db.FailBuild(b.ctx, "exp_1", "x"); export.ErrorCode(err) != export.ECONFLICT {
		t.Errorf("FailBuild of a ready export: err = %v, want conflict", err)
	}
}

func TestAuditChain(t *testing.T) {
	b := setup(t)
	bad, n, _, err := b.db.VerifyAudit(b.ctx)
	if err != nil || bad != nil || n < 5 {
		t.Fatalf("fresh log: bad=%v n=%d err=%v", bad, n, err)
	}
	entries, err := b.db.AuditLog(b.ctx, "exp_1")
	if err != nil || len(entries) != 1 || entries[0].Action != "export.submit" {
		t.Fatalf("export audit: %+v %v", entries, err)
	}
	if _, err := b.db.SQL().Exec(`UPDATE audit_log SET detail = 'edited' WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if bad, _, _, err := b.db.VerifyAudit(b.ctx); err != nil || bad == nil || bad.ID != 2 {
		t.Errorf("after editing entry 2: bad = %v, err = %v, want entry 2", bad, err)
	}
}

func TestKeyRotation(t *testing.T) {
	b := setup(t)
	if v, err := b.db.KeyVersion(b.ctx); err != nil || v != 1 {
		t.Fatalf("initial key version %d, %v", v, err)
	}
	if v, err := b.db.RotateKey(b.ctx, "admin"); err != nil || v != 2 {
		t.Fatalf("RotateKey = %d, %v", v, err)
	}
	b.db.SetEnqueuer(func(context.Context, *sql.Tx, string, int) error { return nil })
	e, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1)
	if err != nil || e.KeyVersion != 2 {
		t.Errorf("approved after rotation: key version %d, %v; want 2", e.KeyVersion, err)
	}
}
