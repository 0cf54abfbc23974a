// Package riverqueue is the job queue of rexport on River, in the metadata
// database, for either of its drivers: the job that builds an approved
// export, inserted in the approval's transaction, and the periodic
// retention sweep. The job kinds and arguments are the same on every
// database, so any worker reads the jobs any process inserted.
package riverqueue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

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

// BuildMaxAttempts is how often a build is tried before it is marked
// failed. A worker killed mid-build spends an attempt too (River rescues
// its job), so there are enough for a few lost workers.
const BuildMaxAttempts = 8

// InsertOpts implements river.JobArgsWithInsertOpts: one build job per
// export and generation, however often an insert is retried.
func (BuildArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: BuildMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// BuildFunc builds one generation of an export. lastAttempt tells it that
// a failure now is final, so it should record the export as failed.
type BuildFunc func(ctx context.Context, exportID string, generation int, lastAttempt bool) error

type buildWorker struct {
	river.WorkerDefaults[BuildArgs]
	build   BuildFunc
	snooze  time.Duration
	timeout time.Duration
}

// NextRetry backs a failed build off exponentially, 2s, 4s, 8s... up to
// two minutes, so the attempts span minutes: enough for a database or
// object store blip to pass, not so long that a dead worker's export waits
// for hours.
func (w *buildWorker) NextRetry(job *river.Job[BuildArgs]) time.Time {
	return time.Now().Add(retryBackoff(job.Attempt))
}

func retryBackoff(attempt int) time.Duration {
	const most = 2 * time.Minute
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 7 {
		return most
	}
	return min(time.Duration(1<<attempt)*time.Second, most)
}

func (w *buildWorker) Work(ctx context.Context, job *river.Job[BuildArgs]) error {
	err := w.build(ctx, job.Args.ExportID, job.Args.Generation, job.Attempt >= job.MaxAttempts)
	if errors.Is(err, export.ErrBusy) {
		// The partner has its share of builds running, or a live build
		// on another worker holds the export: wait, without spending an
		// attempt.
		return river.JobSnooze(w.snooze)
	}
	return err
}

// BusySnooze is how long a build waits by default when its partner
// already has the most builds running that it may, or another worker's
// build of the export is alive.
const BusySnooze = 15 * time.Second

// Timeout bounds a build (Config.BuildTimeout). River rescues the job of a
// worker that died only once this much time has passed since it started;
// export.Runner.Watch requeues its export long before, from its lease.
func (w *buildWorker) Timeout(*river.Job[BuildArgs]) time.Duration { return w.timeout }

// DefaultBuildTimeout is how long a build may run by default.
const DefaultBuildTimeout = 24 * time.Hour

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

// Timeout bounds a sweep: it lists and deletes, and the next one starts
// where it stopped.
func (w *sweepWorker) Timeout(*river.Job[SweepArgs]) time.Duration { return 10 * time.Minute }

// Config configures a queue.
type Config struct {
	// Workers is the number of builds run at once; 0 makes an insert-only
	// client (an API process that does not build).
	Workers int
	Build   BuildFunc
	// Sweep enforces retention; workers run it at start and every
	// SweepInterval (default one hour).
	Sweep         func(context.Context) error
	SweepInterval time.Duration
	Logger        *slog.Logger
	// PollInterval is how often idle workers look for new jobs (default one
	// second).
	PollInterval time.Duration
	// PollOnly makes workers find new jobs by polling alone, without
	// LISTEN/NOTIFY: for PostgreSQL behind a pooler that does not pass
	// notifications on. SQLite always polls.
	PollOnly bool
	// BuildTimeout is how long a build may run before it is cancelled and
	// retried (0: DefaultBuildTimeout). River also takes a job that has
	// been running longer for one whose worker died, and runs it again.
	BuildTimeout time.Duration
	// BusySnooze is how long a build that found its partner at its cap,
	// or its export held by a live build, waits (0: BusySnooze).
	BusySnooze time.Duration
}

// Backend is what a metadata database gives its queue.
type Backend[TTx any] struct {
	Driver riverdriver.Driver[TTx]
	// Listen says whether workers can be woken by LISTEN/NOTIFY.
	Listen bool
	// Migrate applies River's migrations with m; nil calls m.Migrate.
	Migrate func(ctx context.Context, m *rivermigrate.Migrator[TTx]) error
	// SetEnqueuer makes the store insert a build job, with the given
	// function, in each transaction that queues a build.
	SetEnqueuer func(fn func(ctx context.Context, tx TTx, exportID string, generation int) error)
}

// Queue is the River job queue in the metadata database.
type Queue[TTx any] struct {
	client  *river.Client[TTx]
	working bool
}

// New migrates River's tables into b's database, creates the River client
// and makes the store enqueue a build job with every approval.
func New[TTx any](ctx context.Context, b Backend[TTx], cfg Config) (*Queue[TTx], error) {
	if cfg.Workers > 0 && cfg.Build == nil {
		return nil, errors.New("NewQueue: workers without a build function")
	}
	migrator, err := rivermigrate.New(b.Driver, &rivermigrate.Config{Logger: quietLogger(cfg.Logger)})
	if err != nil {
		return nil, err
	}
	migrate := b.Migrate
	if migrate == nil {
		migrate = func(ctx context.Context, m *rivermigrate.Migrator[TTx]) error {
			_, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
			return err
		}
	}
	if err := migrate(ctx, migrator); err != nil {
		return nil, fmt.Errorf("river migrations: %w", err)
	}
	client, err := river.NewClient(b.Driver, riverConfig(cfg, b.Listen))
	if err != nil {
		return nil, err
	}
	b.SetEnqueuer(func(ctx context.Context, tx TTx, exportID string, generation int) error {
		_, err := client.InsertTx(ctx, tx, BuildArgs{ExportID: exportID, Generation: generation}, nil)
		return err
	})
	return &Queue[TTx]{client: client, working: cfg.Workers > 0}, nil
}

// fetchCooldown is River's default least time between two fetches.
const fetchCooldown = 100 * time.Millisecond

// riverConfig is the River client configuration for cfg, on a database
// that can (listen) or cannot wake workers by notification.
func riverConfig(cfg Config, listen bool) *river.Config {
	workers := river.NewWorkers()
	rc := &river.Config{
		Logger:            quietLogger(cfg.Logger),
		PollOnly:          cfg.PollOnly || !listen,
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     min(cfg.PollInterval, fetchCooldown),
		// River rescues a job only once its kind's timeout has passed too.
		RescueStuckJobsAfter: cmp.Or(cfg.BuildTimeout, DefaultBuildTimeout) + time.Minute,
		// Each job kind sets its own timeout (builds have none); River's
		// one-minute default would also forbid a RescueAfter under it.
		JobTimeout: -1,
		Workers:    workers,
	}
	if rc.FetchPollInterval == 0 {
		rc.FetchPollInterval, rc.FetchCooldown = time.Second, fetchCooldown
	}
	if cfg.Workers == 0 {
		// An API-only process inserts build jobs that another process works.
		rc.SkipUnknownJobCheck = true
		return rc
	}
	river.AddWorker(workers, &buildWorker{build: cfg.Build, snooze: cmp.Or(cfg.BusySnooze, BusySnooze),
		timeout: cmp.Or(cfg.BuildTimeout, DefaultBuildTimeout)})
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
	return rc
}

// RunningBuilds lists the build jobs River has handed to workers and not
// seen finish (export.RunningJobs).
func (q *Queue[TTx]) RunningBuilds(ctx context.Context) ([]export.RunningBuild, error) {
	res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(BuildArgs{}.Kind()).
		States(rivertype.JobStateRunning).First(10000))
	if err != nil {
		return nil, err
	}
	var out []export.RunningBuild
	for _, j := range res.Jobs {
		var a BuildArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			return nil, err
		}
		b := export.RunningBuild{ExportID: a.ExportID, Generation: a.Generation}
		if j.AttemptedAt != nil {
			b.Since = *j.AttemptedAt
		}
		out = append(out, b)
	}
	return out, nil
}

// Start starts the workers (no-op for an insert-only queue).
func (q *Queue[TTx]) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.client.Start(ctx)
}

// Stop waits for running builds to finish, or ctx to end.
func (q *Queue[TTx]) Stop(ctx context.Context) error {
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
