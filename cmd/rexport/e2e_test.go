package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/api/client"
	"github.com/rexport/rexport/deidentify"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/internal/arrowtest"
	"github.com/rexport/rexport/internal/pgtest"
	"github.com/rexport/rexport/internal/storetest"
	"github.com/rexport/rexport/source/importer"
)

// e2e is one running service over generated fixtures, shared by the
// end-to-end tests (building it is the expensive part).
type e2e struct {
	dir        string
	app        *app
	srv        *server
	url        string
	source     *sql.DB // the source DB, read directly for expected values
	admin      *client.Client
	reviewer   *client.Client
	reviewerID string
	// reviewer2 gives the second approval free text needs.
	reviewer2   *client.Client
	reviewer2ID string
	// researchers by partner id
	researchers map[string]*client.Client
	partners    []string
	// drops drop the PostgreSQL test databases of the shared service.
	drops []func() error
}

var (
	e2eOnce sync.Once
	e2eEnv  *e2e
	e2eErr  error
)

const e2eLearners = 800

// TestMain stops the shared service after the tests and removes its data
// (databases, master key, export files). It also fails the run if any
// response of any test service broke the OpenAPI contract: every service
// the tests start checks each of its responses against the spec.
func TestMain(m *testing.M) {
	// Commands run in the test process would set its soft memory limit
	// (--memory-limit auto) for every test after them.
	if os.Getenv("GOMEMLIMIT") == "" {
		os.Setenv("GOMEMLIMIT", "off")
	}
	code := m.Run()
	if env := e2eEnv; env != nil {
		env.stop()
		os.RemoveAll(env.dir)
		for _, drop := range env.drops {
			if err := drop(); err != nil {
				fmt.Fprintf(os.Stderr, "dropping a test database: %v\n", err)
			}
		}
	}
	contract.mu.Lock()
	if len(contract.broken) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d of %d responses broke the OpenAPI contract:\n", len(contract.broken), contract.checked.Load())
		for _, b := range contract.broken {
			fmt.Fprintln(os.Stderr, "  "+b)
		}
		code = 1
	} else {
		fmt.Fprintf(os.Stderr, "contract: %d responses checked against api/openapi.yaml, all valid\n", contract.checked.Load())
	}
	contract.mu.Unlock()
	os.Exit(code)
}

// contract collects the responses of the test services that break the
// OpenAPI spec (see appOptions.ResponseCheck).
var contract struct {
	mu      sync.Mutex
	broken  []string
	checked atomic.Int64
}

func checkResponse(r *http.Request, status int, err error) {
	contract.checked.Add(1)
	if err == nil {
		return
	}
	contract.mu.Lock()
	defer contract.mu.Unlock()
	if len(contract.broken) < 50 {
		contract.broken = append(contract.broken, fmt.Sprintf("%s %s -> %d: %v", r.Method, r.URL.Path, status, err))
	}
}

// setupE2E starts the service once per test binary through the same
// wiring as `rexport serve`, on 127.0.0.1:0.
func setupE2E(t *testing.T) *e2e {
	t.Helper()
	e2eOnce.Do(func() { e2eEnv, e2eErr = newE2E() })
	if e2eErr != nil {
		t.Fatalf("setting up the service: %v", e2eErr)
	}
	return e2eEnv
}

func newE2E() (*e2e, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rexport-e2e-")
	if err != nil {
		return nil, err
	}
	srcPath := filepath.Join(dir, "source.db")
	cfg := fixtures.Config{Learners: e2eLearners, Seed: 7}
	if err := writeFixturesDB(ctx, cfg, srcPath, nil); err != nil {
		return &e2e{dir: dir}, err
	}
	var o appOptions
	var drops []func() error
	if storetest.Postgres() {
		// The metadata database and the source are PostgreSQL; the tests
		// read their expected values from the same fixtures in SQLite.
		base := os.Getenv(pgtest.Env)
		for _, dsn := range []*string{&o.DB, &o.SourcePath} {
			url, drop, err := pgtest.Create(ctx, base)
			if err != nil {
				return &e2e{dir: dir, drops: drops}, fmt.Errorf("PostgreSQL test server (%s): %w", pgtest.Env, err)
			}
			*dsn, drops = url, append(drops, drop)
		}
		if err := writeFixturesPostgres(ctx, cfg, o.SourcePath, nil); err != nil {
			return &e2e{dir: dir, drops: drops}, err
		}
	}
	env, err := startService(ctx, dir, srcPath, o)
	env.drops = drops
	return env, err
}

// startService starts a service over the source database at srcPath (or
// o.SourcePath, if set; srcPath is still read for expected values) with
// its data under dir, through the same wiring as `rexport serve`, on
// 127.0.0.1:0; registers the source's first two partners (the second's
// agreement leaves out forum posts and free text), a researcher of each
// and two reviewers. o may set the logger, the metadata database, the
// files store and Workers < 0 (no builds); the rest is the tests'. The
// caller stops it with stop, also on error.
func startService(ctx context.Context, dir, srcPath string, o appOptions) (*e2e, error) {
	env := &e2e{dir: dir, researchers: map[string]*client.Client{}}
	var err error
	if env.source, err = sql.Open("sqlite", "file:"+srcPath+"?mode=ro"); err != nil {
		return env, err
	}
	// Two builds at once, unless the test asks for an API that builds
	// nothing (Workers < 0).
	workers := 2
	if o.Workers < 0 {
		workers = 0
	}
	if o.SourcePath == "" {
		o.SourcePath = srcPath
	}
	o.DataDir, o.Workers, o.PollInterval = filepath.Join(dir, "data"), workers, 50*time.Millisecond
	if importer.IsPostgresURL(o.DB) {
		// On a shared database the service makes up no master key.
		if err := ensureMasterKeyFile(o.DataDir); err != nil {
			return env, err
		}
	}
	// The tests fire requests faster, and file more of them, than any
	// client should.
	o.RateLimit, o.DailyRequests = api.RateLimit{PerSecond: 10000, Burst: 10000}, 100000
	o.ResponseCheck = checkResponse
	env.app, err = openApp(ctx, o)
	if err != nil {
		return env, err
	}
	token, err := env.app.ensureAdmin(ctx)
	if err != nil {
		return env, err
	}
	srv, err := env.app.serve(ctx, "127.0.0.1:0")
	if err != nil {
		return env, err
	}
	env.url, env.srv = srv.URL, srv
	env.admin = client.New(srv.URL, token)

	courses, err := env.app.source.Courses(ctx, nil)
	if err != nil {
		return env, err
	}
	seen := map[string]bool{}
	for _, c := range courses {
		if !seen[c.PartnerID] {
			seen[c.PartnerID] = true
			env.partners = append(env.partners, c.PartnerID)
		}
	}
	if len(env.partners) < 2 {
		return env, fmt.Errorf("fixtures have %d partners, want at least 2", len(env.partners))
	}
	yes := true
	for i, pid := range env.partners[:2] {
		dua := api.DUA{Reference: "DUA-" + pid, AllowedTables: allAPITables(), AllowFreeText: &yes, AllowSensitive: &yes}
		if i == 1 {
			// The second partner's agreement leaves out forum posts and free text.
			dua.AllowedTables = slices.DeleteFunc(allAPITables(), func(t api.Table) bool { return t == api.Table(export.TableForumPosts) })
			no := false
			dua.AllowFreeText = &no
		}
		if _, err := env.admin.CreatePartner(ctx, api.PartnerInput{Id: pid, Name: "Partner " + pid, Dua: dua}); err != nil {
			return env, fmt.Errorf("create partner %s: %w", pid, err)
		}
		pid := pid
		tok, err := env.admin.CreateToken(ctx, api.TokenInput{Name: "researcher " + pid, Role: "researcher", PartnerId: &pid})
		if err != nil {
			return env, err
		}
		env.researchers[pid] = client.New(srv.URL, tok.Token)
	}
	rev, err := env.admin.CreateToken(ctx, api.TokenInput{Name: "reviewer", Role: "reviewer"})
	if err != nil {
		return env, err
	}
	env.reviewer, env.reviewerID = client.New(srv.URL, rev.Token), rev.PrincipalId
	rev2, err := env.admin.CreateToken(ctx, api.TokenInput{Name: "second reviewer", Role: "reviewer"})
	if err != nil {
		return env, err
	}
	env.reviewer2, env.reviewer2ID = client.New(srv.URL, rev2.Token), rev2.PrincipalId
	return env, nil
}

// ensureMasterKeyFile writes a new master key into dataDir unless there is
// one.
func ensureMasterKeyFile(dataDir string) error {
	path := filepath.Join(dataDir, "master.key")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	k, err := deidentify.GenerateMasterKey(rand.Reader)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(k.Encode()+"\n"), 0o600)
}

// stop shuts the service down and closes its databases (not its
// directory, which belongs to the caller).
func (env *e2e) stop() {
	if env.srv != nil {
		env.app.shutdown(env.srv)
	}
	if env.app != nil {
		env.app.Close()
	}
	if env.source != nil {
		env.source.Close()
	}
}

// newInstance starts a service of its own, for a test that changes the
// source data or needs its own logs, over a copy of the shared fixtures.
func newInstance(t *testing.T, o appOptions) *e2e {
	t.Helper()
	shared := setupE2E(t)
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(shared.dir, "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	srcPath := filepath.Join(dir, "source.db")
	if err := os.WriteFile(srcPath, src, 0o600); err != nil {
		t.Fatal(err)
	}
	if storetest.Postgres() && o.DB == "" {
		o.DB = pgtest.NewDatabase(t)
	}
	env, err := startService(context.Background(), dir, srcPath, o)
	t.Cleanup(env.stop)
	if err != nil {
		t.Fatalf("starting a service: %v", err)
	}
	return env
}

func allAPITables() []api.Table {
	var out []api.Table
	for _, n := range export.TableNames() {
		out = append(out, api.Table(n))
	}
	return out
}

func partnerCourses(t *testing.T, env *e2e, partner string) []string {
	t.Helper()
	var out []string
	rows, err := env.source.Query(`SELECT course_id FROM courses WHERE partner_id = ? ORDER BY course_id`, partner)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// builtExport is a ready export downloaded and read back with arrow-go.
type builtExport struct {
	id        string
	partner   string
	courses   []string
	manifest  export.Manifest
	tables    map[string]arrow.Table
	documents map[string][]byte
}

// approve gives an export the approvals it needs: a free-text request
// stays submitted after the first, and is queued after the second.
func approve(t *testing.T, env *e2e, id string, freeText bool) {
	t.Helper()
	ctx := context.Background()
	e, err := env.reviewer.Approve(ctx, id)
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	if !freeText {
		if e.State != api.StateQueued && e.State != api.StateBuilding && e.State != api.StateReady {
			t.Fatalf("after its one approval the export is %s", e.State)
		}
		return
	}
	if e.State != api.StateSubmitted || e.ApprovalsRequired != 2 {
		t.Fatalf("after the first of two approvals: state %s, approvals required %d", e.State, e.ApprovalsRequired)
	}
	if _, err := env.reviewer.Approve(ctx, id); err == nil {
		t.Fatal("one reviewer approved the same request twice")
	}
	if _, err := env.reviewer2.Approve(ctx, id); err != nil {
		t.Fatalf("second Approve: %v", err)
	}
}

// buildExport submits, approves, waits for and downloads an export of all
// the partner's courses.
func buildExport(t *testing.T, env *e2e, partner string, tables []api.Table, freeText bool) *builtExport {
	t.Helper()
	return buildRequest(t, env, partner, api.ExportRequest{
		Title: "e2e " + partner, Purpose: "end-to-end test", Courses: partnerCourses(t, env, partner), Tables: tables,
		IncludeFreeText: &freeText, IncludeSensitive: &freeText,
	})
}

// buildRequest submits req as the partner's researcher, approves it,
// waits for it and downloads it.
func buildRequest(t *testing.T, env *e2e, partner string, req api.ExportRequest) *builtExport {
	t.Helper()
	ctx := context.Background()
	rc := env.researchers[partner]
	courses := req.Courses
	e, err := rc.CreateExport(ctx, req)
	if err != nil {
		t.Fatalf("CreateExport: %v", err)
	}
	if e.State != api.StateSubmitted {
		t.Fatalf("new export state = %s, want submitted", e.State)
	}
	approve(t, env, e.Id, e.ApprovalsRequired == 2)
	return fetchExport(t, env, partner, e.Id, courses)
}

// fetchExport waits for an export to be ready and downloads it, reading
// every table with arrow-go.
func fetchExport(t *testing.T, env *e2e, partner, id string, courses []string) *builtExport {
	t.Helper()
	ctx := context.Background()
	rc := env.researchers[partner]
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	ready, err := rc.WaitReady(wctx, id, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	e := ready
	raw, err := rc.Manifest(ctx, e.Id)
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	b := &builtExport{id: e.Id, partner: partner, courses: courses, tables: map[string]arrow.Table{}}
	if err := json.Unmarshal(raw, &b.manifest); err != nil {
		t.Fatal(err)
	}
	if want := len(b.manifest.Tables) + len(b.manifest.Documents) + 1; len(ready.Files) != want || len(b.manifest.Documents) != 2 {
		t.Errorf("export lists %d files, want %d tables + %d documents + manifest", len(ready.Files), len(b.manifest.Tables), len(b.manifest.Documents))
	}
	b.documents = map[string][]byte{}
	for _, doc := range b.manifest.Documents {
		var buf bytes.Buffer
		if _, err := rc.Download(ctx, e.Id, doc.Name, doc.SHA256, &buf); err != nil {
			t.Fatalf("Download %s: %v", doc.Name, err)
		}
		b.documents[doc.Name] = buf.Bytes()
	}
	for _, mt := range b.manifest.Tables {
		var buf bytes.Buffer
		if _, err := rc.Download(ctx, e.Id, mt.File, mt.SHA256, &buf); err != nil {
			t.Fatalf("Download %s: %v", mt.File, err)
		}
		tbl := readParquet(t, buf.Bytes())
		if tbl.NumRows() != mt.Rows {
			t.Errorf("%s: arrow-go reads %d rows, manifest says %d", mt.File, tbl.NumRows(), mt.Rows)
		}
		b.tables[mt.Name] = tbl
	}
	return b
}

// readParquet reads a Parquet file with arrow-go, an independent reader.
func readParquet(t *testing.T, data []byte) arrow.Table {
	t.Helper()
	return arrowtest.Read(t, data)
}

// stringColumn returns a column's values as strings ("" for null), in row
// order.
func stringColumn(t *testing.T, tbl arrow.Table, name string) []string {
	t.Helper()
	idx := tbl.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %q in %v", name, tbl.Schema())
	}
	var out []string
	for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
		for i := 0; i < chunk.Len(); i++ {
			if chunk.IsNull(i) {
				out = append(out, "")
				continue
			}
			switch a := chunk.(type) {
			case *array.String:
				out = append(out, a.Value(i))
			case *array.Timestamp:
				unit := a.DataType().(*arrow.TimestampType).Unit
				out = append(out, a.Value(i).ToTime(unit).UTC().Format(time.RFC3339))
			default:
				out = append(out, chunk.ValueStr(i))
			}
		}
	}
	return out
}

// allValues renders every value of every column, for leak checks.
func allValues(tbl arrow.Table) []string {
	var out []string
	for c := 0; c < int(tbl.NumCols()); c++ {
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				if !chunk.IsNull(i) {
					if s, ok := chunk.(*array.String); ok {
						out = append(out, s.Value(i))
					} else {
						out = append(out, chunk.ValueStr(i))
					}
				}
			}
		}
	}
	return out
}

// The documented filters, written independently of the build as SQL over
// the source DB: partner's courses, and learners neither deleted nor opted
// out nor under 13 at the row's time (signup for the learners table).
// Demographics also need a known age (birth date, else year of birth taken
// as its 31 December).
const okLearner = `l.deleted_at IS NULL AND l.research_opt_out = 0`

func expectedCount(t *testing.T, env *e2e, table string, courses []string) int64 {
	t.Helper()
	in := "'" + strings.Join(courses, "','") + "'"
	enrolled := `SELECT learner_id FROM enrollments WHERE course_id IN (` + in + `)`
	age := func(ts string) string {
		return `(l.birth_date IS NULL OR substr(` + ts + `, 1, 10) >= date(l.birth_date, '+13 years'))`
	}
	var q string
	switch table {
	case export.TableCourses:
		q = `SELECT count(*) FROM courses WHERE course_id IN (` + in + `)`
	case export.TableLearners:
		q = `SELECT count(*) FROM learners l WHERE l.learner_id IN (` + enrolled + `) AND ` + okLearner + ` AND ` + age("l.signup_at")
	case export.TableSurveyDemographics:
		q = `SELECT count(*) FROM survey_demographics s JOIN learners l USING (learner_id)
			WHERE (s.course_id IN (` + in + `) OR (s.course_id IS NULL AND s.learner_id IN (` + enrolled + `)))
			AND ` + okLearner + ` AND (
				(l.birth_date IS NOT NULL AND substr(s.submitted_at, 1, 10) >= date(l.birth_date, '+13 years'))
				OR (l.birth_date IS NULL AND s.year_of_birth IS NOT NULL AND substr(s.submitted_at, 1, 10) >= printf('%04d-12-31', s.year_of_birth + 13)))`
	default:
		tbl, _ := export.SourceTable(table)
		q = `SELECT count(*) FROM ` + table + ` x JOIN learners l USING (learner_id)
			WHERE x.course_id IN (` + in + `) AND ` + okLearner + ` AND ` + age("x."+tbl.TimeColumn)
	}
	var n int64
	if err := env.source.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	return n
}

// learnerPseudonyms maps every source learner's pseudonym under the
// export's key parameters back to the raw id.
func learnerPseudonyms(t *testing.T, env *e2e, partner string, version int) map[string]string {
	t.Helper()
	ps, err := deidentify.NewPseudonymizer(env.app.master, deidentify.KeyParams{Partner: partner, Scope: deidentify.ScopePartner, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := env.source.Query(`SELECT learner_id FROM learners`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[ps.Pseudonym(deidentify.KindLearner, id)] = id
	}
	return out
}

func TestEndToEnd(t *testing.T) {
	env := setupE2E(t)
	partnerA, partnerB := env.partners[0], env.partners[1]
	a := buildExport(t, env, partnerA, allAPITables(), true)

	t.Run("RowCountsMatchSourceAfterFilters", func(t *testing.T) {
		for _, mt := range a.manifest.Tables {
			want := expectedCount(t, env, mt.Name, a.courses)
			if mt.Rows != want {
				t.Errorf("%s: %d rows, want %d from the source after the documented filters", mt.Name, mt.Rows, want)
			}
			if want == 0 {
				t.Errorf("%s: the fixtures give no rows, the check proves nothing", mt.Name)
			}
		}
		if len(a.manifest.Tables) != len(export.SourceTables) {
			t.Errorf("manifest has %d tables, want %d", len(a.manifest.Tables), len(export.SourceTables))
		}
	})

	t.Run("NoDirectIdentifierLeaves", func(t *testing.T) {
		needles := map[string]string{}
		rows, err := env.source.Query(`SELECT learner_id, full_name, email, username, coalesce(last_ip, ''), coalesce(postal_code, '') FROM learners`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, name, email, user, ip, postal string
			if err := rows.Scan(&id, &name, &email, &user, &ip, &postal); err != nil {
				t.Fatal(err)
			}
			needles[id], needles[name], needles[email], needles[user] = "learner_id", "full_name", "email", "username"
			if ip != "" {
				needles[ip] = "last_ip"
			}
			if len(postal) >= 4 {
				needles[postal] = "postal_code"
			}
		}
		rows.Close()
		ipRows, err := env.source.Query(`SELECT DISTINCT client_ip FROM quiz_submissions WHERE client_ip IS NOT NULL`)
		if err != nil {
			t.Fatal(err)
		}
		for ipRows.Next() {
			var ip string
			if err := ipRows.Scan(&ip); err != nil {
				t.Fatal(err)
			}
			needles[ip] = "client_ip"
		}
		ipRows.Close()
		m := newMatcher(needles)
		// What the fixtures plant after these phrases is personal data
		// (address, city, email, phone, profile link, IP): only a [TOKEN]
		// may follow them.
		planted := regexp.MustCompile(`(I live at|I'm based in|You can email me at|Write to|My email:|Mail me:|Contact:|my address is|Call or WhatsApp me on|My number is|Text me at|My profile:|My code is on|I blog about it at|Follow me:|blocked my IP|My home server is at|I'm connecting from) [^\[]|Thanks to [^\[][^!]* for the explanation|As [^\[][^.]* said in the last thread`)
		for name, tbl := range a.tables {
			for _, v := range allValues(tbl) {
				if needle, kind, ok := m.find(v); ok {
					t.Errorf("%s: a learner's %s (%d bytes) appears in an output value", name, kind, len(needle))
				}
				if loc := planted.FindStringIndex(v); loc != nil {
					t.Errorf("%s: a planted value survives: %q", name, v[loc[0]:min(len(v), loc[1]+30)])
				}
			}
		}
	})

	pseudo := learnerPseudonyms(t, env, partnerA, a.manifest.Pseudonyms.KeyVersion)

	t.Run("ExcludedLearnersAbsent", func(t *testing.T) {
		facts := map[string]struct {
			birth           string
			optOut, deleted bool
		}{}
		rows, err := env.source.Query(`SELECT learner_id, coalesce(birth_date, ''), research_opt_out, deleted_at IS NOT NULL FROM learners`)
		if err != nil {
			t.Fatal(err)
		}
		var nOpt, nDel, nYoung int
		for rows.Next() {
			var id, birth string
			var opt, del bool
			if err := rows.Scan(&id, &birth, &opt, &del); err != nil {
				t.Fatal(err)
			}
			facts[id] = struct {
				birth           string
				optOut, deleted bool
			}{birth, opt, del}
		}
		rows.Close()
		for name, tbl := range a.tables {
			tab, _ := export.SourceTable(name)
			if name == export.TableCourses {
				continue
			}
			ids := stringColumn(t, tbl, "learner_id")
			var times []string
			switch {
			case tab.TimeColumn != "":
				times = stringColumn(t, tbl, tab.TimeColumn)
			}
			for i, p := range ids {
				raw, ok := pseudo[p]
				if !ok {
					t.Fatalf("%s row %d: learner_id %q is not the pseudonym of any source learner", name, i, p)
				}
				f := facts[raw]
				if f.optOut {
					nOpt++
				}
				if f.deleted {
					nDel++
				}
				if f.birth != "" && times != nil {
					birth, _ := time.Parse(export.DateLayout, f.birth)
					at, _ := time.Parse(time.RFC3339, times[i])
					if deidentify.AgeAt(birth, at) < 13 {
						nYoung++
					}
				}
			}
		}
		if nOpt+nDel+nYoung != 0 {
			t.Errorf("excluded learners present: %d opted-out rows, %d deleted rows, %d under-13 rows", nOpt, nDel, nYoung)
		}
		for _, reason := range []string{export.ExcludedOptedOut, export.ExcludedDeleted, export.ExcludedUnder13} {
			if a.manifest.ExcludedLearners[reason] == 0 {
				t.Errorf("manifest counts no %s learners; the fixtures plant them", reason)
			}
		}
	})

	t.Run("PseudonymsConsistentAcrossTables", func(t *testing.T) {
		// The learners table holds every learner seen in the others.
		inLearners := map[string]bool{}
		for _, p := range stringColumn(t, a.tables[export.TableLearners], "learner_id") {
			inLearners[p] = true
		}
		for _, name := range []string{export.TableEnrollments, export.TableQuizSubmissions, export.TableGrades, export.TableForumPosts} {
			perLearner := map[string]int64{}
			for _, p := range stringColumn(t, a.tables[name], "learner_id") {
				perLearner[pseudo[p]]++
			}
			// Each raw learner has as many rows under its one pseudonym as
			// the source says.
			for raw, n := range perLearner {
				var want int64
				tab, _ := export.SourceTable(name)
				q := `SELECT count(*) FROM ` + name + ` x JOIN learners l USING (learner_id) WHERE x.learner_id = ? AND x.course_id IN ('` +
					strings.Join(a.courses, "','") + `') AND ` + okLearner +
					` AND (l.birth_date IS NULL OR substr(x.` + tab.TimeColumn + `, 1, 10) >= date(l.birth_date, '+13 years'))`
				if err := env.source.QueryRow(q, raw).Scan(&want); err != nil {
					t.Fatal(err)
				}
				if n != want {
					t.Errorf("%s: a learner has %d rows, source has %d", name, n, want)
				}
			}
		}
		for _, p := range stringColumn(t, a.tables[export.TableEnrollments], "learner_id") {
			if !inLearners[p] {
				t.Errorf("enrollments learner %s missing from learners table", p)
				break
			}
		}
	})

	t.Run("PseudonymsDifferBetweenPartners", func(t *testing.T) {
		b := buildExport(t, env, partnerB, []api.Table{api.Table(export.TableEnrollments)}, false)
		pseudoB := learnerPseudonyms(t, env, partnerB, b.manifest.Pseudonyms.KeyVersion)
		rawA := map[string]string{}
		for _, p := range stringColumn(t, a.tables[export.TableEnrollments], "learner_id") {
			rawA[pseudo[p]] = p
		}
		shared := 0
		for _, p := range stringColumn(t, b.tables[export.TableEnrollments], "learner_id") {
			raw, ok := pseudoB[p]
			if !ok {
				t.Fatalf("partner B pseudonym %s matches no learner", p)
			}
			if pa, ok := rawA[raw]; ok {
				shared++
				if pa == p {
					t.Errorf("a learner enrolled with both partners has the same pseudonym in both exports")
				}
			}
		}
		if shared == 0 {
			t.Errorf("no learner is enrolled with both partners; the check proves nothing")
		}
	})

	t.Run("DictionaryDescribesEveryColumn", func(t *testing.T) {
		var d export.Dictionary
		if err := json.Unmarshal(a.documents[export.DictionaryName], &d); err != nil {
			t.Fatal(err)
		}
		readme := string(a.documents[export.ReadmeName])
		if len(d.Tables) != len(a.tables) {
			t.Fatalf("dictionary has %d tables, export %d", len(d.Tables), len(a.tables))
		}
		for _, dt := range d.Tables {
			schema := a.tables[dt.Name].Schema()
			if len(dt.Columns) != schema.NumFields() {
				t.Errorf("%s: dictionary has %d columns, file %d", dt.Name, len(dt.Columns), schema.NumFields())
				continue
			}
			for i, c := range dt.Columns {
				f := schema.Field(i)
				if f.Name != c.Name || f.Nullable != c.Nullable || c.Doc == "" || c.Treatment == "" {
					t.Errorf("%s column %d: dictionary %+v, file %s nullable=%v", dt.Name, i, c, f.Name, f.Nullable)
				}
				if !strings.Contains(readme, "| `"+c.Name+"` |") {
					t.Errorf("README.md does not document %s.%s", dt.Name, c.Name)
				}
			}
		}
		if !strings.Contains(readme, "key v1") || !strings.Contains(readme, "partner scope") {
			t.Errorf("README.md does not state the pseudonym key version and scope")
		}
	})

	t.Run("OtherPartnerSeesNotFound", func(t *testing.T) {
		ctx := context.Background()
		rcB := env.researchers[partnerB]
		_, err := rcB.Export(ctx, a.id)
		assertStatus(t, err, http.StatusNotFound)
		_, err = rcB.Download(ctx, a.id, a.manifest.Tables[0].File, "", &bytes.Buffer{})
		assertStatus(t, err, http.StatusNotFound)
		list, err := rcB.Exports(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			if e.PartnerId != partnerB {
				t.Errorf("partner B lists export %s of %s", e.Id, e.PartnerId)
			}
		}
	})

	t.Run("ManifestCountsFindingsPerColumn", func(t *testing.T) {
		for _, mt := range a.manifest.Tables {
			if mt.Name != export.TableForumPosts {
				continue
			}
			for _, c := range mt.Columns {
				if c.Name != "body" {
					continue
				}
				// The fixtures plant emails, phones and roster names in posts.
				for _, typ := range []string{deidentify.FindingEmail, deidentify.FindingPhone, deidentify.FindingPerson} {
					if c.Findings[typ] == 0 {
						t.Errorf("forum_posts.body: no %s findings counted: %v", typ, c.Findings)
					}
				}
				var n int64
				for _, v := range allValues(a.tables[mt.Name]) {
					n += int64(strings.Count(v, "[EMAIL]"))
				}
				if n < c.Findings[deidentify.FindingEmail] {
					t.Errorf("%d [EMAIL] tokens in forum posts, fewer than the %d findings counted in the body alone", n, c.Findings[deidentify.FindingEmail])
				}
				return
			}
		}
		t.Error("no forum_posts.body column in the manifest")
	})

	t.Run("TimestampsTruncatedToTheHour", func(t *testing.T) {
		if a.manifest.TimePrecision != "hour" {
			t.Errorf("manifest time precision %q, want the default hour", a.manifest.TimePrecision)
		}
		for _, v := range stringColumn(t, a.tables[export.TableQuizSubmissions], "submitted_at") {
			if !strings.HasSuffix(v, ":00:00Z") {
				t.Fatalf("submitted_at %s is finer than the hour", v)
			}
		}
	})

	t.Run("RangeAndETag", func(t *testing.T) {
		mt := a.manifest.Tables[0]
		url := env.url + "/v1/exports/" + a.id + "/files/" + mt.File
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+env.researchers[partnerA].Token)
		req.Header.Set("Range", "bytes=0-3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || body.String() != "PAR1" {
			t.Errorf("Range bytes=0-3: status %d body %q, want 206 \"PAR1\"", resp.StatusCode, body.String())
		}
		if got, want := resp.Header.Get("ETag"), `"`+mt.SHA256+`"`; got != want {
			t.Errorf("ETag = %s, want %s", got, want)
		}
		req.Header.Del("Range")
		req.Header.Set("If-None-Match", `"`+mt.SHA256+`"`)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match with the ETag: status %d, want 304", resp.StatusCode)
		}
	})
}

func assertStatus(t *testing.T, err error, want int) {
	t.Helper()
	ce, ok := err.(*client.Error)
	if !ok {
		t.Fatalf("got error %v, want HTTP %d", err, want)
	}
	if ce.Status != want {
		t.Fatalf("got HTTP %d (%s), want %d", ce.Status, ce.Message, want)
	}
}

// matcher finds any of many needles in a text in one pass: needles are
// indexed by their first four bytes.
type matcher struct {
	byPrefix map[string][]string
	kind     map[string]string
}

func newMatcher(needles map[string]string) *matcher {
	m := &matcher{byPrefix: map[string][]string{}, kind: needles}
	for n := range needles {
		if len(n) < 4 {
			panic(fmt.Sprintf("needle of %d bytes is too short to check", len(n)))
		}
		m.byPrefix[n[:4]] = append(m.byPrefix[n[:4]], n)
	}
	return m
}

func (m *matcher) find(text string) (string, string, bool) {
	for i := 0; i+4 <= len(text); i++ {
		for _, n := range m.byPrefix[text[i:i+4]] {
			if !strings.HasPrefix(text[i:], n) {
				continue
			}
			// A postal code counts as a word, not inside a longer number.
			if m.kind[n] == "postal_code" && (i > 0 && isAlnumByte(text[i-1]) || i+len(n) < len(text) && isAlnumByte(text[i+len(n)])) {
				continue
			}
			// A short username turns up inside one of tens of thousands
			// of pseudonyms' random base32 by chance: that is no leak.
			if m.kind[n] == "username" && insidePseudonym(text, i, i+len(n)) {
				continue
			}
			return n, m.kind[n], true
		}
	}
	return "", "", false
}

// pseudonymShape is a pseudonym: a kind letter, "_", 32 base32 characters.
var pseudonymShape = regexp.MustCompile(`^[a-z]_[a-z2-7]{32}$`)

// insidePseudonym reports whether text[i:j] lies within a pseudonym-shaped
// word of text.
func insidePseudonym(text string, i, j int) bool {
	for i > 0 && (isAlnumByte(text[i-1]) || text[i-1] == '_') {
		i--
	}
	for j < len(text) && (isAlnumByte(text[j]) || text[j] == '_') {
		j++
	}
	return pseudonymShape.MatchString(text[i:j])
}

func isAlnumByte(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
}
