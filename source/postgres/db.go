// Package postgres is the source database on PostgreSQL (pgx v5), for a
// warehouse replica: the schema derived from export.SourceTables, a bulk
// loader that copies rows in batches and commits all or nothing, and an
// export.Source that streams rows through a server-side cursor with the
// filters of a request pushed down into SQL. It gives the same rows, as
// the same Go values in the same order, as source/sqlite.
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/internal/sqlsource"
)

// The batch sizes: rows per FETCH of a cursor (what a Scan holds in
// memory) and rows per COPY of a load.
const (
	defaultFetchRows = 2000
	defaultCopyRows  = 10_000
)

// DB is a source database on a PostgreSQL server. It is safe for
// concurrent use.
type DB struct {
	pool      *pgxpool.Pool
	fetchRows int
	copyRows  int
}

// Open connects to the existing database at url (postgres://...). The
// database need not have the source schema yet; Migrate creates it.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The URL may hold a password: say what failed, not the URL.
		return nil, fmt.Errorf("open source db: invalid PostgreSQL URL")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open source db: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open source db: %w", err)
	}
	return &DB{pool: pool, fetchRows: defaultFetchRows, copyRows: defaultCopyRows}, nil
}

// Close closes the connections of the database.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// schema is the source schema in PostgreSQL. Text columns sort in byte
// order (collation "C"), as SQLite's do, so that a Scan visits rows in the
// same order on both and the primary key indexes serve that order.
var schema = sqlsource.Schema{
	ColumnType: func(c export.Column) string {
		switch c.Type {
		case export.TypeInt64:
			return "bigint"
		case export.TypeFloat64:
			return "double precision"
		case export.TypeBool:
			return "boolean"
		case export.TypeDate:
			return "date"
		case export.TypeTimestamp:
			return "timestamptz"
		default:
			return `text COLLATE "C"`
		}
	},
}

// Schema returns the DDL of the source schema, derived from
// export.SourceTables: one CREATE TABLE per table and the indexes the
// export queries use.
func Schema() []string { return schema.Statements() }

// migrateLock is the advisory lock key that serialises concurrent
// migrations of one database ("rexport source schema").
const migrateLock = 0x72_65_78_73_72_63

// Migrate creates the tables and indexes of the source schema that do not
// exist yet, in one transaction.
func (db *DB) Migrate(ctx context.Context) (err error) {
	defer sqlsource.Wrap(&err, "migrate source db")
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer rollback(ctx, tx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLock)); err != nil {
		return err
	}
	for _, stmt := range Schema() {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// rollback ends tx if it is still open, also when ctx is done, so that no
// transaction or cursor outlives the call that began it.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	tx.Rollback(ctx) // after Commit, ErrTxClosed: nothing to do
}
