package sqlite

import (
	"context"
	"database/sql"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/rexport/rexport/export/riverqueue"
)

// The queue's types, the same on every database (see package riverqueue).
type (
	// Queue is the River job queue in the metadata database.
	Queue = riverqueue.Queue[*sql.Tx]
	// QueueConfig configures NewQueue.
	QueueConfig = riverqueue.Config
	// BuildArgs are the arguments of the job that builds an approved export.
	BuildArgs = riverqueue.BuildArgs
	// SweepArgs are the arguments of the periodic retention job.
	SweepArgs = riverqueue.SweepArgs
	// BuildFunc builds one export.
	BuildFunc = riverqueue.BuildFunc
)

// Build job constants (see package riverqueue).
const (
	BuildMaxAttempts = riverqueue.BuildMaxAttempts
	BusySnooze       = riverqueue.BusySnooze
)

// NewQueue migrates River's tables into db, creates the River client and
// makes db enqueue a build job with every approval. Workers poll: SQLite
// has no notifications.
func NewQueue(ctx context.Context, db *DB, cfg QueueConfig) (*Queue, error) {
	return riverqueue.New(ctx, riverqueue.Backend[*sql.Tx]{Driver: riversqlite.New(db.db), SetEnqueuer: db.SetEnqueuer}, cfg)
}
