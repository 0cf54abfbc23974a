package export_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/sqlite"
)

// governance is what the governance tests share: a real store with two
// partners, a principal of every kind, a job queue that only inserts, and
// a service with a fixed clock.
type governance struct {
	ctx context.Context
	db  *sqlite.DB
	svc *export.Service
	now time.Time
	// requester submits the exports; peer is another researcher of the
	// same partner, other a researcher of partner B.
	requester, peer, other, pipeline, reviewer, reviewer2, admin export.Principal
}

// linkKey signs the download links of the governance tests.
var linkKey = []byte("0123456789abcdef0123456789abcdef")

// migratedDB holds a database file with every migration applied, River's
// included (slow under -race), for setupGovernance to copy.
var migratedDB struct {
	once sync.Once
	raw  []byte
	err  error
}

func setupGovernance(t *testing.T) *governance {
	t.Helper()
	ctx := context.Background()
	migratedDB.once.Do(func() {
		path := filepath.Join(t.TempDir(), "template.db")
		db, err := sqlite.Open(ctx, path)
		if err == nil {
			_, err = sqlite.NewQueue(ctx, db, sqlite.QueueConfig{})
			db.Close()
		}
		if err == nil {
			migratedDB.raw, err = os.ReadFile(path)
		}
		migratedDB.err = err
	})
	if migratedDB.err != nil {
		t.Fatal(migratedDB.err)
	}
	path := filepath.Join(t.TempDir(), "meta.db")
	if err := os.WriteFile(path, migratedDB.raw, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	g := &governance{ctx: ctx, db: db, now: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
	db.SetClock(func() time.Time { return g.now })
	if _, err := sqlite.NewQueue(ctx, db, sqlite.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	n := 0
	g.svc = &export.Service{Store: db, Now: func() time.Time { return g.now },
		NewID:         func() string { n++; return fmt.Sprintf("exp_%04d", n) },
		DailyRequests: 1 << 20,
		Links:         export.LinkSigner{KeyID: "k1", Key: linkKey}}
	dua := export.DUA{Reference: "DUA-A", AllowedTables: []string{export.TableGrades, export.TableForumPosts},
		AllowFreeText: true, AllowSensitive: true, EndsOn: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}
	for _, p := range []export.Partner{
		{ID: "partner-a", Name: "A", Courses: []string{"c1", "c2"}, DUA: dua},
		{ID: "partner-b", Name: "B", Courses: []string{"c3"}, DUA: dua},
	} {
		if err := db.CreatePartner(ctx, p, "local-admin"); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*export.Principal{
		{ID: "prn_requester", Name: "Dr Requester", Role: export.RoleResearcher, PartnerID: "partner-a"},
		{ID: "prn_peer", Name: "Dr Peer", Role: export.RoleResearcher, PartnerID: "partner-a"},
		{ID: "prn_other", Name: "Dr Other", Role: export.RoleResearcher, PartnerID: "partner-b"},
		{ID: "prn_pipeline", Name: "nightly", Role: export.RolePipeline, PartnerID: "partner-a"},
		{ID: "prn_reviewer", Name: "Reviewer", Role: export.RoleReviewer},
		{ID: "prn_reviewer2", Name: "Reviewer Two", Role: export.RoleReviewer},
		{ID: "prn_admin", Name: "Admin", Role: export.RoleAdmin},
	} {
		p.ExpiresAt = g.now.Add(90 * 24 * time.Hour)
		if err := db.CreatePrincipal(ctx, *p, export.HashToken("token-"+p.ID), "local-admin"); err != nil {
			t.Fatal(err)
		}
		switch p.ID {
		case "prn_requester":
			g.requester = *p
		case "prn_peer":
			g.peer = *p
		case "prn_other":
			g.other = *p
		case "prn_pipeline":
			g.pipeline = *p
		case "prn_reviewer":
			g.reviewer = *p
		case "prn_reviewer2":
			g.reviewer2 = *p
		case "prn_admin":
			g.admin = *p
		}
	}
	return g
}

// plainRequest needs one approval; with free text or sensitive columns, two.
func plainRequest() export.Request {
	return export.Request{Title: "Grades", Purpose: "Study of grading", Courses: []string{"c1"}, Tables: []string{export.TableGrades}}
}

var builtFiles = []export.File{{Name: "grades.parquet", Table: export.TableGrades, Rows: 12, Size: 345, SHA256: "ab12"}}

func (g *governance) submit(t *testing.T, by export.Principal, req export.Request) string {
	t.Helper()
	partner := ""
	if by.Role.IsStaff() {
		partner = "partner-a"
	}
	e, err := g.svc.Submit(g.ctx, by, partner, req)
	if err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func (g *governance) state(t *testing.T, id string) export.State {
	t.Helper()
	e, err := g.db.Export(g.ctx, id, "", true)
	if err != nil {
		t.Fatal(err)
	}
	return e.State
}

// newExportIn returns a fresh plain export of partner A, submitted by the
// requester and brought to state by the transitions that lead there.
func (g *governance) newExportIn(t *testing.T, state export.State) string {
	t.Helper()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("bringing an export to %s: %v", state, err)
		}
	}
	id := g.submit(t, g.requester, plainRequest())
	switch state {
	case export.StateSubmitted:
	case export.StateRejected:
		must(g.svc.Reject(g.ctx, g.reviewer, id, "too broad"))
	case export.StateCancelled:
		must(g.svc.Cancel(g.ctx, g.requester, id))
	case export.StateQueued:
		must(g.svc.Approve(g.ctx, g.reviewer, id, ""))
	case export.StateApproved:
		// No transition leaves an export approved: the approval that
		// completes the count queues it in the same transaction. An
		// interrupted one would leave it approved; so does this.
		must(g.svc.Approve(g.ctx, g.reviewer, id, ""))
		must(g.db.SQL().ExecContext(g.ctx, `UPDATE exports SET state = 'approved' WHERE id = ?`, id))
	case export.StateBuilding, export.StateReady, export.StateFailed, export.StateExpired:
		must(g.svc.Approve(g.ctx, g.reviewer, id, ""))
		must(g.db.StartBuild(g.ctx, id, 12, 0, testLease, time.Time{}))
		switch state {
		case export.StateReady:
			must(nil, g.db.FinishBuild(g.ctx, id, testLease, export.BuildResult{Files: builtFiles, ReadyAt: g.now, ExpiresAt: g.now.Add(30 * 24 * time.Hour)}))
		case export.StateFailed:
			must(nil, g.db.FailBuild(g.ctx, id, testLease, "the build failed"))
		case export.StateExpired:
			must(nil, g.db.FinishBuild(g.ctx, id, testLease, export.BuildResult{Files: builtFiles, ReadyAt: g.now.Add(-time.Hour), ExpiresAt: g.now.Add(-time.Second)}))
			must(g.db.ExpireDue(g.ctx, g.now))
		}
	case export.StateRevoked:
		must(g.svc.Approve(g.ctx, g.reviewer, id, ""))
		must(g.svc.Revoke(g.ctx, g.admin, id, "agreement breached"))
	default:
		t.Fatalf("no way to bring an export to %s", state)
	}
	if got := g.state(t, id); got != state {
		t.Fatalf("export brought to %s is %s", state, got)
	}
	return id
}

// Outcomes of an action in the expected table: the state it leads to, or
// the error code.
const (
	ok = "ok" // a download that is allowed (the state stays ready)
	nf = export.ENOTFOUND
	fb = export.EFORBIDDEN
	cf = export.ECONFLICT
)

// do takes action a on export id as p and returns its outcome.
func (g *governance) do(t *testing.T, p export.Principal, id string, a export.Action) string {
	t.Helper()
	var e *export.Export
	var err error
	switch a {
	case export.ActionApprove:
		e, err = g.svc.Approve(g.ctx, p, id, "")
	case export.ActionReject:
		e, err = g.svc.Reject(g.ctx, p, id, "not fit for purpose")
	case export.ActionCancel:
		e, err = g.svc.Cancel(g.ctx, p, id)
	case export.ActionRetry:
		e, err = g.svc.Retry(g.ctx, p, id)
	case export.ActionRevoke:
		e, err = g.svc.Revoke(g.ctx, p, id, "agreement breached")
	case export.ActionDownload:
		var f *export.File
		e, f, err = g.svc.Downloadable(g.ctx, p, id, builtFiles[0].Name)
		if err == nil {
			if f == nil || f.Name != builtFiles[0].Name {
				t.Fatalf("download allowed without its file: %+v", f)
			}
			return ok
		}
	default:
		t.Fatalf("the test does not know action %s", a)
	}
	if err != nil {
		if c := export.ErrorCode(err); c != nf && c != fb && c != cf {
			t.Fatalf("%s: unexpected error %v", a, err)
		}
		return export.ErrorCode(err)
	}
	return string(e.State)
}

// TestActionTable walks every (principal, state, action) triple: a fresh
// export in the state, the principal takes the action through the service,
// and the outcome — the new state, or the error — must be the table's. The
// store must agree: an action that fails changes nothing.
func TestActionTable(t *testing.T) {
	// The columns of the table below.
	states := []export.State{"submitted", "rejected", "cancelled", "approved", "queued", "building", "ready", "failed", "expired", "revoked"}
	actions := []export.Action{"approve", "reject", "cancel", "retry", "revoke", "download"}
	if !sameSet(states, export.States) || !sameSet(actions, export.Actions) {
		t.Fatalf("the table covers states %v and actions %v; the code has %v and %v", states, actions, export.States, export.Actions)
	}
	const (
		queued    = "queued"
		rejected  = "rejected"
		cancelled = "cancelled"
		revoked   = "revoked"
	)
	type row = [10]string
	want := map[export.Action]map[string]row{
		//                submitted  rejected cancelled approved   queued     building ready    failed   expired revoked
		"approve": {
			"requester": {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"peer":      {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"other":     {nf, nf, nf, nf, nf, nf, nf, nf, nf, nf},
			"pipeline":  {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"reviewer":  {queued, cf, cf, cf, cf, cf, cf, cf, cf, cf},
			"admin":     {queued, cf, cf, cf, cf, cf, cf, cf, cf, cf},
		},
		"reject": {
			"requester": {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"peer":      {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"other":     {nf, nf, nf, nf, nf, nf, nf, nf, nf, nf},
			"pipeline":  {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"reviewer":  {rejected, cf, cf, cf, cf, cf, cf, cf, cf, cf},
			"admin":     {rejected, cf, cf, cf, cf, cf, cf, cf, cf, cf},
		},
		"cancel": { // the requester only, before the build
			"requester": {cancelled, cf, cf, cancelled, cancelled, cf, cf, cf, cf, cf},
			"peer":      {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"other":     {nf, nf, nf, nf, nf, nf, nf, nf, nf, nf},
			"pipeline":  {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"reviewer":  {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"admin":     {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
		},
		"retry": { // staff, from failed
			"requester": {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"peer":      {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"other":     {nf, nf, nf, nf, nf, nf, nf, nf, nf, nf},
			"pipeline":  {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"reviewer":  {cf, cf, cf, cf, cf, cf, cf, queued, cf, cf},
			"admin":     {cf, cf, cf, cf, cf, cf, cf, queued, cf, cf},
		},
		"revoke": { // staff, any time after approval while the data is live
			"requester": {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"peer":      {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"other":     {nf, nf, nf, nf, nf, nf, nf, nf, nf, nf},
			"pipeline":  {fb, fb, fb, fb, fb, fb, fb, fb, fb, fb},
			"reviewer":  {cf, cf, cf, revoked, revoked, revoked, revoked, revoked, cf, cf},
			"admin":     {cf, cf, cf, revoked, revoked, revoked, revoked, revoked, cf, cf},
		},
		"download": { // whoever sees the export, once ready
			"requester": {cf, cf, cf, cf, cf, cf, ok, cf, cf, cf},
			"peer":      {cf, cf, cf, cf, cf, cf, ok, cf, cf, cf},
			"other":     {nf, nf, nf, nf, nf, nf, nf, nf, nf, nf},
			"pipeline":  {cf, cf, cf, cf, cf, cf, ok, cf, cf, cf},
			"reviewer":  {cf, cf, cf, cf, cf, cf, ok, cf, cf, cf},
			"admin":     {cf, cf, cf, cf, cf, cf, ok, cf, cf, cf},
		},
	}

	g := setupGovernance(t)
	principals := []struct {
		name string
		p    export.Principal
	}{{"requester", g.requester}, {"peer", g.peer}, {"other", g.other}, {"pipeline", g.pipeline}, {"reviewer", g.reviewer}, {"admin", g.admin}}
	triples := 0
	for _, a := range actions {
		for _, pr := range principals {
			row, found := want[a][pr.name]
			if !found {
				t.Fatalf("the table has no row for %s by %s", a, pr.name)
			}
			for i, s := range states {
				t.Run(fmt.Sprintf("%s/%s/%s", a, pr.name, s), func(t *testing.T) {
					triples++
					id := g.newExportIn(t, s)
					got := g.do(t, pr.p, id, a)
					if got != row[i] {
						t.Errorf("%s %s a %s export: got %s, want %s", pr.name, a, s, got, row[i])
					}
					// The store holds the outcome: the new state, or the
					// old one when the action failed.
					stored := g.state(t, id)
					wantStored := s
					if got == row[i] && got != ok && got != nf && got != fb && got != cf {
						wantStored = export.State(got)
					}
					if stored != wantStored {
						t.Errorf("%s %s a %s export: stored state %s, want %s", pr.name, a, s, stored, wantStored)
					}
				})
			}
		}
	}
	if want := len(actions) * len(principals) * len(states); triples != want {
		t.Errorf("walked %d triples, want %d", triples, want)
	}
}

func sameSet[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// buildJobs counts the build jobs in the queue.
func (g *governance) buildJobs(t *testing.T) int {
	t.Helper()
	var n int
	if err := g.db.SQL().QueryRowContext(g.ctx, `SELECT count(*) FROM river_job WHERE kind = 'rexport_build'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDualApproval shows that a request with free text or sensitive columns
// is queued only after two different reviewers approve it, and that nobody
// decides on their own request.
func TestDualApproval(t *testing.T) {
	for _, flag := range []string{"FreeText", "Sensitive"} {
		t.Run(flag+"NeedsTwoReviewers", func(t *testing.T) {
			g := setupGovernance(t)
			req := plainRequest()
			req.IncludeFreeText, req.IncludeSensitive = flag == "FreeText", flag == "Sensitive"
			id := g.submit(t, g.requester, req)

			e, err := g.svc.Approve(g.ctx, g.reviewer, id, "")
			if err != nil {
				t.Fatal(err)
			}
			if e.State != export.StateSubmitted || e.Approvals() != 1 || g.buildJobs(t) != 0 {
				t.Fatalf("after one approval: %s with %d approvals, %d build jobs; want submitted, 1, 0", e.State, e.Approvals(), g.buildJobs(t))
			}
			if _, err := g.svc.Approve(g.ctx, g.reviewer, id, ""); export.ErrorCode(err) != cf {
				t.Errorf("the same reviewer approving again: err = %v, want conflict", err)
			}
			if _, err := g.svc.Reject(g.ctx, g.reviewer, id, "changed my mind"); export.ErrorCode(err) != cf {
				t.Errorf("the same reviewer deciding again: err = %v, want conflict", err)
			}
			if _, err := g.svc.Approve(g.ctx, g.requester, id, ""); export.ErrorCode(err) != fb {
				t.Errorf("the requester approving: err = %v, want forbidden", err)
			}
			if got := g.state(t, id); got != export.StateSubmitted {
				t.Fatalf("after refused decisions: %s, want submitted", got)
			}
			e, err = g.svc.Approve(g.ctx, g.admin, id, "")
			if err != nil {
				t.Fatal(err)
			}
			if e.State != export.StateQueued || e.Approvals() != 2 || g.buildJobs(t) != 1 {
				t.Errorf("after a second reviewer's approval: %s with %d approvals, %d build jobs; want queued, 2, 1", e.State, e.Approvals(), g.buildJobs(t))
			}
		})
	}
	t.Run("RequesterNeverDecides", func(t *testing.T) {
		g := setupGovernance(t)
		for _, by := range []export.Principal{g.reviewer, g.admin} {
			for _, freeText := range []bool{false, true} {
				req := plainRequest()
				req.IncludeFreeText = freeText
				id := g.submit(t, by, req)
				if _, err := g.svc.Approve(g.ctx, by, id, ""); export.ErrorCode(err) != fb {
					t.Errorf("%s approving their own request (free text %v): err = %v, want forbidden", by.Role, freeText, err)
				}
				if _, err := g.svc.Reject(g.ctx, by, id, "no"); export.ErrorCode(err) != fb {
					t.Errorf("%s rejecting their own request: err = %v, want forbidden", by.Role, err)
				}
				if e, _ := g.db.Export(g.ctx, id, "", true); e.State != export.StateSubmitted || len(e.Decisions) != 0 {
					t.Errorf("own decisions left %s with %d decisions", e.State, len(e.Decisions))
				}
				// Everyone else must make up the count.
				others := []export.Principal{g.reviewer2}
				if freeText {
					others = append(others, map[export.Role]export.Principal{export.RoleReviewer: g.admin, export.RoleAdmin: g.reviewer}[by.Role])
				}
				for i, o := range others {
					e, err := g.svc.Approve(g.ctx, o, id, "")
					if err != nil {
						t.Fatal(err)
					}
					if want := map[bool]export.State{true: export.StateQueued, false: export.StateSubmitted}[i == len(others)-1]; e.State != want {
						t.Errorf("after %d other approvals: %s, want %s", i+1, e.State, want)
					}
				}
			}
		}
	})
}

// TestDatabaseBacksApprovalRules goes around the service and the store's
// methods with raw SQL: the database itself refuses an export leaving the
// states before approval without its distinct approvals, a decision by the
// requester, a second decision by a reviewer, and a decision by someone
// who is not a reviewer.
func TestDatabaseBacksApprovalRules(t *testing.T) {
	g := setupGovernance(t)
	exec := func(q string, args ...any) error {
		_, err := g.db.SQL().ExecContext(g.ctx, q, args...)
		return err
	}
	freeText := plainRequest()
	freeText.IncludeFreeText = true
	sensitive := plainRequest()
	sensitive.IncludeSensitive = true

	// Exports short of their approvals, in each state before approval.
	short := map[string]string{}
	short["plain, none"] = g.submit(t, g.requester, plainRequest())
	for name, req := range map[string]export.Request{"free text": freeText, "sensitive": sensitive} {
		id := g.submit(t, g.requester, req)
		if _, err := g.svc.Approve(g.ctx, g.reviewer, id, ""); err != nil {
			t.Fatal(err)
		}
		short[name+", one of two"] = id
	}
	id := g.submit(t, g.requester, freeText)
	if _, err := g.svc.Approve(g.ctx, g.reviewer, id, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := g.svc.Reject(g.ctx, g.admin, id, "no"); err != nil {
		t.Fatal(err)
	}
	short["free text, one of two, rejected"] = id
	id = g.submit(t, g.requester, plainRequest())
	if _, err := g.svc.Reject(g.ctx, g.reviewer, id, "no"); err != nil {
		t.Fatal(err)
	}
	short["plain, rejected"] = id
	id = g.submit(t, g.requester, plainRequest())
	if _, err := g.svc.Cancel(g.ctx, g.requester, id); err != nil {
		t.Fatal(err)
	}
	short["plain, cancelled"] = id

	for name, id := range short {
		from := g.state(t, id)
		for _, to := range []export.State{"approved", "queued", "building", "ready", "failed", "expired", "revoked"} {
			if err := exec(`UPDATE exports SET state = ? WHERE id = ?`, string(to), id); err == nil {
				t.Errorf("%s: raw UPDATE from %s to %s succeeded", name, from, to)
				if err := exec(`UPDATE exports SET state = ? WHERE id = ?`, string(from), id); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got := g.state(t, id); got != from {
			t.Errorf("%s: state %s, want %s", name, got, from)
		}
	}

	t.Run("EnoughApprovalsPass", func(t *testing.T) {
		// The trigger counts; it does not refuse everything. The decisions
		// go in by SQL too, by two different reviewers.
		id := g.submit(t, g.requester, freeText)
		for _, r := range []string{g.reviewer.ID, g.admin.ID} {
			if err := exec(`INSERT INTO decisions (export_id, reviewer_id, approved, reason, at) VALUES (?, ?, 1, '', '')`, id, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := exec(`UPDATE exports SET state = 'queued' WHERE id = ?`, id); err != nil {
			t.Errorf("raw UPDATE to queued with two approvals: %v", err)
		}
	})
	t.Run("RequesterDecisionRefused", func(t *testing.T) {
		for _, by := range []export.Principal{g.requester, g.reviewer2} {
			id := g.submit(t, by, plainRequest())
			if err := exec(`INSERT INTO decisions (export_id, reviewer_id, approved, reason, at) VALUES (?, ?, 1, '', '')`, id, by.ID); err == nil {
				t.Errorf("a decision by the requester %s went in", by.ID)
			}
		}
	})
	t.Run("SecondDecisionRefused", func(t *testing.T) {
		id := g.submit(t, g.requester, freeText)
		if _, err := g.svc.Approve(g.ctx, g.reviewer, id, ""); err != nil {
			t.Fatal(err)
		}
		for _, approved := range []int{1, 0} {
			if err := exec(`INSERT INTO decisions (export_id, reviewer_id, approved, reason, at) VALUES (?, ?, ?, '', '')`, id, g.reviewer.ID, approved); err == nil {
				t.Errorf("a second decision (approved=%d) by the same reviewer went in", approved)
			}
		}
	})
	t.Run("NonReviewerDecisionRefused", func(t *testing.T) {
		id := g.submit(t, g.requester, plainRequest())
		for _, by := range []export.Principal{g.peer, g.pipeline, g.other} {
			if err := exec(`INSERT INTO decisions (export_id, reviewer_id, approved, reason, at) VALUES (?, ?, 1, '', '')`, id, by.ID); err == nil {
				t.Errorf("a decision by %s %s went in", by.Role, by.ID)
			}
		}
	})
}

// testLease is the build lease the tests' builds run under.
const testLease = "test-worker.b1"
