// Package sqlite is the embedded metadata store of rexport on SQLite
// (modernc.org/sqlite, WAL): partners, principals, exports, the audit log,
// and the River job queue that builds exports, all in one database file so
// an approval and its build job commit together.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/rexport/rexport/export"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// DB is the metadata store. It implements export.Store.
type DB struct {
	db  *sql.DB
	now func() time.Time
	// enqueue inserts the build job of an approved export inside the
	// approval's transaction.
	enqueue func(ctx context.Context, tx *sql.Tx, exportID string, generation int) error
}

var _ export.Store = (*DB)(nil)

// DSN returns the connection string for a SQLite file with the pragmas
// rexport relies on.
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the metadata database at path and applies
// pending migrations. The pool has one connection: SQLite allows one writer
// and River's SQLite driver needs it that way.
func Open(ctx context.Context, path string) (_ *DB, err error) {
	defer export.Wrap(&err, "sqlite.Open")
	sqldb, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, err
	}
	sqldb.SetMaxOpenConns(1)
	db := &DB{db: sqldb, now: time.Now}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	return db, nil
}

// SetClock replaces the clock (tests).
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// SQL returns the underlying pool (for River).
func (db *DB) SQL() *sql.DB { return db.db }

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrationsFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.applyMigration(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, name string) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrationsFS.ReadFile(name)
	if err != nil {
		return err
	}
	// The driver runs every statement of the file (triggers hold ";").
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	now := formatTime(time.Now())
	if name == "migrations/0001_init.sql" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_versions (version, created_at) VALUES (1, ?)`, now); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, now); err != nil {
		return err
	}
	return tx.Commit()
}

const timeLayout = time.RFC3339Nano

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s)
}

// inTx runs fn in a transaction that commits if fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Ready reports whether the database answers and every embedded migration
// has been applied (a newer binary against an older database is not ready
// until it migrates).
func (db *DB) Ready(ctx context.Context) error {
	names, err := fs.Glob(migrationsFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("metadata database: %w", err)
	}
	if n != len(names) {
		return fmt.Errorf("metadata database: %d of %d migrations applied", n, len(names))
	}
	return nil
}

// QueueDepth counts the exports queued or building.
func (db *DB) QueueDepth(ctx context.Context) (int, error) {
	var n int
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM exports WHERE state IN ('queued', 'building')`).Scan(&n)
	return n, err
}
