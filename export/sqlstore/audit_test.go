package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/sqlstore"
)

// auditLogSize is the length of the log the tamper tests corrupt.
const auditLogSize = 1000

// buildAuditLog appends n entries with varied fields, every field non-empty
// so that each can have a byte flipped.
func buildAuditLog(t *testing.T, db store, n int) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	actions := []string{"export.submit", "export.approve", "export.queue", "principal.revoke", "key.rotate", "export.download"}
	details := []string{"reason=too broad", `{"title":"t","courses":["c1"]}`, "approvals=1/2", "line one\nline two", "naïve ünïcode ✓", `quote " and backslash \`,
		// Not UTF-8 (a course id from the source, say), with the byte
		// the tamper flips among the invalid ones.
		"courses=\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6"}
	for i := range n {
		e := export.AuditEntry{
			At:          t0.Add(time.Duration(i)*time.Second + time.Duration(i%7)*time.Nanosecond),
			PrincipalID: fmt.Sprintf("prn_%03d", i%13),
			Action:      actions[i%len(actions)],
			ExportID:    fmt.Sprintf("exp_%04d", i/3),
			PartnerID:   fmt.Sprintf("partner-%d", i%4),
			Detail:      fmt.Sprintf("%s #%d", details[i%len(details)], i),
		}
		if err := db.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
}

// readAuditLog returns the stored log, times as stored, and its head.
func readAuditLog(t *testing.T, db *testDB) (log []rawAudit, headID int64, headHash string) {
	t.Helper()
	log, headID, headHash, err := sqlstore.ReadAudit(context.Background(), db.store)
	if err != nil {
		t.Fatal(err)
	}
	return log, headID, headHash
}

// rawAudit is an audit entry with its time as stored (StoredAt), as hashed.
type rawAudit = sqlstore.StoredAudit

var (
	verifyChain     = sqlstore.VerifyChain
	verifyChainFrom = sqlstore.VerifyChainFrom
)

// flip changes one byte of s (the middle one), or adds one to an empty s.
func flip(s string) string {
	if s == "" {
		return "x"
	}
	b := []byte(s)
	b[len(b)/2] ^= 0x01
	return string(b)
}

// forge returns an entry that correctly chains to prev and has the given id.
func forge(prev rawAudit, id int64) rawAudit {
	f := rawAudit{AuditEntry: export.AuditEntry{ID: id, PrincipalID: "prn_forger", Action: "export.approve",
		ExportID: prev.ExportID, PartnerID: prev.PartnerID, Detail: "approvals=2/2", PrevHash: prev.Hash}, StoredAt: prev.StoredAt}
	f.Hash = sqlstore.AuditHash(f.PrevHash, f.StoredAt, f.AuditEntry)
	return f
}

// TestVerifyChainDetectsEveryTamper corrupts each entry of a 1,000-entry log
// in every way — a byte flipped in each stored field, the entry deleted, a
// forged entry inserted after it (renumbering the rest or not), the entry
// swapped with the next, the entry edited and every later hash recomputed —
// and checks that verifyChain finds each and names the entry a reader
// should look at. The log is read back from each backend, so the
// verification sees the fields as the database returns them.
func TestVerifyChainDetectsEveryTamper(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) { testVerifyChainDetectsEveryTamper(t, be.openNew(t)) })
}

func testVerifyChainDetectsEveryTamper(t *testing.T, db *testDB) {
	buildAuditLog(t, db, auditLogSize)
	log, headID, headHash := readAuditLog(t, db)
	if len(log) != auditLogSize || headID != auditLogSize {
		t.Fatalf("log has %d entries, head %d; want %d", len(log), headID, auditLogSize)
	}
	if p := verifyChain(log, headID, headHash); p != nil {
		t.Fatalf("intact log reported broken: %+v", p)
	}
	n := len(log)
	last := log[n-1].ID

	type tamper struct {
		kind string
		// apply returns the tampered log given a private copy and the
		// index of the entry to tamper with.
		apply func(l []rawAudit, i int) []rawAudit
		// want is the id verifyChain must name, given the tampered entry's
		// original id.
		want func(id int64) int64
		// skip excludes entries the tamper does not apply to.
		skip func(i int) bool
	}
	field := func(name string, set func(e *rawAudit)) tamper {
		return tamper{kind: "flip " + name,
			apply: func(l []rawAudit, i int) []rawAudit { set(&l[i]); return l },
			want:  func(id int64) int64 { return id }} // the entry itself
	}
	tampers := []tamper{
		field("at", func(e *rawAudit) { e.StoredAt = flip(e.StoredAt) }),
		field("principal_id", func(e *rawAudit) { e.PrincipalID = flip(e.PrincipalID) }),
		field("action", func(e *rawAudit) { e.Action = flip(e.Action) }),
		field("export_id", func(e *rawAudit) { e.ExportID = flip(e.ExportID) }),
		field("partner_id", func(e *rawAudit) { e.PartnerID = flip(e.PartnerID) }),
		field("detail", func(e *rawAudit) { e.Detail = flip(e.Detail) }),
		field("prev_hash", func(e *rawAudit) { e.PrevHash = flip(e.PrevHash) }),
		field("hash", func(e *rawAudit) { e.Hash = flip(e.Hash) }),
		{kind: "delete",
			apply: func(l []rawAudit, i int) []rawAudit { return slices.Delete(l, i, i+1) },
			// The entry after the gap; the last remaining one when the
			// last is deleted (only the head knows of it).
			want: func(id int64) int64 {
				if id == last {
					return last - 1
				}
				return id + 1
			}},
		{kind: "insert after, renumbering the rest",
			apply: func(l []rawAudit, i int) []rawAudit {
				out := slices.Insert(l, i+1, forge(l[i], l[i].ID+1))
				for j := i + 2; j < len(out); j++ {
					out[j].ID++
				}
				return out
			},
			// The forged entry chains correctly; the one after it (the
			// original next entry, now renumbered) does not. A forgery at
			// the end is caught by the head.
			want: func(id int64) int64 {
				if id == last {
					return last + 1
				}
				return id + 2
			}},
		{kind: "insert after, same ids",
			apply: func(l []rawAudit, i int) []rawAudit {
				return slices.Insert(l, i+1, forge(l[i], l[i].ID+1))
			},
			// The original next entry repeats the forged entry's id.
			want: func(id int64) int64 { return id + 1 }},
		{kind: "edit and rechain the rest",
			// An attacker who recomputes every later hash leaves a chain
			// that holds; only the head, which records the last hash, can
			// tell. Rechaining costs O(n) per entry, so every 50th entry
			// and the last five are tried.
			apply: func(l []rawAudit, i int) []rawAudit {
				l[i].Detail = flip(l[i].Detail)
				for j := i; j < len(l); j++ {
					if j > 0 {
						l[j].PrevHash = l[j-1].Hash
					}
					l[j].Hash = sqlstore.AuditHash(l[j].PrevHash, l[j].StoredAt, l[j].AuditEntry)
				}
				return l
			},
			want: func(int64) int64 { return last },
			skip: func(i int) bool { return i%50 != 0 && i < n-5 }},
		{kind: "swap contents with next",
			// What reordering rows looks like in a table ordered by id.
			apply: func(l []rawAudit, i int) []rawAudit {
				l[i].AuditEntry.ID, l[i+1].AuditEntry.ID = l[i+1].ID, l[i].ID
				l[i], l[i+1] = l[i+1], l[i]
				return l
			},
			want: func(id int64) int64 { return id },
			skip: func(i int) bool { return i == n-1 }},
		{kind: "swap positions with next",
			apply: func(l []rawAudit, i int) []rawAudit {
				l[i], l[i+1] = l[i+1], l[i]
				return l
			},
			want: func(id int64) int64 { return id + 1 },
			skip: func(i int) bool { return i == n-1 }},
	}

	// Verifying the whole log for each of the 13,000 tampers would take
	// O(n²) hashes; each tamper is verified from two entries before it
	// instead (the entries before that are the intact log's), and for
	// every 250th entry and the ends the whole log is verified as well, to
	// show that both give the same answer.
	work := make([]rawAudit, 0, n+1)
	whole := make([]rawAudit, 0, n+1)
	for _, tc := range tampers {
		t.Run(strings.ReplaceAll(tc.kind, " ", "_"), func(t *testing.T) {
			missed, misnamed, cases := 0, 0, 0
			for i := range n {
				if tc.skip != nil && tc.skip(i) {
					continue
				}
				cases++
				start := max(0, i-2)
				var prevID int64
				prev := ""
				if start > 0 {
					prevID, prev = log[start-1].ID, log[start-1].Hash
				}
				work = append(work[:0], log[start:]...)
				got := verifyChainFrom(prevID, prev, tc.apply(work, i-start), headID, headHash)
				if i%250 == 0 || i < 3 || i >= n-3 {
					whole = append(whole[:0], log...)
					if diff := cmp.Diff(verifyChain(tc.apply(whole, i), headID, headHash), got); diff != "" {
						t.Errorf("entry %d: verifying from entry %d differs from verifying the whole log (-whole +part):\n%s", log[i].ID, prevID, diff)
					}
				}
				want := tc.want(log[i].ID)
				switch {
				case got == nil:
					missed++
					if missed <= 3 {
						t.Errorf("entry %d: tamper not detected", log[i].ID)
					}
				case got.ID != want:
					misnamed++
					if misnamed <= 3 {
						t.Errorf("entry %d: named entry %d (%s), want %d", log[i].ID, got.ID, got.Reason, want)
					}
				}
			}
			if missed+misnamed > 0 {
				t.Errorf("%d of %d tampers missed, %d misnamed", missed, cases, misnamed)
			}
		})
	}
}

// TestVerifyAuditAfterSQLTamper tampers with a stored log through SQL.
func TestVerifyAuditAfterSQLTamper(t *testing.T) {
	same := func(q string) func(dialectSQL) string { return func(dialectSQL) string { return q } }
	tests := []struct {
		name string
		sql  func(d dialectSQL) string
		want int64
	}{
		{"EditDetail", func(d dialectSQL) string { return d.setDetail(17, "approvals=2/2") }, 17},
		{"EditTime", same(`UPDATE audit_log SET at = '2026-03-01T12:00:00Z' WHERE id = 30`), 30},
		{"DeleteMiddle", same(`DELETE FROM audit_log WHERE id = 25`), 26},
		{"DeleteFirst", same(`DELETE FROM audit_log WHERE id = 1`), 2},
		{"DeleteLast", same(`DELETE FROM audit_log WHERE id = 50`), 49},
		{"DeleteLastThree", same(`DELETE FROM audit_log WHERE id > 47`), 47},
		{"SwapContents", same(`UPDATE audit_log SET id = -1 WHERE id = 10; UPDATE audit_log SET id = 10 WHERE id = 11; UPDATE audit_log SET id = 11 WHERE id = -1`), 10},
		{"AppendUnchained", same(`INSERT INTO audit_log (id, at, principal_id, action, export_id, partner_id, detail, prev_hash, hash)
			SELECT 51, at, principal_id, action, export_id, partner_id, detail, hash, hash FROM audit_log WHERE id = 50`), 51},
	}
	forEachBackend(t, func(t *testing.T, be backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				db := be.openNew(t)
				buildAuditLog(t, db, 50)
				if p, n, _, err := db.VerifyAudit(ctx); err != nil || p != nil || n != 50 {
					t.Fatalf("intact log: problem %+v, %d entries, %v", p, n, err)
				}
				if err := db.exec(ctx, tt.sql(db.sql)); err != nil {
					t.Fatal(err)
				}
				p, _, _, err := db.VerifyAudit(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if p == nil || p.ID != tt.want {
					t.Errorf("VerifyAudit = %+v, want entry %d named", p, tt.want)
				}
			})
		}
	})
}

// TestAuditWriteFailureChangesNothing makes the audit log refuse writes and
// checks that each state-changing store method then fails and leaves every
// row as it was; with the audit log working again, the same call succeeds
// and changes something, so the failure was the audit's.
func TestAuditWriteFailureChangesNothing(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	req := export.Request{Title: "t", Purpose: "p", Courses: []string{"c1"}, Tables: []string{"grades"}, Linkage: export.LinkagePartner}
	files := []export.File{{Name: "grades.parquet", Table: "grades", Rows: 3, Size: 10, SHA256: "ab"}}

	// setup returns a store on be with partner p1, researcher r1,
	// reviewers v1 and v2, a job queue, and export exp_1 brought to state
	// (via the store's own methods).
	setup := func(t *testing.T, be backend, state export.State) *testDB {
		t.Helper()
		ctx := context.Background()
		db := be.openMigrated(t)
		db.SetClock(func() time.Time { return t0 })
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(db.CreatePartner(ctx, export.Partner{ID: "p1", Name: "One", Courses: []string{"c1"}, DUA: export.DUA{AllowedTables: []string{"grades"}}}, "admin"))
		for _, p := range []export.Principal{
			{ID: "r1", Name: "r", Role: export.RoleResearcher, PartnerID: "p1"},
			{ID: "v1", Name: "v", Role: export.RoleReviewer},
			{ID: "v2", Name: "w", Role: export.RoleReviewer},
		} {
			must(db.CreatePrincipal(ctx, p, export.HashToken("token-"+p.ID), "admin"))
		}
		if state == "" {
			return db
		}
		must(db.CreateExport(ctx, &export.Export{ID: "exp_1", PartnerID: "p1", RequestedBy: "r1", Request: req, State: export.StateSubmitted, CreatedAt: t0, UpdatedAt: t0}))
		if state == export.StateSubmitted {
			return db
		}
		_, err := db.Decide(ctx, "exp_1", export.Decision{ReviewerID: "v1", Approved: true, At: t0}, 1)
		must(err)
		if state == export.StateQueued {
			return db
		}
		_, err = db.StartBuild(ctx, "exp_1", 3, 0, testLease, time.Time{})
		must(err)
		switch state {
		case export.StateBuilding:
		case export.StateFailed:
			must(db.FailBuild(ctx, "exp_1", testLease, "boom"))
		case export.StateReady:
			must(db.FinishBuild(ctx, "exp_1", testLease, export.BuildResult{Files: files, ReadyAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		case export.StateExpired:
			must(db.FinishBuild(ctx, "exp_1", testLease, export.BuildResult{Files: files, ReadyAt: t0, ExpiresAt: t0.Add(time.Hour)}))
			_, err := db.ExpireDue(ctx, t0.Add(2*time.Hour))
			must(err)
		default:
			t.Fatalf("setup cannot reach %s", state)
		}
		return db
	}
	tests := []struct {
		name string
		from export.State // "" for no export
		call func(ctx context.Context, db store) error
	}{
		{"CreatePartner", "", func(ctx context.Context, db store) error {
			return db.CreatePartner(ctx, export.Partner{ID: "p2", Name: "Two", Courses: []string{"c2"}}, "admin")
		}},
		{"CreatePrincipal", "", func(ctx context.Context, db store) error {
			return db.CreatePrincipal(ctx, export.Principal{ID: "r2", Name: "r2", Role: export.RoleResearcher, PartnerID: "p1"}, export.HashToken("token-r2"), "admin")
		}},
		{"RevokePrincipal", "", func(ctx context.Context, db store) error { return db.RevokePrincipal(ctx, "r1", "admin") }},
		{"RotateKey", "", func(ctx context.Context, db store) error { _, err := db.RotateKey(ctx, "admin"); return err }},
		{"CreateExport", "", func(ctx context.Context, db store) error {
			return db.CreateExport(ctx, &export.Export{ID: "exp_2", PartnerID: "p1", RequestedBy: "r1", Request: req, State: export.StateSubmitted, CreatedAt: t0, UpdatedAt: t0})
		}},
		{"DecideApprove", export.StateSubmitted, func(ctx context.Context, db store) error {
			_, err := db.Decide(ctx, "exp_1", export.Decision{ReviewerID: "v2", Approved: true, At: t0}, 1)
			return err
		}},
		{"DecideFirstOfTwoApprovals", export.StateSubmitted, func(ctx context.Context, db store) error {
			_, err := db.Decide(ctx, "exp_1", export.Decision{ReviewerID: "v2", Approved: true, At: t0}, 2)
			return err
		}},
		{"DecideReject", export.StateSubmitted, func(ctx context.Context, db store) error {
			_, err := db.Decide(ctx, "exp_1", export.Decision{ReviewerID: "v2", Reason: "no", At: t0}, 1)
			return err
		}},
		{"ActCancel", export.StateQueued, func(ctx context.Context, db store) error {
			_, err := db.Act(ctx, "exp_1", export.Act{By: "r1", Action: export.ActionCancel, From: []export.State{export.StateQueued}, To: export.StateCancelled})
			return err
		}},
		{"ActRetry", export.StateFailed, func(ctx context.Context, db store) error {
			_, err := db.Act(ctx, "exp_1", export.Act{By: "v2", Action: export.ActionRetry, From: []export.State{export.StateFailed}, To: export.StateQueued})
			return err
		}},
		{"ActRevoke", export.StateReady, func(ctx context.Context, db store) error {
			_, err := db.Act(ctx, "exp_1", export.Act{By: "v2", Action: export.ActionRevoke, From: []export.State{export.StateReady}, To: export.StateRevoked, Detail: "reason=r"})
			return err
		}},
		{"StartBuild", export.StateQueued, func(ctx context.Context, db store) error {
			_, err := db.StartBuild(ctx, "exp_1", 3, 0, testLease, time.Time{})
			return err
		}},
		{"FinishBuild", export.StateBuilding, func(ctx context.Context, db store) error {
			return db.FinishBuild(ctx, "exp_1", testLease, export.BuildResult{Files: files, ReadyAt: t0, ExpiresAt: t0.Add(time.Hour)})
		}},
		{"FailBuild", export.StateBuilding, func(ctx context.Context, db store) error { return db.FailBuild(ctx, "exp_1", testLease, "boom") }},
		{"ExpireDue", export.StateReady, func(ctx context.Context, db store) error {
			ids, err := db.ExpireDue(ctx, t0.Add(2*time.Hour))
			if err == nil && len(ids) != 1 {
				return fmt.Errorf("expired %v, want exp_1", ids)
			}
			return err
		}},
		{"MarkFilesDeleted", export.StateExpired, func(ctx context.Context, db store) error {
			return db.MarkFilesDeleted(ctx, "exp_1", t0.Add(3*time.Hour))
		}},
	}
	forEachBackend(t, func(t *testing.T, be backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				db := setup(t, be, tt.from)
				if err := db.exec(ctx, db.sql.failAudit("")); err != nil {
					t.Fatal(err)
				}
				before := snapshot(t, db)
				err := tt.call(ctx, db)
				if err == nil || !strings.Contains(err.Error(), "injected") {
					t.Errorf("with the audit log failing: err = %v, want the injected failure", err)
				}
				if diff := cmp.Diff(before, snapshot(t, db)); diff != "" {
					t.Errorf("rows changed although the action failed (-before +after):\n%s", diff)
				}
				if err := db.exec(ctx, db.sql.dropFailAudit); err != nil {
					t.Fatal(err)
				}
				if err := tt.call(ctx, db); err != nil {
					t.Fatalf("with the audit log working: %v", err)
				}
				if cmp.Equal(snapshot(t, db), before) {
					t.Errorf("the call changed nothing even with the audit log working: the test proves nothing")
				}
			})
		}
	})
}

// TestAuditHashEncoding shows that entries of UTF-8 text hash as they
// always did (logs written before keep verifying), and that entries that
// differ only in bytes that are not UTF-8 hash apart.
func TestAuditHashEncoding(t *testing.T) {
	e := export.AuditEntry{PrincipalID: "prn_1", Action: "export.reject", ExportID: "exp_1", PartnerID: "p1", Detail: "reason=naïve \"quoted\" ✓"}
	b, err := json.Marshal([]string{"prevhash", "2026-03-01T12:00:00Z", e.PrincipalID, e.Action, e.ExportID, e.PartnerID, e.Detail})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got, want := sqlstore.AuditHash("prevhash", "2026-03-01T12:00:00Z", e), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("AuditHash of a UTF-8 entry = %s, want %s as before", got, want)
	}
	seen := map[string]string{}
	for _, d := range []string{"courses=\xff", "courses=\xfe", "courses=\ufffd", `courses={"bytes":"/w=="}`} {
		e.Detail = d
		h := sqlstore.AuditHash("", "", e)
		if other, ok := seen[h]; ok {
			t.Errorf("details %q and %q hash alike", other, d)
		}
		seen[h] = d
	}
}
