// Package postgres is the metadata store of rexport on PostgreSQL (pgx v5):
// partners, principals, exports, the audit log, and the River job queue
// that builds exports, in one database that any number of API and worker
// processes share, so an approval and its build job commit together. The
// store's logic is export/sqlstore's; this package opens the pool, holds
// the migrations and says how PostgreSQL differs.
package postgres

import (
	"context"
	"embed"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/sqlstore"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// store is the shared store on pgx; embedded, it gives DB every method of
// export.Store and the rest of the store's API.
type store = sqlstore.Store[pgx.Tx]

// DB is the metadata store. It implements export.Store. Its methods are
// those of sqlstore.Store: the store's, and VerifyAudit, RotateKey, Ready,
// QueueDepth, SetClock and SetEnqueuer (whose transaction is a pgx.Tx).
type DB struct {
	*store
	pool *pgxpool.Pool
}

var _ export.Store = (*DB)(nil)

// dialect is how PostgreSQL differs: concurrent transactions of other
// processes take turns on the rows they change by locking them; errors
// carry SQLSTATE codes; text must be UTF-8, so the audit detail is bytes.
var dialect = sqlstore.Dialect{
	IsUniqueViolation: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505" // unique_violation
	},
	ForUpdate: " FOR UPDATE",
	RawText:   func(s string) any { return []byte(s) },
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or
// key=value string, with pgxpool's pool_* settings) and applies pending
// migrations. Processes that start at once against one database take
// turns migrating.
func Open(ctx context.Context, url string) (_ *DB, err error) {
	// The URL may hold a password: it stays out of the context (pgx's
	// own errors hide it).
	defer export.Wrap(&err, "postgres.Open")
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	err = withMigrationLock(ctx, pool, func(conn *pgxpool.Conn) error {
		return sqlstore.Migrate(ctx, newPgxDB(conn), migrationsFS)
	})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &DB{store: sqlstore.New(newPgxDB(pool), dialect, migrationsFS), pool: pool}, nil
}

// Pool returns the underlying pool (for River and tools).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// migrationLockKey names the advisory lock that rexport's and River's
// migrations run under ("rexport" in ASCII).
const migrationLockKey int64 = 0x72_65_78_70_6f_72_74

// withMigrationLock runs fn on a connection of its own that holds the
// session-level advisory lock of migrations, so that two processes
// starting at once never migrate together. The connection is closed if the
// lock cannot be released, which releases it.
func withMigrationLock(ctx context.Context, pool *pgxpool.Pool, fn func(conn *pgxpool.Conn) error) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		conn.Release()
		return err
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey); uerr != nil {
			conn.Hijack().Close(context.WithoutCancel(ctx))
			err = errors.Join(err, uerr)
			return
		}
		conn.Release()
	}()
	return fn(conn)
}
