package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/postgres"
	"github.com/rexport/rexport/export/riverqueue"
	"github.com/rexport/rexport/export/sqlite"
	"github.com/rexport/rexport/export/sqlstore"
	"github.com/rexport/rexport/internal/pgtest"
)

// store is what the tests use of sqlite.DB and postgres.DB.
type store interface {
	export.Store
	VerifyAudit(ctx context.Context) (*sqlstore.AuditProblem, int, string, error)
	RotateKey(ctx context.Context, by string) (int, error)
	SetClock(now func() time.Time)
	Ready(ctx context.Context) error
	QueueDepth(ctx context.Context) (int, error)
	Close() error
}

// queue is what the tests use of a backend's Queue.
type queue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// testDB is a store on one backend, with what the tests do beyond the
// store's API: raw SQL, in the backend's dialect where they differ, and its
// job queue.
type testDB struct {
	store
	raw sqlstore.Querier
	// setEnqueuer replaces the store's job insert.
	setEnqueuer func(fn func(exportID string, generation int) error)
	// newQueue creates the backend's job queue on the store.
	newQueue func(ctx context.Context, cfg riverqueue.Config) (queue, error)
	sql      dialectSQL
}

// exec runs raw SQL: statements without arguments.
func (db *testDB) exec(ctx context.Context, query string) error { return db.raw.Exec(ctx, query) }

// count runs a query that returns one integer.
func (db *testDB) count(ctx context.Context, query string) (n int, err error) {
	err = db.raw.QueryRow(ctx, query).Scan(&n)
	return n, err
}

// dump renders every row of table, in the order of key, one line each.
func (db *testDB) dump(ctx context.Context, table, key string) ([]string, error) {
	cols, err := db.strings(ctx, db.sql.columns(table))
	if err != nil {
		return nil, err
	}
	rows, err := db.raw.Query(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+table+` ORDER BY `+key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprint(vals...))
	}
	return out, rows.Err()
}

func (db *testDB) strings(ctx context.Context, query string) ([]string, error) {
	rows, err := db.raw.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// dialectSQL is the raw SQL the tests write differently per backend.
type dialectSQL struct {
	// setDetail overwrites an audit entry's detail.
	setDetail func(id int, detail string) string
	// failAudit creates trigger fail_audit, which refuses the insert of
	// every audit entry for which cond holds (every entry if cond is "")
	// with the message "injected"; dropFailAudit drops it.
	failAudit     func(cond string) string
	dropFailAudit string
	// columns lists the columns of a table, in order.
	columns func(table string) string
}

// backend is a database the store runs on.
type backend struct {
	name string
	// listens says whether the backend's workers can be woken by
	// notifications rather than polling.
	listens bool
	// newDatabase creates an empty database for t and returns where it is.
	newDatabase func(t *testing.T) string
	// open opens the database at where as a process would (own pool).
	open func(t *testing.T, where string) *testDB
	// migratedTemplate, if set, returns a database with River's tables
	// that newMigrated copies (River's migrations are slow on SQLite).
	migratedTemplate func(t *testing.T) []byte
}

// backends are the databases every store test runs on: SQLite always,
// PostgreSQL when REXPORT_TEST_POSTGRES names a server (pgtest).
var backends = []backend{
	{
		name:        "sqlite",
		newDatabase: func(t *testing.T) string { return filepath.Join(t.TempDir(), "meta.db") },
		open:        openSQLite,
		migratedTemplate: func(t *testing.T) []byte {
			sqliteTemplate.once.Do(func() {
				path := filepath.Join(t.TempDir(), "template.db")
				db, err := sqlite.Open(context.Background(), path)
				if err == nil {
					_, err = sqlite.NewQueue(context.Background(), db, sqlite.QueueConfig{})
					db.Close()
				}
				if err == nil {
					sqliteTemplate.raw, err = os.ReadFile(path)
				}
				sqliteTemplate.err = err
			})
			if sqliteTemplate.err != nil {
				t.Fatal(sqliteTemplate.err)
			}
			return sqliteTemplate.raw
		},
	},
	{
		name:        "postgres",
		listens:     true,
		newDatabase: func(t *testing.T) string { return pgtest.NewDatabase(t) },
		open:        openPostgres,
	},
}

// sqliteTemplate is a SQLite database with every migration applied,
// River's included.
var sqliteTemplate struct {
	once sync.Once
	raw  []byte
	err  error
}

// forEachBackend runs test as a subtest per backend, named after it.
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// openNew opens a new, empty, migrated database on b.
func (b backend) openNew(t *testing.T) *testDB {
	t.Helper()
	return b.open(t, b.newDatabase(t))
}

// openMigrated opens a new database on b with River's tables and an
// insert-only job queue.
func (b backend) openMigrated(t *testing.T) *testDB {
	t.Helper()
	where := b.newDatabase(t)
	if b.migratedTemplate != nil {
		if err := os.WriteFile(where, b.migratedTemplate(t), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db := b.open(t, where)
	if _, err := db.newQueue(context.Background(), riverqueue.Config{}); err != nil {
		t.Fatal(err)
	}
	return db
}

// newTestDB wraps a backend's store, opened with err, for t.
func newTestDB(t *testing.T, db store, err error) *testDB {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sqlstore.Raw(db)
	if err != nil {
		t.Fatal(err)
	}
	return &testDB{store: db, raw: raw}
}

func openSQLite(t *testing.T, path string) *testDB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	tdb := newTestDB(t, db, err)
	tdb.setEnqueuer = func(fn func(string, int) error) {
		db.SetEnqueuer(func(_ context.Context, _ *sql.Tx, id string, gen int) error { return fn(id, gen) })
	}
	tdb.newQueue = func(ctx context.Context, cfg riverqueue.Config) (queue, error) { return sqlite.NewQueue(ctx, db, cfg) }
	tdb.sql = dialectSQL{
		setDetail: func(id int, detail string) string {
			return fmt.Sprintf(`UPDATE audit_log SET detail = '%s' WHERE id = %d`, detail, id)
		},
		failAudit: func(cond string) string {
			if cond != "" {
				cond = "WHEN " + cond
			}
			return `CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log ` + cond + ` BEGIN SELECT RAISE(ABORT, 'injected'); END`
		},
		dropFailAudit: `DROP TRIGGER fail_audit`,
		columns:       func(table string) string { return `SELECT name FROM pragma_table_info('` + table + `') ORDER BY cid` },
	}
	return tdb
}

func openPostgres(t *testing.T, url string) *testDB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	tdb := newTestDB(t, db, err)
	tdb.setEnqueuer = func(fn func(string, int) error) {
		db.SetEnqueuer(func(_ context.Context, _ pgx.Tx, id string, gen int) error { return fn(id, gen) })
	}
	tdb.newQueue = func(ctx context.Context, cfg riverqueue.Config) (queue, error) {
		return postgres.NewQueue(ctx, db, cfg)
	}
	tdb.sql = dialectSQL{
		// The detail is bytea (it may be any bytes).
		setDetail: func(id int, detail string) string {
			return fmt.Sprintf(`UPDATE audit_log SET detail = convert_to('%s', 'UTF8') WHERE id = %d`, detail, id)
		},
		failAudit: func(cond string) string {
			if cond != "" {
				cond = "WHEN (" + cond + ")"
			}
			return `CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$;
				CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log FOR EACH ROW ` + cond + ` EXECUTE FUNCTION fail_audit()`
		},
		dropFailAudit: `DROP TRIGGER fail_audit ON audit_log; DROP FUNCTION fail_audit()`,
		columns: func(table string) string {
			return `SELECT column_name::text FROM information_schema.columns
				WHERE table_schema = current_schema() AND table_name = '` + table + `' ORDER BY ordinal_position`
		},
	}
	return tdb
}

// snapshot renders every row of the tables a store method may change, and
// the number of River jobs.
func snapshot(t *testing.T, db *testDB) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	// Each table in the order of its key (insertion order for decisions).
	for _, table := range []struct{ name, key string }{
		{"partners", "id"}, {"partner_courses", "course_id"}, {"principals", "id"}, {"exports", "id"},
		{"decisions", "rowid"}, {"key_versions", "version"}, {"audit_log", "id"}, {"audit_head", "singleton"},
	} {
		rows, err := db.dump(ctx, table.name, table.key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out = append(out, table.name+" "+r)
		}
	}
	jobs, err := db.count(ctx, `SELECT count(*) FROM river_job`)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, fmt.Sprintf("river_job count %d", jobs))
}

// testLease is the build lease the tests' builds run under.
const testLease = "test-worker.b1"
