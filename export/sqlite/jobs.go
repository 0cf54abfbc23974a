package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/rexport/rexport/export"
)

// BuildArgs are the arguments of the job that builds an approved export.
type BuildArgs struct {
	ExportID string `json:"export_id"`
	// Generation is the export's build generation: a reviewer's retry of a
	// failed build is a new job, not a duplicate of the old one.
	Generation int `json:"generation"`
}

// Kind implements river.JobArgs.
func (BuildArgs) Kind() string { return "rexport_build" }

// BuildMaxAttempts is how often a build is tried before it is marked failed.
const BuildMaxAttempts = 3

// InsertOpts implements river.JobArgsWithInsertOpts: one build job per
// export and generation, however often an insert is retried.
func (BuildArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: BuildMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// BuildFunc builds one export. lastAttempt tells it that a failure now is
// final, so it should record the export as failed.
type BuildFunc func(ctx context.Context, exportID string, lastAttempt bool) error

type buildWorker struct {
	river.WorkerDefaults[BuildArgs]
	build BuildFunc
}

func (w *buildWorker) Work(ctx context.Context, job *river.Job[BuildArgs]) error {
	err := w.build(ctx, job.Args.ExportID, job.Attempt >= job.MaxAttempts)
	if errors.Is(err, export.ErrBusy) {
		// The partner has its share of builds running: wait, without
		// spending an attempt.
		return river.JobSnooze(BusySnooze)
	}
	return err
}

// BusySnooze is how long a build waits when its partner already has the
// most builds running that it may.
const BusySnooze = 15 * time.Second

// Timeout disables River's default per-job timeout: a large export may run
// for hours, and cancellation comes from shutdown instead.
func (w *buildWorker) Timeout(*river.Job[BuildArgs]) time.Duration { return -1 }

// SweepArgs are the arguments of the periodic retention job.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "rexport_sweep" }

// InsertOpts implements river.JobArgsWithInsertOpts: one pending sweep at
// a time.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	sweep func(context.Context) error
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error { return w.sweep(ctx) }

// Queue is the River job queue in the metadata database.
type Queue struct {
	client  *river.Client[*sql.Tx]
	working bool
}

// QueueConfig configures NewQueue.
type QueueConfig struct {
	// Workers is the number of builds run at once; 0 makes an insert-only
	// client (an API process that does not build).
	Workers int
	Build   BuildFunc
	// Sweep enforces retention; workers run it at start and every
	// SweepInterval (default one hour).
	Sweep         func(context.Context) error
	SweepInterval time.Duration
	Logger        *slog.Logger
	// PollInterval is how often idle workers look for new jobs.
	PollInterval time.Duration
}

// NewQueue migrates River's tables into db, creates the River client and
// makes db enqueue a build job with every approval.
func NewQueue(ctx context.Context, db *DB, cfg QueueConfig) (*Queue, error) {
	driver := riversqlite.New(db.db)
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quietLogger(cfg.Logger)})
	if err != nil {
		return nil, err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("river migrations: %w", err)
	}
	workers := river.NewWorkers()
	rc := &river.Config{
		Logger:            quietLogger(cfg.Logger),
		PollOnly:          true,
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     cfg.PollInterval,
		Workers:           workers,
	}
	if rc.FetchPollInterval == 0 {
		rc.FetchPollInterval, rc.FetchCooldown = time.Second, 100*time.Millisecond
	}
	if cfg.Workers > 0 {
		if cfg.Build == nil {
			return nil, errors.New("sqlite.NewQueue: workers without a build function")
		}
		river.AddWorker(workers, &buildWorker{build: cfg.Build})
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
		if cfg.Sweep != nil {
			river.AddWorker(workers, &sweepWorker{sweep: cfg.Sweep})
			interval := cfg.SweepInterval
			if interval == 0 {
				interval = time.Hour
			}
			rc.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
				func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true})}
		}
	} else {
		// An API-only process inserts build jobs that another process works.
		rc.SkipUnknownJobCheck = true
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, err
	}
	q := &Queue{client: client, working: cfg.Workers > 0}
	db.SetEnqueuer(func(ctx context.Context, tx *sql.Tx, exportID string, generation int) error {
		_, err := client.InsertTx(ctx, tx, BuildArgs{ExportID: exportID, Generation: generation}, nil)
		return err
	})
	return q, nil
}

// Start starts the workers (no-op for an insert-only queue).
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.client.Start(ctx)
}

// Stop waits for running builds to finish, or ctx to end.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.client.Stop(ctx)
}

func quietLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
