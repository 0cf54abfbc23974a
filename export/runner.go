package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Runner builds approved exports: it is what the build job runs.
type Runner struct {
	Store   Store
	Builder *Builder
	// Files keeps the built exports' files.
	Files FileStore
	// WorkDir is the local directory builds write into before their files
	// are uploaded to Files ("": os.TempDir()).
	WorkDir string
	Log     *slog.Logger
	// ProgressInterval throttles progress writes to the store.
	ProgressInterval time.Duration
	// MaxBuildsPerPartner caps one partner's builds running at once (0: no
	// cap); a build over the cap waits (ErrBusy).
	MaxBuildsPerPartner int
	Now                 func() time.Time
	// Observer, if set, hears of every build that finishes or fails.
	Observer BuildObserver
	// Jobs, if set, lists the build jobs workers are running: Recover
	// requeues an export whose job a worker took but never started.
	Jobs RunningJobs
	// Worker names this process in build leases ("": host name and
	// process id), so an operator can tell which worker builds what.
	Worker string
	// LeaseTTL is how long a build's lease lasts without renewal (0:
	// DefaultLeaseTTL). A running build renews it several times per TTL;
	// once it has gone stale, another worker may take the export over. It
	// must be well above the clock skew between workers.
	LeaseTTL time.Duration
}

// RunningJobs lists the build jobs the job queue has handed to workers.
type RunningJobs interface {
	RunningBuilds(ctx context.Context) ([]RunningBuild, error)
}

// RunningBuild is a build job a worker took at Since.
type RunningBuild struct {
	ExportID   string
	Generation int
	Since      time.Time
}

// DefaultLeaseTTL is how long a build's lease lasts without renewal by
// default.
const DefaultLeaseTTL = time.Minute

// MaxInterruptions is how many times a build may lose its worker before
// its export fails instead of being requeued: an export that kills every
// worker that builds it (out of memory, say) must not take them all down
// in turn forever.
const MaxInterruptions = 5

// ExportIDPrefix starts every export id (NewID(ExportIDPrefix)).
const ExportIDPrefix = "exp_"

// errLeaseLost ends a build whose export another build took over.
var errLeaseLost = errors.New("the build's lease passed to another build")

func (r *Runner) leaseTTL() time.Duration {
	if r.LeaseTTL > 0 {
		return r.LeaseTTL
	}
	return DefaultLeaseTTL
}

// newLease names a new build: the worker, and a random part.
func (r *Runner) newLease() string {
	worker := r.Worker
	if worker == "" {
		worker = DefaultWorkerName()
	}
	return worker + "." + NewID("")
}

// DefaultWorkerName is "<host>-<pid>", with any character a files store
// key could trip on replaced.
func DefaultWorkerName() string {
	host, _ := os.Hostname()
	host = strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			return c
		}
		return '-'
	}, host)
	if host == "" {
		host = "worker"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// BuildObserver is told of each build's outcome (metrics).
type BuildObserver interface {
	BuildFinished(d time.Duration, m *Manifest, err error)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// Run builds the export (the given build generation; 0: whichever is
// current) in a local working directory under a lease of its own, uploads
// its files to the files store and only then marks it ready, so a ready
// export has all its files. It is idempotent: an export already ready is
// left alone, a job of a superseded generation does nothing, and a retry
// after a crash rebuilds and uploads from scratch. On failure it
// returns the error so the job is retried; when lastAttempt is set it also
// marks the export failed with a message that holds no internal detail.
func (r *Runner) Run(ctx context.Context, id string, generation int, lastAttempt bool) (err error) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, err := r.Store.Export(ctx, id, "", true)
	if err != nil {
		return err
	}
	lease := r.newLease()
	switch e.State {
	case StateQueued, StateBuilding:
	default:
		log.Info("build skipped", "export", id, "state", e.State)
		return nil
	}
	if generation > 0 && e.Generation != generation {
		// A job of an earlier generation, run again by River after the
		// export was requeued or retried: the newer job builds it.
		log.Info("build skipped: superseded", "export", id, "job_generation", generation, "generation", e.Generation)
		return nil
	}
	started := false // whether this build holds the export's lease
	defer func() {
		if err == nil || ctx.Err() != nil || errors.Is(err, ErrBusy) {
			return // a busy partner's build waits; it has not failed
		}
		bg := context.WithoutCancel(ctx)
		if !lastAttempt {
			// River retries it: give the export back at once rather than
			// leave a lease the retry would have to wait out.
			if started {
				if rerr := r.Store.ReleaseBuild(bg, id, lease); rerr != nil && ErrorCode(rerr) != ECONFLICT {
					log.Warn("releasing the build", "export", id, "err", rerr)
				}
			}
			return
		}
		msg := "the build failed; staff have been notified"
		if ErrorCode(err) != EINTERNAL {
			msg = "the build failed: " + ErrorMessage(err)
		}
		held := "" // a build that never started fails the queued export
		if started {
			held = lease
		}
		if ferr := r.Store.FailBuild(bg, id, held, msg); ferr != nil {
			log.Error("marking build failed", "export", id, "err", ferr)
		}
	}()
	// The lease comes first, before anything slow: a worker that dies
	// from here on leaves a stale lease the watchers of the others act on.
	ttl := r.leaseTTL()
	if _, err := r.Store.StartBuild(ctx, id, 0, r.MaxBuildsPerPartner, lease, r.now().Add(-ttl)); err != nil {
		if ErrorCode(err) == ECONFLICT {
			// Cancelled or revoked while queued: nothing to build.
			log.Info("build skipped", "export", id, "reason", ErrorMessage(err))
			return nil
		}
		return err
	}
	started = true
	// The export is this build's while it renews the lease; a build that
	// loses it (its worker was taken for dead) stops.
	bctx, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	var written atomic.Int64
	stopRenewing := r.renewLease(bctx, id, lease, &written, lose)
	defer stopRenewing()
	defer func() {
		if errors.Is(context.Cause(bctx), errLeaseLost) {
			log.Warn("build abandoned: another worker took it over", "export", id, "lease", lease)
			err = nil
		}
	}()
	partner, err := r.Store.Partner(bctx, e.PartnerID)
	if err != nil {
		return err
	}
	// The agreement is checked a third time, as the build starts: an
	// agreement that ended, or that no longer covers the request, stops it.
	req := e.Request
	if err := ValidateRequest(&req, partner, r.now()); err != nil {
		lastAttempt = true // no retry will make the agreement fit again
		return Errorf(ECONFLICT, "the request no longer fits the partner's agreement: %s", ErrorMessage(err))
	}
	in := buildInput(e, partner)
	if in.Series != nil && e.Run > 1 {
		if in.Series.Erasures, err = r.priorErasures(bctx, e); err != nil {
			return err
		}
	}
	estimated, err := r.Builder.Estimate(bctx, in)
	if err != nil {
		log.Error("build estimate", "export", id, "err", err)
		return err
	}
	if err := r.Store.SetProgress(bctx, id, lease, 0, estimated); err != nil {
		return err
	}
	if err := r.removeWork(id); err != nil {
		return err
	}
	dir := r.workDir(id, lease)
	defer os.RemoveAll(dir)
	progress := func(rows int64) { written.Store(rows) }
	start := time.Now()
	m, err := r.Builder.Build(bctx, in, dir, progress)
	if r.Observer != nil && bctx.Err() == nil {
		r.Observer.BuildFinished(time.Since(start), m, err)
	}
	if err != nil {
		log.Error("build failed", "export", id, "err", err)
		return err
	}
	files := m.Files()
	sum, size, err := FileSHA256(filepath.Join(dir, ManifestName))
	if err != nil {
		return err
	}
	files = append(files, File{Name: ManifestName, Size: size, SHA256: sum})
	if partner.AgeRecipient != "" {
		// Stored and served encrypted to the partner: only its identity
		// reads the files.
		if files, err = seal(dir, files, partner.AgeRecipient); err != nil {
			return err
		}
	}
	if err := r.upload(bctx, e, lease, dir, files); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil { // the store has the files
		log.Warn("removing the build's working directory", "export", id, "err", err)
	}
	// No renewal may run after the export is ready (it would find the
	// lease gone and report the build taken over).
	stopRenewing()
	if err := r.Store.FinishBuild(bctx, id, lease, BuildResult{Files: files, ReadyAt: m.GeneratedAt, ExpiresAt: m.ExpiresAt}); err != nil {
		if ErrorCode(err) == ECONFLICT {
			// Revoked during the build, or taken over by another worker:
			// these files are never published, and the sweeper deletes
			// them with the export's.
			log.Info("build discarded", "export", id, "reason", ErrorMessage(err))
			return nil
		}
		return err
	}
	log.Info("build ready", "export", id, "tables", len(m.Tables), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// renewLease renews the build's lease, recording the rows written so far,
// several times per lease TTL until the returned function is called. If
// the export is no longer the build's, it ends the build with lose.
func (r *Runner) renewLease(ctx context.Context, id, lease string, written *atomic.Int64, lose context.CancelCauseFunc) (stop func()) {
	every := r.leaseTTL() / 4
	if r.ProgressInterval > 0 && r.ProgressInterval < every {
		every = r.ProgressInterval
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := r.Store.SetProgress(ctx, id, lease, written.Load(), -1)
			switch {
			case ErrorCode(err) == ECONFLICT || ErrorCode(err) == ENOTFOUND:
				lose(errLeaseLost)
				return
			case err != nil && ctx.Err() == nil:
				// A database hiccup: the lease lasts several renewals.
				r.logger().Warn("renewing the build lease", "export", id, "err", err)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-finished }) }
}

func (r *Runner) logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// OpenFile opens a file of a built export in the files store for
// download, reading under ctx. It returns ENOTFOUND if there is no such
// file; a name starting with a dot (the delivery record) is never served.
func (r *Runner) OpenFile(ctx context.Context, e *Export, name string) (StoredFile, error) {
	if name == "" || name[0] == '.' || strings.ContainsAny(name, `/\`) {
		return nil, Errorf(ENOTFOUND, "no file %q", name)
	}
	f, err := r.Files.Open(ctx, fileKey(e.ID, e.BuildLease, name))
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no file %q", name)
	}
	return f, err
}

// Sweep enforces retention: it marks exports past their expiry as expired
// (downloads already stop at the expiry) and deletes from the files store
// the files of every export no longer approved, queued, building or ready,
// including those a crash left behind. It returns the number of exports
// whose files it deleted.
func (r *Runner) Sweep(ctx context.Context, now time.Time) (int, error) {
	if _, err := r.Store.ExpireDue(ctx, now); err != nil {
		return 0, err
	}
	ids, err := r.Files.Dirs(ctx)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, id := range ids {
		if !strings.HasPrefix(id, ExportIDPrefix) {
			continue // not an export's: the store should be rexport's alone, but never delete what is not ours
		}
		e, err := r.Store.Export(ctx, id, "", true)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return removed, err
		}
		if err == nil {
			switch e.State {
			case StateApproved, StateQueued, StateBuilding, StateReady:
				continue
			}
		}
		if err := r.Files.DeletePrefix(ctx, filesPrefix(id)); err != nil {
			return removed, err
		}
		if err == nil {
			if err := r.Store.MarkFilesDeleted(ctx, e.ID, now); err != nil {
				return removed, err
			}
		}
		removed++
	}
	return removed, nil
}

// Recover requeues the exports whose build stopped renewing its lease
// for LeaseTTL: their worker died (or lost the database), and River would
// run their job again only after the build timeout. Each gets a new build
// generation and job; one interrupted MaxInterruptions times fails.
func (r *Runner) Recover(ctx context.Context) error {
	requeued, failed, err := r.Store.RequeueStale(ctx, r.now().Add(-r.leaseTTL()), MaxInterruptions)
	for _, id := range requeued {
		r.logger().Warn("build requeued: its worker stopped renewing the lease", "export", id)
	}
	for _, id := range failed {
		r.logger().Error("build failed: interrupted too often", "export", id, "interruptions", MaxInterruptions)
	}
	if err != nil || r.Jobs == nil {
		return err
	}
	// A job taken more than a few leases ago whose export is still queued
	// at its generation: its worker died before the build took the lease
	// (Run takes it first thing).
	jobs, err := r.Jobs.RunningBuilds(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Since.After(r.now().Add(-3 * r.leaseTTL())) {
			continue
		}
		requeued, failed, err := r.Store.RequeueStalled(ctx, j.ExportID, j.Generation, MaxInterruptions)
		if err != nil {
			return err
		}
		if requeued || failed {
			r.logger().Warn("build requeued: its worker took the job and stopped", "export", j.ExportID, "failed", failed)
		}
	}
	return nil
}

// Watch runs Recover every half lease until ctx ends. Every worker runs
// it: whichever sees a stale lease first requeues the export, once.
func (r *Runner) Watch(ctx context.Context) {
	t := time.NewTicker(r.leaseTTL() / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.Recover(ctx); err != nil && ctx.Err() == nil {
			r.logger().Warn("recovering interrupted builds", "err", err)
		}
	}
}

// buildInput is what the builder needs of an export and its partner. A
// run of a recurring request covers its own window of event times.
func buildInput(e *Export, partner Partner) BuildInput {
	in := BuildInput{ExportID: e.ID, PartnerID: e.PartnerID, Request: e.Request, KeyVersion: e.KeyVersion, DUA: partner.DUA}
	if !partner.DUA.EndsOn.IsZero() {
		// The agreement covers its last day in full.
		in.NotAfter = partner.DUA.EndsOn.AddDate(0, 0, 1)
	}
	if e.SeriesID != "" {
		// An incremental run covers its own window; a full one everything
		// from the request's start up to its watermark.
		in.Request.From, in.Request.To = e.WindowFrom, e.WindowTo
		if e.Request.Mode != ModeIncremental {
			in.Request.From = e.Request.From
		}
		in.Series = &SeriesRun{SeriesID: e.SeriesID, Run: e.Run, Watermark: e.WindowTo, Erasures: []Erasure{}}
	}
	return in
}

// priorErasures lists the learners delivered by the earlier runs of e's
// series who have since been deleted or opted out.
func (r *Runner) priorErasures(ctx context.Context, e *Export) ([]Erasure, error) {
	delivered, _, err := r.deliveredBy(ctx, e, false)
	if err != nil {
		return nil, err
	}
	if len(delivered) == 0 {
		return []Erasure{}, nil
	}
	return r.erasuresOf(ctx, e, delivered)
}

// Recur files the runs of recurring requests that are due at now: for each
// series whose latest run is built (ready or expired) and whose schedule
// period has passed since that run's watermark, the next run, covering the
// watermark up to now, checked against the partner's agreement first. A
// series whose latest run failed waits for a reviewer's retry; one whose
// latest run was revoked or cancelled stops. It returns the runs filed.
func (r *Runner) Recur(ctx context.Context, now time.Time, newID func() string) ([]*Export, error) {
	all, err := r.Store.Exports(ctx, ExportFilter{AllPartners: true, Recurring: true, Limit: 100000})
	if err != nil {
		return nil, err
	}
	latest := map[string]*Export{}
	for _, e := range all {
		if l := latest[e.SeriesID]; l == nil || e.Run > l.Run {
			latest[e.SeriesID] = e
		}
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var filed []*Export
	for _, prev := range latest {
		if prev.State != StateReady && prev.State != StateExpired {
			continue
		}
		// The first run carries the reviewers' approval of the series:
		// once it is revoked (or was never built) the series stops.
		root, err := r.Store.Export(ctx, prev.SeriesID, "", true)
		if err != nil {
			return filed, err
		}
		if root.State != StateReady && root.State != StateExpired {
			continue
		}
		req := prev.Request
		if !req.To.IsZero() && !prev.WindowTo.Before(req.To) {
			continue // the series covered its whole window
		}
		if now.Before(prev.WindowTo.Add(req.Schedule.Period())) {
			continue
		}
		partner, err := r.Store.Partner(ctx, prev.PartnerID)
		if err != nil {
			return filed, err
		}
		if err := ValidateRequest(&req, partner, now); err != nil {
			log.Info("recurring request not run", "series", prev.SeriesID, "reason", ErrorMessage(err))
			continue
		}
		to := now
		if !req.To.IsZero() && req.To.Before(to) {
			to = req.To
		}
		e, err := r.Store.CreateRun(ctx, prev, newID(), to)
		if ErrorCode(err) == ECONFLICT {
			continue // another worker filed it
		} else if err != nil {
			return filed, err
		}
		filed = append(filed, e)
	}
	return filed, nil
}

// Preview is what an export would hold, computed by the build pipeline on
// the real source without writing a dataset: the manifest (rows per table,
// excluded learners by reason, the risk reports, findings) and a few
// scrubbed free-text values with the types the scrubber found in each.
// Reviewers see it before they approve; it never holds raw text.
type Preview struct {
	Manifest *Manifest
	Samples  []TextSample
}

// TextSample is one scrubbed free-text value.
type TextSample struct {
	Table, Column string
	Text          string // scrubbed
	Types         []string
}

// Preview runs the build of e with a discarding encoder in a scratch
// directory, keeping up to samples scrubbed texts. An export not approved
// yet is previewed under the current key version.
func (r *Runner) Preview(ctx context.Context, e *Export, samples int) (*Preview, error) {
	partner, err := r.Store.Partner(ctx, e.PartnerID)
	if err != nil {
		return nil, err
	}
	in := buildInput(e, partner)
	if in.KeyVersion == 0 {
		if in.KeyVersion, err = r.Store.KeyVersion(ctx); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "rexport-preview-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := &Preview{}
	b := *r.Builder
	b.Encoder = discardEncoder
	b.Workers = 1 // the same samples every time
	b.sample = func(table, column, text string, types []string) {
		if len(p.Samples) < samples && len(types) > 0 {
			p.Samples = append(p.Samples, TextSample{Table: table, Column: column, Text: text, Types: types})
		}
	}
	if p.Manifest, err = b.Build(ctx, in, dir, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// discardEncoder writes nothing: previews count rows, they do not store
// them.
func discardEncoder(io.Writer, []Column, map[string]string) (RowWriter, error) {
	return discardWriter{}, nil
}

type discardWriter struct{}

func (discardWriter) Write(Row) error { return nil }
func (discardWriter) Close() error    { return nil }
