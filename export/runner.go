package export

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Runner builds approved exports: it is what the build job runs.
type Runner struct {
	Store   Store
	Builder *Builder
	// Dir holds one directory per export, named by its id.
	Dir string
	Log *slog.Logger
	// ProgressInterval throttles progress writes to the store.
	ProgressInterval time.Duration
	// MaxBuildsPerPartner caps one partner's builds running at once (0: no
	// cap); a build over the cap waits (ErrBusy).
	MaxBuildsPerPartner int
	Now                 func() time.Time
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// ExportDir returns the directory of an export's files.
func (r *Runner) ExportDir(id string) string { return filepath.Join(r.Dir, id) }

// Run builds the export. It is idempotent: an export already ready is left
// alone, and a retry after a crash rebuilds from scratch. On failure it
// returns the error so the job is retried; when lastAttempt is set it also
// marks the export failed with a message that holds no internal detail.
func (r *Runner) Run(ctx context.Context, id string, lastAttempt bool) (err error) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, err := r.Store.Export(ctx, id, "", true)
	if err != nil {
		return err
	}
	switch e.State {
	case StateQueued, StateBuilding:
	default:
		log.Info("build skipped", "export", id, "state", e.State)
		return nil
	}
	defer func() {
		if err == nil || !lastAttempt || ctx.Err() != nil {
			return
		}
		msg := "the build failed; staff have been notified"
		if ErrorCode(err) != EINTERNAL {
			msg = "the build failed: " + ErrorMessage(err)
		}
		if ferr := r.Store.FailBuild(context.WithoutCancel(ctx), id, msg); ferr != nil {
			log.Error("marking build failed", "export", id, "err", ferr)
		}
	}()
	partner, err := r.Store.Partner(ctx, e.PartnerID)
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
	in := BuildInput{ExportID: e.ID, PartnerID: e.PartnerID, Request: e.Request, KeyVersion: e.KeyVersion, DUA: partner.DUA}
	if !partner.DUA.EndsOn.IsZero() {
		// The agreement covers its last day in full.
		in.NotAfter = partner.DUA.EndsOn.AddDate(0, 0, 1)
	}
	estimated, err := r.Builder.Estimate(ctx, in)
	if err != nil {
		log.Error("build estimate", "export", id, "err", err)
		return err
	}
	if _, err := r.Store.StartBuild(ctx, id, estimated, r.MaxBuildsPerPartner); err != nil {
		if ErrorCode(err) == ECONFLICT {
			// Cancelled or revoked while queued: nothing to build.
			log.Info("build skipped", "export", id, "reason", ErrorMessage(err))
			return nil
		}
		return err
	}
	dir := r.ExportDir(id)
	if err := RemoveTemp(dir); err != nil {
		return err
	}
	interval := r.ProgressInterval
	if interval == 0 {
		interval = time.Second
	}
	var last time.Time
	progress := func(rows int64) {
		if time.Since(last) < interval {
			return
		}
		last = time.Now()
		if err := r.Store.SetProgress(ctx, id, rows); err != nil {
			log.Warn("recording progress", "export", id, "err", err)
		}
	}
	start := time.Now()
	m, err := r.Builder.Build(ctx, in, dir, progress)
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
	if err := r.Store.FinishBuild(ctx, id, BuildResult{Files: files, ReadyAt: m.GeneratedAt, ExpiresAt: m.ExpiresAt}); err != nil {
		if ErrorCode(err) == ECONFLICT {
			// Revoked during the build: the files are never published,
			// and the sweeper deletes them.
			log.Info("build discarded", "export", id, "reason", ErrorMessage(err))
			return nil
		}
		return err
	}
	log.Info("build ready", "export", id, "tables", len(m.Tables), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// OpenFile opens a file of an export for download.
func (r *Runner) OpenFile(id, name string) (*os.File, error) {
	if filepath.Base(name) != name || name == "" || name[0] == '.' {
		return nil, Errorf(ENOTFOUND, "no file %q", name)
	}
	f, err := os.Open(filepath.Join(r.ExportDir(id), name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, Errorf(ENOTFOUND, "no file %q", name)
	}
	return f, err
}

// Sweep enforces retention: it marks exports past their expiry as expired
// (downloads already stop at the expiry) and deletes the files of every
// export directory whose export is no longer ready or being built,
// including those a crash left behind. It returns the number of export
// directories removed.
func (r *Runner) Sweep(ctx context.Context, now time.Time) (int, error) {
	if _, err := r.Store.ExpireDue(ctx, now); err != nil {
		return 0, err
	}
	entries, err := os.ReadDir(r.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	removed := 0
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		e, err := r.Store.Export(ctx, ent.Name(), "", true)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return removed, err
		}
		if err == nil {
			switch e.State {
			case StateApproved, StateQueued, StateBuilding, StateReady:
				continue
			}
		}
		if err := os.RemoveAll(filepath.Join(r.Dir, ent.Name())); err != nil {
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
