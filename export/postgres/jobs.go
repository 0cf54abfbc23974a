package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/rexport/rexport/export/riverqueue"
)

// Queue is the River job queue in the metadata database. Its jobs, their
// kinds and arguments are package riverqueue's, the same as SQLite's.
type Queue = riverqueue.Queue[pgx.Tx]

// QueueConfig configures NewQueue.
type QueueConfig = riverqueue.Config

// NewQueue migrates River's tables into db, under the lock of Open's
// migrations, creates the River client and makes db enqueue a build job
// with every approval. Workers are woken by LISTEN/NOTIFY unless
// cfg.PollOnly.
func NewQueue(ctx context.Context, db *DB, cfg QueueConfig) (*Queue, error) {
	return riverqueue.New(ctx, riverqueue.Backend[pgx.Tx]{
		Driver: riverpgxv5.New(db.pool),
		Listen: true,
		Migrate: func(ctx context.Context, m *rivermigrate.Migrator[pgx.Tx]) error {
			return withMigrationLock(ctx, db.pool, func(conn *pgxpool.Conn) error { return migrateRiver(ctx, m, conn) })
		},
		SetEnqueuer: db.SetEnqueuer,
	}, cfg)
}

// migrateRiver applies River's pending migrations on conn, each in a
// transaction of its own: one may use an enum value an earlier one adds,
// which PostgreSQL allows only once that one has committed.
func migrateRiver(ctx context.Context, m *rivermigrate.Migrator[pgx.Tx], conn *pgxpool.Conn) error {
	for {
		var applied int
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			res, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
			if err == nil {
				applied = len(res.Versions)
			}
			return err
		})
		if err != nil || applied == 0 {
			return err
		}
	}
}
