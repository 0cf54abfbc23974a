package postgres

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/internal/pgtest"
	"github.com/rexport/rexport/source/internal/sourcetest"
	"github.com/rexport/rexport/source/internal/sqlsource"
	"github.com/rexport/rexport/source/sqlite"
)

// newDB returns a new database with the source schema on the test server.
func newDB(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestSource(t *testing.T) {
	t.Parallel()
	sourcetest.Run(t, func(t *testing.T) sourcetest.DB {
		db := newDB(t)
		// Small batches, so that the small test sources take several
		// fetches and copies.
		db.fetchRows, db.copyRows = 3, 100
		return sourcetest.DB{Source: db, Load: sourcetest.Loader(db.Load)}
	})
}

// schemaOf describes a table as both databases can report it.
type schemaOf struct {
	Columns     []string // name type [NOT NULL]
	Key         []string
	ForeignKeys []string // column -> table(column)
	Indexes     []string // name(columns)
	Checks      int
}

func pgSchema(t *testing.T, db *DB, table string) schemaOf {
	t.Helper()
	ctx := context.Background()
	var s schemaOf
	queries := []struct {
		sql string
		to  *[]string
	}{
		{`SELECT column_name || ' ' || data_type || coalesce(' COLLATE ' || collation_name, '') || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, &s.Columns},
		{`SELECT a.attname FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, n), pg_attribute a
			WHERE i.indrelid = $1::regclass AND i.indisprimary AND a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n`, &s.Key},
		{`SELECT a.attname || ' -> ' || c.confrelid::regclass || '(' || r.attname || ')'
			FROM pg_constraint c, pg_attribute a, pg_attribute r
			WHERE c.conrelid = $1::regclass AND c.contype = 'f' AND a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
			AND r.attrelid = c.confrelid AND r.attnum = c.confkey[1] ORDER BY 1`, &s.ForeignKeys},
		{`SELECT i.relname || '(' || string_agg(a.attname, ',' ORDER BY k.n) || ')'
			FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid, unnest(x.indkey) WITH ORDINALITY k(attnum, n), pg_attribute a
			WHERE x.indrelid = $1::regclass AND NOT x.indisprimary AND a.attrelid = x.indrelid AND a.attnum = k.attnum
			GROUP BY i.relname ORDER BY 1`, &s.Indexes},
	}
	for _, q := range queries {
		rows, err := db.pool.Query(ctx, q.sql, table)
		if err != nil {
			t.Fatal(err)
		}
		*q.to = collect(t, rows)
	}
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'", table).Scan(&s.Checks); err != nil {
		t.Fatal(err)
	}
	return s
}

// sqliteSchema reports the foreign keys and indexes of a table of a new
// SQLite source database: what the PostgreSQL schema must have too.
func sqliteSchema(t *testing.T, db *sqlite.DB, table string) (fks, indexes []string) {
	t.Helper()
	// The SQLite package keeps its handle to itself; read the file anew.
	src, err := sqlOpen(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rows, err := src.Query(`SELECT "from" || ' -> ' || "table" || '(' || "to" || ')' FROM pragma_foreign_key_list(?) ORDER BY 1`, table)
	if err != nil {
		t.Fatal(err)
	}
	fks = collect(t, rows)
	rows, err = src.Query(`SELECT l.name || '(' || (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno)) || ')'
		FROM pragma_index_list(?) l WHERE l.origin = 'c' ORDER BY 1`, table)
	if err != nil {
		t.Fatal(err)
	}
	return fks, collect(t, rows)
}

func TestSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	lite, err := sqlite.Create(ctx, filepath.Join(t.TempDir(), "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	types := map[export.ColumnType]string{
		export.TypeString: `text COLLATE C`, export.TypeInt64: "bigint", export.TypeFloat64: "double precision",
		export.TypeBool: "boolean", export.TypeDate: "date", export.TypeTimestamp: "timestamp with time zone",
	}
	for _, tab := range export.SourceTables {
		want := schemaOf{Key: tab.Key}
		for _, c := range tab.Columns {
			col := c.Name + " " + types[c.Type]
			if !c.Nullable {
				col += " NOT NULL"
			}
			want.Columns = append(want.Columns, col)
			if schema.Check(c) != "" {
				want.Checks++
			}
		}
		want.ForeignKeys, want.Indexes = sqliteSchema(t, lite, tab.Name)
		if diff := cmp.Diff(want, pgSchema(t, db, tab.Name)); diff != "" {
			t.Errorf("table %s mismatch (-want +got):\n%s", tab.Name, diff)
		}
	}
	var tables int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != len(export.SourceTables) {
		t.Errorf("got %d tables, want %d", tables, len(export.SourceTables))
	}
	// Migrate is idempotent.
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
}

// sessions returns the state and query of the other sessions on db's
// database.
func sessions(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), `SELECT state || ': ' || query FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	return collect(t, rows)
}

func TestScanStreamsThroughCursor(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	db.fetchRows = 50
	courses := sourcetest.LoadFixtures(t, sourcetest.Loader(db.Load), fixturesConfig(40))
	q := export.SourceQuery{Table: export.TableQuizSubmissions, Courses: courses}
	total, err := db.Count(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if total < 10*int64(db.fetchRows) {
		t.Fatalf("%d rows: too few for the test", total)
	}
	inTx := func(s string) bool { return strings.HasPrefix(s, "idle in transaction") }

	t.Run("CallbackRunsBetweenFetches", func(t *testing.T) {
		n := 0
		err := db.Scan(context.Background(), q, func(export.SourceRow) error {
			if n++; n == 1 || n == db.fetchRows+1 {
				want := "idle in transaction: FETCH FORWARD 50 FROM export_rows"
				if got := sessions(t, db); !slices.Contains(got, want) {
					t.Errorf("at row %d, sessions = %q, want one %q", n, got, want)
				}
			}
			return nil
		})
		if err != nil || int64(n) != total {
			t.Errorf("Scan visited %d of %d rows: %v", n, total, err)
		}
	})
	for _, tt := range []struct {
		name string
		stop func(cancel func()) error
		want error
	}{
		{"CancelledContext", func(cancel func()) error { cancel(); return nil }, context.Canceled},
		{"CallbackError", func(func()) error { return errStop }, errStop},
	} {
		t.Run(tt.name+"ClosesTransaction", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := 0
			err := db.Scan(ctx, q, func(export.SourceRow) error {
				if n++; n == 3 {
					return tt.stop(cancel)
				}
				return nil
			})
			if !errors.Is(err, tt.want) || n != 3 {
				t.Errorf("Scan = %v after %d rows, want %v after 3", err, n, tt.want)
			}
			if got := db.pool.Stat().AcquiredConns(); got != 0 {
				t.Errorf("%d connections still acquired", got)
			}
			if got := sessions(t, db); slices.ContainsFunc(got, inTx) {
				t.Errorf("a transaction is still open: %q", got)
			}
		})
	}
}

var errStop = errors.New("stop")

func TestLoadRefusalEndsTheLoad(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	ctx := context.Background()
	var insertErrs []error
	err := db.Load(ctx, func(ins *Inserter) error {
		for _, r := range sourcetest.TestRows[:3] {
			insertErrs = append(insertErrs, ins.Insert(r.Table, r.Row))
		}
		// The repeated course waits in its batch until a learner comes.
		insertErrs = append(insertErrs, ins.Insert("courses", sourcetest.TestRows[1].Row))
		for _, r := range sourcetest.TestRows[3:5] {
			insertErrs = append(insertErrs, ins.Insert(r.Table, r.Row))
		}
		return nil // ignoring the errors cannot save the load
	})
	var ie *InsertError
	if !errors.As(err, &ie) || ie.Table != "courses" || ie.Row != 4 || !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("Load = %v, want duplicate key in row 4 of courses", err)
	}
	for i, err := range insertErrs {
		if wantErr := i >= 4; (err != nil) != wantErr || (wantErr && !errors.Is(err, ErrDuplicateKey)) {
			t.Errorf("Insert %d = %v, want error: %v", i, err, wantErr)
		}
	}
	if cs, err := db.Courses(ctx, nil); err != nil || len(cs) != 0 {
		t.Errorf("after refused load: courses %v, %v; want none", cs, err)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	pgtest.Skip(t)
	ctx := context.Background()
	if _, err := Open(ctx, "postgres://user:s3cret@[bad"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open of a bad URL: %v; want an error without the password", err)
	}
	url := pgtest.NewDatabase(t)
	missing := strings.Replace(url, "rexport_test_", "rexport_missing_", 1)
	if _, err := Open(ctx, missing); err == nil {
		t.Error("Open of a missing database succeeded")
	}
}

// collect reads a column of strings.
func collect(t *testing.T, rows sqlsource.Rows) []string {
	t.Helper()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sqlOpen(path string) (*sql.DB, error) { return sql.Open("sqlite", path) }
