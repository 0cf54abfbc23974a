package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
)

type bundle struct {
	db  *testDB
	ctx context.Context
	now time.Time
}

// setup opens a fresh metadata DB on be with one partner, a researcher and
// a reviewer, and a submitted export "exp_1" of partner "p1".
func setup(t *testing.T, be backend) *bundle {
	t.Helper()
	return populate(t, be.openNew(t))
}

// populate adds setup's rows to db.
func populate(t *testing.T, db *testDB) *bundle {
	t.Helper()
	ctx := context.Background()
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
	forEachBackend(t, func(t *testing.T, be backend) {
		b := setup(t, be)
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
	})
}

func TestPrincipalByTokenHash(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		b := setup(t, be)
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
		err = b.db.CreatePrincipal(b.ctx, export.Principal{ID: "r1", Name: "again", Role: export.RoleReviewer}, export.HashToken("other"), "admin")
		if export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("duplicate principal id: err = %v, want conflict", err)
		}
	})
}

func TestExportScope(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		b := setup(t, be)
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
	})
}

func TestDecide(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		t.Run("ApprovalWithoutQueueIsRefused", func(t *testing.T) {
			b := setup(t, be)
			if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1); err == nil {
				t.Fatal("approved with no job queue configured")
			}
		})
		t.Run("FailedEnqueueRollsBackEverything", func(t *testing.T) {
			b := setup(t, be)
			before, _ := b.db.AuditLog(b.ctx, "")
			b.db.setEnqueuer(func(string, int) error { return errors.New("queue down") })
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
			b := populate(t, be.openMigrated(t))
			e, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if e.State != export.StateQueued || e.KeyVersion != 1 || len(e.Decisions) != 1 || !e.Decisions[0].Approved {
				t.Errorf("after approval: %+v", e)
			}
			if jobs := buildJobs(t, b.db); jobs != 1 {
				t.Errorf("%d build jobs queued, want 1", jobs)
			}
			if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: false, Reason: "late", At: b.now}, 1); export.ErrorCode(err) != export.ECONFLICT {
				t.Errorf("second decision: err = %v, want conflict", err)
			}
		})
		t.Run("RefusedApprovalEnqueuesNoJob", func(t *testing.T) {
			b := populate(t, be.openMigrated(t))
			ctx := b.ctx
			if err := b.db.CreatePrincipal(ctx, export.Principal{ID: "r2", Name: "peer", Role: export.RoleResearcher, PartnerID: "p1"}, export.HashToken("token-r2"), "admin"); err != nil {
				t.Fatal(err)
			}
			refused := func(what string, err error, code, message string) {
				t.Helper()
				if err == nil || export.ErrorCode(err) != code || !strings.Contains(err.Error(), message) {
					t.Errorf("%s: err = %v, want %s with %q", what, err, code, message)
				}
				if e, err := b.db.Export(ctx, "exp_1", "", true); err != nil || e.State != export.StateSubmitted || len(e.Decisions) != 0 {
					t.Errorf("%s: export left %+v, %v; want submitted without decisions", what, e, err)
				}
				if jobs := buildJobs(t, b.db); jobs != 0 {
					t.Errorf("%s: %d build jobs queued, want none", what, jobs)
				}
			}
			_, err := b.db.Decide(ctx, "exp_1", export.Decision{ReviewerID: "r1", Approved: true, At: b.now}, 1)
			refused("the requester's approval", err, export.EFORBIDDEN, "you submitted this request")
			// The store leaves the role check to the service; the
			// database's trigger refuses, as an internal error.
			_, err = b.db.Decide(ctx, "exp_1", export.Decision{ReviewerID: "r2", Approved: true, At: b.now}, 1)
			refused("a researcher's approval", err, export.EINTERNAL, "rexport: only reviewers and admins decide on requests")
			// The last write of the transaction, after the job's insert,
			// fails: the job goes with the rest.
			if err := b.db.exec(ctx, b.db.sql.failAudit(`NEW.action = 'export.queue'`)); err != nil {
				t.Fatal(err)
			}
			_, err = b.db.Decide(ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1)
			refused("an approval whose queueing fails after the job's insert", err, export.EINTERNAL, "injected")
			if err := b.db.exec(ctx, b.db.sql.dropFailAudit); err != nil {
				t.Fatal(err)
			}
			if _, err := b.db.Decide(ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1); err != nil {
				t.Fatal(err)
			}
			if jobs := buildJobs(t, b.db); jobs != 1 {
				t.Errorf("after the approval: %d build jobs queued, want 1", jobs)
			}
		})
	})
}

// TestDatabaseRefusesRuleBreaks goes around the store with raw SQL: the
// database's triggers and constraints themselves refuse an export created
// in another state than submitted or moved to an unknown state, an export
// leaving the states before approval without its distinct approvals, a
// decision by the requester, by someone who is not a reviewer, and a
// second decision by a reviewer. Each refusal names its rule and changes
// nothing.
func TestDatabaseRefusesRuleBreaks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		b := populate(t, be.openMigrated(t))
		ctx := b.ctx
		for _, p := range []export.Principal{
			{ID: "v2", Name: "second reviewer", Role: export.RoleReviewer},
			{ID: "r2", Name: "peer", Role: export.RoleResearcher, PartnerID: "p1"},
		} {
			if err := b.db.CreatePrincipal(ctx, p, export.HashToken("token-"+p.ID), "admin"); err != nil {
				t.Fatal(err)
			}
		}
		// A submitted export requested by by, that needs two approvals if
		// it has free text.
		submitted := func(id, by, request string) string {
			return `INSERT INTO exports (id, partner_id, requested_by, request_json, state, created_at, updated_at)
				VALUES ('` + id + `', 'p1', '` + by + `', '` + request + `', 'submitted', '', '')`
		}
		dual := func(id string) string { return submitted(id, "r1", `{"include_free_text":true}`) }
		decide := func(id, reviewer string) string {
			return `INSERT INTO decisions (export_id, reviewer_id, approved, reason, at) VALUES ('` + id + `', '` + reviewer + `', TRUE, '', '')`
		}
		queue := func(id string) string { return `UPDATE exports SET state = 'queued' WHERE id = '` + id + `'` }
		for _, tt := range []struct {
			name string
			// setup is statements that succeed, sql the one refused.
			setup   []string
			sql     string
			message string
		}{
			{"InsertNotSubmitted", nil, `INSERT INTO exports (id, partner_id, requested_by, request_json, state, created_at, updated_at)
				VALUES ('exp_x', 'p1', 'r1', '{}', 'queued', '', '')`, "rexport: an export starts submitted"},
			{"UnknownState", []string{submitted("exp_5", "r1", "{}"), decide("exp_5", "v1"), queue("exp_5")},
				`UPDATE exports SET state = 'shipped' WHERE id = 'exp_5'`, "rexport: unknown export state"},
			{"QueuedWithoutApproval", nil, queue("exp_1"), "rexport: not enough distinct approvals"},
			{"ReadyWithoutApproval", nil, `UPDATE exports SET state = 'ready' WHERE id = 'exp_1'`, "rexport: not enough distinct approvals"},
			{"RequesterDecides", []string{submitted("exp_6", "v2", "{}")}, decide("exp_6", "v2"), "rexport: a principal may not decide on their own request"},
			{"ResearcherDecides", nil, decide("exp_1", "r2"), "rexport: only reviewers and admins decide on requests"},
			{"OneOfTwoApprovals", []string{dual("exp_2"), decide("exp_2", "v1")}, queue("exp_2"), "rexport: not enough distinct approvals"},
			{"SecondDecision", []string{dual("exp_3"), decide("exp_3", "v1")}, decide("exp_3", "v1"), "decisions"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				for _, q := range tt.setup {
					if err := b.db.exec(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
				before := snapshot(t, b.db)
				err := b.db.exec(ctx, tt.sql)
				if err == nil || !strings.Contains(err.Error(), tt.message) {
					t.Errorf("err = %v, want the refusal %q", err, tt.message)
				}
				if diff := cmp.Diff(before, snapshot(t, b.db)); diff != "" {
					t.Errorf("rows changed although the write was refused (-before +after):\n%s", diff)
				}
			})
		}
		t.Run("EnoughApprovalsPass", func(t *testing.T) {
			// The rules count; they do not refuse everything.
			for _, q := range []string{dual("exp_4"), decide("exp_4", "v1"), decide("exp_4", "v2"), queue("exp_4")} {
				if err := b.db.exec(ctx, q); err != nil {
					t.Errorf("%s: %v", q, err)
				}
			}
		})
	})
}

// buildJobs counts the build jobs in River's table.
func buildJobs(t *testing.T, db *testDB) int {
	t.Helper()
	n, err := db.count(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'rexport_build'`)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBuildTransitions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		b := setup(t, be)
		if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0, testLease, time.Time{}); export.ErrorCode(err) != export.ECONFLICT {
			t.Fatalf("StartBuild of a submitted export: err = %v, want conflict", err)
		}
		if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: false, Reason: "no", At: b.now}, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0, testLease, time.Time{}); export.ErrorCode(err) != export.ECONFLICT {
			t.Fatalf("StartBuild of a rejected export: err = %v, want conflict", err)
		}

		b = setup(t, be)
		b.db.setEnqueuer(func(string, int) error { return nil })
		if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0, testLease, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := b.db.SetProgress(b.ctx, "exp_1", testLease, 4, -1); err != nil {
			t.Fatal(err)
		}
		files := []export.File{{Name: "grades.parquet", Table: "grades", Rows: 9, Size: 100, SHA256: "ab"}}
		if err := b.db.FinishBuild(b.ctx, "exp_1", testLease, export.BuildResult{Files: files, ReadyAt: b.now, ExpiresAt: b.now.Add(time.Hour)}); err != nil {
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
		if err := b.db.FailBuild(b.ctx, "exp_1", testLease, "x"); export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("FailBuild of a ready export: err = %v, want conflict", err)
		}
	})
}

// TestBuildLease checks that a building export belongs to one build: a
// second build waits while the first renews its lease, takes over a stale
// one, and from then on the first can neither record progress, nor
// finish, nor fail the export.
func TestBuildLease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		b := setup(t, be)
		b.db.setEnqueuer(func(string, int) error { return nil })
		if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1); err != nil {
			t.Fatal(err)
		}
		const first, second = "w1-100.aaa", "w2-200.bbb"
		if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0, "", time.Time{}); export.ErrorCode(err) != export.EINVALID {
			t.Errorf("StartBuild without a lease: err = %v, want invalid", err)
		}
		e, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0, first, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if e.BuildLease != first || !e.LeaseRenewedAt.Equal(b.now) {
			t.Errorf("started: lease %q renewed %v, want %q at %v", e.BuildLease, e.LeaseRenewedAt, first, b.now)
		}
		// The first build renewed its lease at b.now: alive for a second
		// build that counts leases renewed after b.now-1s as alive.
		if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0, second, b.now.Add(-time.Second)); !errors.Is(err, export.ErrBusy) {
			t.Fatalf("StartBuild over a live lease: err = %v, want ErrBusy", err)
		}
		if err := b.db.SetProgress(b.ctx, "exp_1", second, 1, -1); export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("SetProgress under a lease that is not the export's: err = %v, want conflict", err)
		}
		if err := b.db.SetProgress(b.ctx, "exp_1", first, 3, -1); err != nil {
			t.Fatal(err)
		}
		// The same build may start again (a retry in the same process).
		if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0, first, b.now.Add(-time.Second)); err != nil {
			t.Errorf("restart under the same lease: %v", err)
		}
		// Stale: renewed at b.now, and the second build counts only
		// renewals after b.now+1s as alive.
		e, err = b.db.StartBuild(b.ctx, "exp_1", 10, 0, second, b.now.Add(time.Second))
		if err != nil {
			t.Fatalf("taking over a stale lease: %v", err)
		}
		if e.BuildLease != second || e.State != export.StateBuilding || e.Progress.RowsWritten != 0 {
			t.Errorf("taken over: %+v", e)
		}
		files := []export.File{{Name: "grades.parquet", Table: "grades", Rows: 9, Size: 100, SHA256: "ab"}}
		result := export.BuildResult{Files: files, ReadyAt: b.now, ExpiresAt: b.now.Add(time.Hour)}
		if err := b.db.SetProgress(b.ctx, "exp_1", first, 5, -1); export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("SetProgress by the build taken over: err = %v, want conflict", err)
		}
		if err := b.db.FinishBuild(b.ctx, "exp_1", first, result); export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("FinishBuild by the build taken over: err = %v, want conflict", err)
		}
		if err := b.db.FailBuild(b.ctx, "exp_1", first, "x"); export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("FailBuild by the build taken over: err = %v, want conflict", err)
		}
		if err := b.db.FinishBuild(b.ctx, "exp_1", second, result); err != nil {
			t.Fatal(err)
		}
		e, err = b.db.Export(b.ctx, "exp_1", "", true)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != export.StateReady || e.BuildLease != second {
			t.Errorf("finished: state %s lease %q, want ready under %q", e.State, e.BuildLease, second)
		}
		log, err := b.db.AuditLog(b.ctx, "exp_1")
		if err != nil {
			t.Fatal(err)
		}
		var starts, readies []string
		for _, a := range log {
			switch a.Action {
			case "export.build.start":
				starts = append(starts, a.Detail)
			case "export.build.ready":
				readies = append(readies, a.Detail)
			}
		}
		wantStarts := []string{"rows_estimated=10 lease=" + first, "rows_estimated=10 lease=" + first, "rows_estimated=10 lease=" + second + " took_over=" + first}
		if diff := cmp.Diff(wantStarts, starts); diff != "" {
			t.Errorf("build starts in the audit log (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"files=1 rows=9 lease=" + second}, readies); diff != "" {
			t.Errorf("ready entries in the audit log (-want +got):\n%s", diff)
		}
	})
}

// TestReleaseBuild checks that a failed attempt gives its export back to
// queued at once for River's retry, and who may fail an export when.
func TestReleaseBuild(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		b := setup(t, be)
		b.db.setEnqueuer(func(string, int) error { return nil })
		if _, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0, "w1.a", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := b.db.FailBuild(b.ctx, "exp_1", "", "x"); export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("FailBuild without a lease of a building export: err = %v, want conflict", err)
		}
		if err := b.db.ReleaseBuild(b.ctx, "exp_1", "w2.b"); export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("ReleaseBuild under another lease: err = %v, want conflict", err)
		}
		if err := b.db.ReleaseBuild(b.ctx, "exp_1", "w1.a"); err != nil {
			t.Fatal(err)
		}
		e, err := b.db.Export(b.ctx, "exp_1", "", true)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != export.StateQueued || e.BuildLease != "" {
			t.Fatalf("released: state %s lease %q, want queued with none", e.State, e.BuildLease)
		}
		// The released build can no longer fail it; a retry starts at once.
		if err := b.db.FailBuild(b.ctx, "exp_1", "w1.a", "x"); export.ErrorCode(err) != export.ECONFLICT {
			t.Errorf("FailBuild by the released build: err = %v, want conflict", err)
		}
		if _, err := b.db.StartBuild(b.ctx, "exp_1", 10, 0, "w2.b", b.now.Add(time.Hour)); err != nil {
			t.Fatalf("the retry's StartBuild: %v", err)
		}
		if err := b.db.ReleaseBuild(b.ctx, "exp_1", "w2.b"); err != nil {
			t.Fatal(err)
		}
		// A build that failed before it started fails the queued export.
		if err := b.db.FailBuild(b.ctx, "exp_1", "", "the build failed"); err != nil {
			t.Fatalf("FailBuild of a queued export: %v", err)
		}
		if e, _ := b.db.Export(b.ctx, "exp_1", "", true); e.State != export.StateFailed {
			t.Errorf("state %s, want failed", e.State)
		}
	})
}

func TestAuditChain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		b := setup(t, be)
		bad, n, _, err := b.db.VerifyAudit(b.ctx)
		if err != nil || bad != nil || n < 5 {
			t.Fatalf("fresh log: bad=%v n=%d err=%v", bad, n, err)
		}
		entries, err := b.db.AuditLog(b.ctx, "exp_1")
		if err != nil || len(entries) != 1 || entries[0].Action != "export.submit" {
			t.Fatalf("export audit: %+v %v", entries, err)
		}
		if err := b.db.exec(b.ctx, b.db.sql.setDetail(2, "edited")); err != nil {
			t.Fatal(err)
		}
		if bad, _, _, err := b.db.VerifyAudit(b.ctx); err != nil || bad == nil || bad.ID != 2 {
			t.Errorf("after editing entry 2: bad = %v, err = %v, want entry 2", bad, err)
		}
	})
}

func TestKeyRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		b := setup(t, be)
		if v, err := b.db.KeyVersion(b.ctx); err != nil || v != 1 {
			t.Fatalf("initial key version %d, %v", v, err)
		}
		if v, err := b.db.RotateKey(b.ctx, "admin"); err != nil || v != 2 {
			t.Fatalf("RotateKey = %d, %v", v, err)
		}
		b.db.setEnqueuer(func(string, int) error { return nil })
		e, err := b.db.Decide(b.ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: b.now}, 1)
		if err != nil || e.KeyVersion != 2 {
			t.Errorf("approved after rotation: key version %d, %v; want 2", e.KeyVersion, err)
		}
	})
}
