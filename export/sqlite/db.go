// Package sqlite is the embedded metadata store of rexport on SQLite
// (modernc.org/sqlite, WAL): partners, principals, exports, the audit log,
// and the River job queue that builds exports, all in one database file so
// an approval and its build job commit together. The store's logic is
// export/sqlstore's; this package opens the file, holds the migrations and
// says how SQLite differs.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/sqlstore"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// store is the shared store on database/sql; embedded, it gives DB every
// method of export.Store and the rest of the store's API.
type store = sqlstore.Store[*sql.Tx]

// DB is the metadata store. It implements export.Store. Its methods are
// those of sqlstore.Store: the store's, and VerifyAudit, RotateKey, Ready,
// QueueDepth, SetClock and SetEnqueuer (whose transaction is a *sql.Tx).
type DB struct {
	*store
	db *sql.DB
}

var _ export.Store = (*DB)(nil)

// dialect is how SQLite differs: write transactions are immediate, so they
// exclude each other without row locks; a unique violation is told by its
// message.
var dialect = sqlstore.Dialect{
	IsUniqueViolation: func(err error) bool {
		return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
	},
}

// AuditProblem is the first entry of the audit log that fails verification.
type AuditProblem = sqlstore.AuditProblem

// AuditHash is the chained hash of an audit entry (see sqlstore.AuditHash).
func AuditHash(prev, at string, e export.AuditEntry) string { return sqlstore.AuditHash(prev, at, e) }

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
	conn := sqlstore.SQLDB(sqldb)
	if err := sqlstore.Migrate(ctx, conn, migrationsFS); err != nil {
		sqldb.Close()
		return nil, err
	}
	return &DB{store: sqlstore.New(conn, dialect, migrationsFS), db: sqldb}, nil
}

// SQL returns the underlying pool (for River).
func (db *DB) SQL() *sql.DB { return db.db }

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }
