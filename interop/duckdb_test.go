//go:build duckdb_arrow

package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/api/client"
	"github.com/rexport/rexport/export"
)

// fixtureLearners keeps the run short; every table still has rows.
const fixtureLearners = 200

// partnerID is a partner of the generated fixtures.
const partnerID = "partner-uni-a"

// duckType is the DuckDB type of each type of the data dictionary, as
// DESCRIBE names it, for the Parquet file and for the Arrow stream alike.
var duckType = map[string]string{
	"string":    "VARCHAR",
	"int64":     "BIGINT",
	"float64":   "DOUBLE",
	"bool":      "BOOLEAN",
	"date":      "DATE",
	"timestamp": "TIMESTAMP WITH TIME ZONE",
}

// TestDuckDBReadsExport builds an export of every table with free text
// on a real `rexport serve`, downloads it with its checksums, and reads it
// with DuckDB: each Parquet file against the manifest and the dictionary,
// and each table's Arrow stream against its Parquet file.
func TestDuckDBReadsExport(t *testing.T) {
	ctx := context.Background()
	srv := startRexport(t)
	ex := buildExport(ctx, t, srv)

	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// One connection: Arrow views belong to the connection that
	// registered them.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	for i, mt := range ex.manifest.Tables {
		dt := ex.dictionary.Tables[i]
		t.Run(mt.Name, func(t *testing.T) {
			parquetCols := checkParquet(ctx, t, conn, ex, mt, dt)
			checkArrowStream(ctx, t, conn, srv, ex, mt, parquetCols)
		})
	}
}

// column is a column as DuckDB's DESCRIBE gives it.
type column struct{ Name, Type string }

// checkParquet reads one Parquet file with DuckDB and checks it against
// the manifest and the dictionary; it returns the file's columns.
func checkParquet(ctx context.Context, t *testing.T, conn *sql.Conn, ex *builtExport, mt export.ManifestTable, dt export.DictionaryTable) []column {
	t.Helper()
	from := "read_parquet(" + sqlString(filepath.Join(ex.dir, mt.File)) + ")"

	var rows int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+from).Scan(&rows); err != nil {
		t.Fatalf("DuckDB cannot read %s: %v", mt.File, err)
	}
	if rows != mt.Rows || rows != dt.Rows {
		t.Errorf("%s: DuckDB counts %d rows; manifest says %d, dictionary %d", mt.File, rows, mt.Rows, dt.Rows)
	}
	if rows == 0 {
		t.Errorf("%s: no rows; the fixtures should fill every table", mt.File)
	}
	t.Logf("%s: %d rows, as in the manifest", mt.File, rows)

	got := describe(ctx, t, conn, "SELECT * FROM "+from)
	var want []column
	for _, c := range dt.Columns {
		typ, ok := duckType[c.Type]
		if !ok {
			t.Fatalf("dictionary column %s.%s has type %q, which this test does not know", dt.Name, c.Name, c.Type)
		}
		want = append(want, column{c.Name, typ})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: DuckDB's columns mismatch with the dictionary's (-dictionary +DuckDB):\n%s", mt.File, diff)
	}

	// A column the dictionary says is not nullable holds no null.
	var counts []string
	var names []string
	for _, c := range dt.Columns {
		if !c.Nullable {
			counts = append(counts, fmt.Sprintf("count(*) FILTER (WHERE %s IS NULL)", sqlIdent(c.Name)))
			names = append(names, c.Name)
		}
	}
	if len(counts) > 0 {
		nulls := make([]int64, len(counts))
		dest := make([]any, len(counts))
		for i := range nulls {
			dest[i] = &nulls[i]
		}
		if err := conn.QueryRowContext(ctx, "SELECT "+strings.Join(counts, ", ")+" FROM "+from).Scan(dest...); err != nil {
			t.Fatal(err)
		}
		for i, n := range nulls {
			if n != 0 {
				t.Errorf("%s: column %s is not nullable in the dictionary, DuckDB finds %d nulls", mt.File, names[i], n)
			}
		}
	}

	// The file describes itself.
	meta := map[string]string{}
	kv, err := conn.QueryContext(ctx, "SELECT decode(key), decode(value) FROM parquet_kv_metadata("+sqlString(filepath.Join(ex.dir, mt.File))+")")
	if err != nil {
		t.Fatal(err)
	}
	for kv.Next() {
		var k, v string
		if err := kv.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		meta[k] = v
	}
	if err := kv.Err(); err != nil {
		t.Fatal(err)
	}
	kv.Close()
	if meta["rexport.export_id"] != ex.id || meta["rexport.table"] != mt.Name {
		t.Errorf("%s: key/value metadata %v, want rexport.export_id=%s and rexport.table=%s", mt.File, meta, ex.id, mt.Name)
	}
	return got
}

// checkArrowStream fetches the table's Arrow stream, hands it to DuckDB
// through the Arrow C stream interface, and compares it with the Parquet
// file: the same column types, and the same rows in the same order.
func checkArrowStream(ctx context.Context, t *testing.T, conn *sql.Conn, srv *service, ex *builtExport, mt export.ManifestTable, parquetCols []column) {
	t.Helper()
	path := filepath.Join(ex.dir, mt.Name+".arrows")
	fetchStream(ctx, t, srv.url, ex.researcher.Token, ex.id, mt.Name, path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := ipc.NewReader(f)
	if err != nil {
		t.Fatalf("arrow-go cannot open the stream of %s: %v", mt.Name, err)
	}
	defer rd.Release()

	view, copied := "stream_"+mt.Name, "copy_"+mt.Name
	var release func()
	err = conn.Raw(func(dc any) error {
		a, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		release, err = a.RegisterView(rd, view)
		return err
	})
	if err != nil {
		t.Fatalf("DuckDB cannot register the stream of %s: %v", mt.Name, err)
	}
	defer release()

	if diff := cmp.Diff(parquetCols, describe(ctx, t, conn, "SELECT * FROM "+view)); diff != "" {
		t.Errorf("%s: DuckDB's types of the Arrow stream mismatch with those of the Parquet file (-Parquet +Arrow):\n%s", mt.Name, diff)
	}
	// A stream can be read once: DuckDB copies it into a table first.
	if _, err := conn.ExecContext(ctx, "CREATE TABLE "+copied+" AS SELECT * FROM "+view); err != nil {
		t.Fatalf("DuckDB cannot read the stream of %s: %v", mt.Name, err)
	}
	if err := rd.Err(); err != nil {
		t.Fatalf("the stream of %s is broken: %v", mt.Name, err)
	}
	var rows int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+copied).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != mt.Rows {
		t.Errorf("%s: the Arrow stream has %d rows, the manifest says %d", mt.Name, rows, mt.Rows)
	}

	// Row i of the stream is row i of the file, value for value (the
	// whole row compared as one struct; NULL matches NULL).
	file := "read_parquet(" + sqlString(filepath.Join(ex.dir, mt.File)) + ")"
	var differ int64
	var first sql.NullString
	q := `SELECT count(*), min(CAST(stream_row AS VARCHAR)) FROM
		(SELECT stream_row FROM ` + copied + ` AS stream_row) POSITIONAL JOIN (SELECT file_row FROM ` + file + ` AS file_row)
		WHERE stream_row IS DISTINCT FROM file_row`
	if err := conn.QueryRowContext(ctx, q).Scan(&differ, &first); err != nil {
		t.Fatal(err)
	}
	if differ != 0 {
		t.Errorf("%s: %d rows of the Arrow stream differ from the same rows of the Parquet file; e.g. %.300s", mt.Name, differ, first.String)
	}
	t.Logf("%s: Arrow stream of %d rows matches the Parquet file row for row", mt.Name, rows)
}

// fetchStream saves the Arrow stream of a table to path.
func fetchStream(ctx context.Context, t *testing.T, baseURL, token, id, table, path string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/v1/exports/"+id+"/tables/"+table, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.apache.arrow.stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("GET %s: HTTP %d %s", req.URL.Path, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.apache.arrow.stream" {
		t.Errorf("GET %s: Content-Type %q", req.URL.Path, ct)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Fatalf("GET %s: %v", req.URL.Path, err)
	}
}

// describe returns the columns of a query's result as DuckDB types them.
func describe(ctx context.Context, t *testing.T, conn *sql.Conn, query string) []column {
	t.Helper()
	rows, err := conn.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE "+query+")")
	if err != nil {
		t.Fatalf("DESCRIBE %s: %v", query, err)
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
func sqlIdent(s string) string  { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// builtExport is a ready export downloaded into dir.
type builtExport struct {
	id         string
	dir        string
	researcher *client.Client
	manifest   export.Manifest
	dictionary export.Dictionary
}

// buildExport registers the partner, a researcher and two reviewers,
// requests every table with free text (two approvals), waits for the
// build and downloads every file, checking each SHA-256.
func buildExport(ctx context.Context, t *testing.T, srv *service) *builtExport {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	admin := client.New(srv.url, srv.adminToken)
	var tables []api.Table
	for _, name := range export.TableNames() {
		tables = append(tables, api.Table(name))
	}
	yes := true
	partner, err := admin.CreatePartner(ctx, api.PartnerInput{Id: partnerID, Name: "Interop partner",
		Dua: api.DUA{Reference: "DUA-interop", AllowedTables: tables, AllowFreeText: &yes, AllowSensitive: &yes}})
	if err != nil {
		t.Fatalf("registering partner %s: %v", partnerID, err)
	}
	if len(partner.Courses) == 0 {
		t.Fatalf("partner %s has no courses in the fixtures", partnerID)
	}
	token := func(name string, role api.TokenInputRole, partner *string) *client.Client {
		tok, err := admin.CreateToken(ctx, api.TokenInput{Name: name, Role: role, PartnerId: partner})
		if err != nil {
			t.Fatalf("creating the %s token: %v", name, err)
		}
		return client.New(srv.url, tok.Token)
	}
	pid := partnerID
	researcher := token("interop researcher", api.TokenInputRole("researcher"), &pid)
	reviewers := []*client.Client{token("interop reviewer 1", api.TokenInputRole("reviewer"), nil), token("interop reviewer 2", api.TokenInputRole("reviewer"), nil)}

	e, err := researcher.CreateExport(ctx, api.ExportRequest{Title: "interop", Purpose: "read every file with DuckDB",
		Courses: partner.Courses, Tables: tables, IncludeFreeText: &yes, IncludeSensitive: &yes})
	if err != nil {
		t.Fatalf("requesting the export: %v", err)
	}
	if e.ApprovalsRequired != 2 {
		t.Fatalf("a request with free text needs %d approvals, want 2", e.ApprovalsRequired)
	}
	for i, rv := range reviewers {
		if _, err := rv.Approve(ctx, e.Id); err != nil {
			t.Fatalf("approval %d: %v", i+1, err)
		}
	}
	ready, err := researcher.WaitReady(ctx, e.Id, 200*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("waiting for export %s: %v", e.Id, err)
	}

	ex := &builtExport{id: e.Id, dir: t.TempDir(), researcher: researcher}
	for _, f := range ready.Files {
		out, err := os.Create(filepath.Join(ex.dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		n, err := researcher.Download(ctx, e.Id, f.Name, f.Sha256, out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("downloading %s: %v", f.Name, err)
		}
		if n != f.Size {
			t.Fatalf("downloading %s: %d bytes, the export lists %d", f.Name, n, f.Size)
		}
	}
	readJSON(t, filepath.Join(ex.dir, export.ManifestName), &ex.manifest)
	readJSON(t, filepath.Join(ex.dir, export.DictionaryName), &ex.dictionary)

	var names []string
	for _, mt := range ex.manifest.Tables {
		names = append(names, mt.Name)
	}
	if want := export.TableNames(); !sameSet(want, names) {
		t.Fatalf("the manifest lists tables %v, the request asked for %v", names, want)
	}
	if len(ex.dictionary.Tables) != len(ex.manifest.Tables) {
		t.Fatalf("the dictionary has %d tables, the manifest %d", len(ex.dictionary.Tables), len(ex.manifest.Tables))
	}
	for i, mt := range ex.manifest.Tables {
		dt := ex.dictionary.Tables[i]
		if dt.Name != mt.Name || dt.File != mt.File || dt.Rows != mt.Rows {
			t.Errorf("dictionary table %d is %s (%s, %d rows), manifest %s (%s, %d rows)", i, dt.Name, dt.File, dt.Rows, mt.Name, mt.File, mt.Rows)
		}
		if diff := cmp.Diff(mt.Columns, dt.Columns); diff != "" {
			t.Errorf("%s: dictionary columns mismatch with the manifest's (-manifest +dictionary):\n%s", mt.Name, diff)
		}
	}
	return ex
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// service is a running `rexport serve`.
type service struct {
	url, adminToken string
}

// startRexport builds the rexport binary from the main module, starts
// `rexport serve --fixtures` on a free loopback port, and reads the admin
// token and address it prints. The server is stopped when the test ends;
// its log is shown if the test failed.
func startRexport(t *testing.T) *service {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rexport")
	build := exec.Command("go", "build", "-o", bin, "./cmd/rexport")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building rexport: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "serve", "--data", t.TempDir(), "--fixtures", fmt.Sprint(fixtureLearners),
		"--addr", "127.0.0.1:0", "--rate", "1000", "--burst", "1000")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REXPORT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting rexport serve: %v", err)
	}
	exited := make(chan error, 1)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		go func() {
			for range lines { // let the reader reach Wait
			}
		}()
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log := stderr.String()
			if len(log) > 8000 {
				log = "..." + log[len(log)-8000:]
			}
			t.Logf("rexport serve stderr:\n%s", log)
		}
	})

	srv := &service{}
	wantToken := false
	timeout := time.After(3 * time.Minute)
	for srv.url == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("rexport serve exited before listening:\n%s", stderr.String())
			}
			switch {
			case wantToken:
				srv.adminToken, wantToken = strings.TrimSpace(line), false
			case strings.HasPrefix(line, "First start: admin token"):
				wantToken = true
			case strings.HasPrefix(line, "rexport listening on "):
				srv.url = strings.Fields(strings.TrimPrefix(line, "rexport listening on "))[0]
			}
		case <-timeout:
			t.Fatalf("rexport serve did not start listening in 3 minutes:\n%s", stderr.String())
		}
	}
	go func() {
		for range lines { // keep the pipe drained
		}
	}()
	if srv.adminToken == "" {
		t.Fatal("rexport serve printed no admin token on its first start")
	}
	return srv
}

// syncBuffer is a bytes.Buffer safe for a process to write while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
