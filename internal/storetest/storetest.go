// Package storetest opens the metadata store a test of the API, the
// console or the end-to-end suite runs on: SQLite by default, PostgreSQL
// when REXPORT_TEST_BACKEND=postgres (.ci/run runs those suites once on
// each). The store packages' own tests run on both in one pass.
package storetest

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/postgres"
	"github.com/rexport/rexport/export/sqlite"
	"github.com/rexport/rexport/internal/pgtest"
)

// BackendEnv selects the backend: "sqlite" (or unset) or "postgres".
const BackendEnv = "REXPORT_TEST_BACKEND"

// Postgres reports whether the tests run on PostgreSQL.
func Postgres() bool { return os.Getenv(BackendEnv) == "postgres" }

// Store is a metadata store with a way to run raw SQL (tests that break
// the database on purpose).
type Store interface {
	export.Store
	Close() error
	// ExecRaw runs a statement directly on the database.
	ExecRaw(ctx context.Context, sql string) error
	// DiscardJobs makes approvals enqueue nothing (tests without a job
	// queue).
	DiscardJobs()
}

// Open opens an empty, migrated metadata store for t and closes it when
// t ends.
func Open(t testing.TB) Store {
	t.Helper()
	ctx := context.Background()
	var s Store
	if Postgres() {
		db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		s = pgStore{db}
	} else {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		s = sqliteStore{db}
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type sqliteStore struct{ *sqlite.DB }

func (s sqliteStore) ExecRaw(ctx context.Context, q string) error {
	_, err := s.SQL().ExecContext(ctx, q)
	return err
}

func (s sqliteStore) DiscardJobs() { s.SetEnqueuer(discard[*sql.Tx]) }

type pgStore struct{ *postgres.DB }

func (s pgStore) ExecRaw(ctx context.Context, q string) error {
	_, err := s.Pool().Exec(ctx, q)
	return err
}

func (s pgStore) DiscardJobs() { s.SetEnqueuer(discard[pgx.Tx]) }

func discard[TTx any](context.Context, TTx, string, int) error { return nil }
