// Package sqlstore is the metadata store of rexport written once for every
// SQL database it runs on: the queries and transactions of partners,
// principals, exports and the hash-chained audit log, and the migration
// runner. It speaks to the database through a small interface (Querier, DB)
// that each backend adapts its driver to, and takes what differs between the
// databases from a Dialect. The backends (export/sqlite, export/postgres)
// open the database, hold the migrations and the dialect, and run the job
// queue.
package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/rexport/rexport/export"
)

// Querier runs statements on a pool or in a transaction. Queries use ? for
// their parameters; an adapter whose driver wants another placeholder
// rewrites them. A query with no rows scans sql.ErrNoRows (or an error that
// wraps it).
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) error
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is the result of Querier.Query.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is the result of Querier.QueryRow.
type Row interface {
	Scan(dest ...any) error
}

// Tx is a transaction, with the driver's own transaction value (TTx) for
// what must join it, such as the insert of a River job.
type Tx[TTx any] interface {
	Querier
	Driver() TTx
}

// DB is a connection pool.
type DB[TTx any] interface {
	Querier
	// InTx runs fn in a read-write transaction that commits if fn returns
	// nil and rolls back otherwise.
	InTx(ctx context.Context, fn func(tx Tx[TTx]) error) error
	// ReadTx runs fn in a read-only transaction whose reads all see the
	// same state of the database, without holding back writers.
	ReadTx(ctx context.Context, fn func(q Querier) error) error
}

// Dialect is what differs between the databases in what the store does.
type Dialect struct {
	// IsUniqueViolation reports whether err is a unique constraint's.
	IsUniqueViolation func(err error) bool
	// ForUpdate ends a SELECT of a row the transaction goes on to change,
	// so that concurrent transactions take turns on it (" FOR UPDATE"). ""
	// for a database whose write transactions already exclude each other.
	ForUpdate string
	// RawText returns the argument that stores s byte for byte in a column
	// declared for any bytes (the audit detail), even if s is not UTF-8.
	// nil passes s as it is.
	RawText func(s string) any
}

func (d Dialect) rawText(s string) any {
	if d.RawText == nil {
		return s
	}
	return d.RawText(s)
}

// Store is the metadata store on one database. It implements export.Store.
type Store[TTx any] struct {
	db         DB[TTx]
	d          Dialect
	migrations fs.FS
	now        func() time.Time
	// enqueue inserts the build job of an approved export inside the
	// approval's transaction.
	enqueue func(ctx context.Context, tx TTx, exportID string, generation int) error
}

var _ export.Store = (*Store[any])(nil)

// New returns the store on db, whose schema is the migrations in
// migrations (files migrations/*.sql, applied by Migrate).
func New[TTx any](db DB[TTx], d Dialect, migrations fs.FS) *Store[TTx] {
	return &Store[TTx]{db: db, d: d, migrations: migrations, now: time.Now}
}

// SetClock replaces the clock (tests).
func (s *Store[TTx]) SetClock(now func() time.Time) { s.now = now }

// SetEnqueuer sets the function that inserts an approved export's build job
// inside the approval transaction. Without one, Decide refuses approvals:
// an approval that builds nothing would be a silent failure.
func (s *Store[TTx]) SetEnqueuer(fn func(ctx context.Context, tx TTx, exportID string, generation int) error) {
	s.enqueue = fn
}

func (s *Store[TTx]) inTx(ctx context.Context, fn func(tx Tx[TTx]) error) error {
	return s.db.InTx(ctx, fn)
}

const timeLayout = time.RFC3339Nano

// formatTime is how the store writes times: RFC 3339 in UTC with
// nanoseconds, "" for the zero time.
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

// Ready reports whether the database answers and every embedded migration
// has been applied (a newer binary against an older database is not ready
// until it migrates).
func (s *Store[TTx]) Ready(ctx context.Context) error {
	names, err := migrationNames(s.migrations)
	if err != nil {
		return err
	}
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("metadata database: %w", err)
	}
	if n != len(names) {
		return fmt.Errorf("metadata database: %d of %d migrations applied", n, len(names))
	}
	return nil
}

// QueueDepth counts the exports queued or building.
func (s *Store[TTx]) QueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM exports WHERE state IN ('queued', 'building')`).Scan(&n)
	return n, err
}
