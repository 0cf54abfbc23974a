package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rexport/rexport/export"
)

// CreateExport implements export.Store.
func (s *Store[TTx]) CreateExport(ctx context.Context, e *export.Export) (err error) {
	defer export.Wrap(&err, "DB.CreateExport(%s)", e.ID)
	req, err := json.Marshal(e.Request)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx[TTx]) error {
		if err := tx.Exec(ctx, `INSERT INTO exports (id, partner_id, requested_by, request_json, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.PartnerID, e.RequestedBy, string(req), string(e.State), formatTime(e.CreatedAt), formatTime(e.UpdatedAt)); err != nil {
			return err
		}
		return s.audit(ctx, tx, export.AuditEntry{PrincipalID: e.RequestedBy, Action: "export.submit", ExportID: e.ID, PartnerID: e.PartnerID,
			Detail: string(req)})
	})
}

const exportColumns = `id, partner_id, requested_by, request_json, state, key_version, rows_written, rows_estimated, files_json, error, created_at, updated_at, ready_at, expires_at, generation, files_deleted_at, series_id, run, window_from, window_to, build_lease, lease_renewed_at`

func scanExport(r Row) (*export.Export, error) {
	var e export.Export
	var req, state, files, created, updated, ready, expires, deleted, wfrom, wto, renewed string
	if err := r.Scan(&e.ID, &e.PartnerID, &e.RequestedBy, &req, &state, &e.KeyVersion, &e.Progress.RowsWritten, &e.Progress.RowsEstimated,
		&files, &e.Error, &created, &updated, &ready, &expires, &e.Generation, &deleted, &e.SeriesID, &e.Run, &wfrom, &wto,
		&e.BuildLease, &renewed); err != nil {
		return nil, err
	}
	e.State = export.State(state)
	if err := json.Unmarshal([]byte(req), &e.Request); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(files), &e.Files); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		dst *time.Time
		s   string
	}{{&e.CreatedAt, created}, {&e.UpdatedAt, updated}, {&e.ReadyAt, ready}, {&e.ExpiresAt, expires},
		{&e.FilesDeletedAt, deleted}, {&e.WindowFrom, wfrom}, {&e.WindowTo, wto}, {&e.LeaseRenewedAt, renewed}} {
		var err error
		if *f.dst, err = parseTime(f.s); err != nil {
			return nil, err
		}
	}
	return &e, nil
}

// Export implements export.Store. The partner scope is part of the query.
func (s *Store[TTx]) Export(ctx context.Context, id, partnerID string, allPartners bool) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.Export(%s)", id)
	e, err := scanExport(s.db.QueryRow(ctx, `SELECT `+exportColumns+` FROM exports WHERE id = ? AND (? OR partner_id = ?)`,
		id, allPartners, partnerID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, export.Errorf(export.ENOTFOUND, "export %s not found", id)
	} else if err != nil {
		return nil, err
	}
	if e.Decisions, err = s.decisions(ctx, id); err != nil {
		return nil, err
	}
	return e, nil
}

// decisions returns an export's decisions in the order they were made
// (rowid: SQLite's own, a column of that name in PostgreSQL).
func (s *Store[TTx]) decisions(ctx context.Context, id string) ([]export.Decision, error) {
	return queryAll(ctx, s.db, func(r Row) (export.Decision, error) {
		var d export.Decision
		var at string
		if err := r.Scan(&d.ReviewerID, &d.Approved, &d.Reason, &at); err != nil {
			return d, err
		}
		var err error
		d.At, err = parseTime(at)
		return d, err
	}, `SELECT reviewer_id, approved, reason, at FROM decisions WHERE export_id = ? ORDER BY rowid`, id)
}

// Exports implements export.Store.
func (s *Store[TTx]) Exports(ctx context.Context, f export.ExportFilter) (_ []*export.Export, err error) {
	defer export.Wrap(&err, "DB.Exports")
	if !f.AllPartners && f.PartnerID == "" {
		return nil, nil
	}
	out, err := queryAll(ctx, s.db, scanExport, `SELECT `+exportColumns+` FROM exports
		WHERE (? OR partner_id = ?) AND (? = '' OR state = ?) AND (? = '' OR series_id = ?) AND (NOT ? OR series_id != '')
			AND (? = '' OR (ready_at != '' AND ready_at > ?))
		ORDER BY created_at DESC, id DESC LIMIT ?`,
		f.AllPartners, f.PartnerID, string(f.State), string(f.State), f.SeriesID, f.SeriesID, f.Recurring,
		formatTime(f.ReadySince), formatTime(f.ReadySince), f.Limit)
	if err != nil {
		return nil, err
	}
	for _, e := range out {
		if e.Decisions, err = s.decisions(ctx, e.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Decide implements export.Store.
func (s *Store[TTx]) Decide(ctx context.Context, id string, d export.Decision, required int) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.Decide(%s)", id)
	if d.Approved && s.enqueue == nil {
		return nil, errors.New("no job queue configured: refusing an approval that would build nothing")
	}
	err = s.inTx(ctx, func(tx Tx[TTx]) error {
		var partnerID, state, requester string
		err := tx.QueryRow(ctx, `SELECT partner_id, state, requested_by FROM exports WHERE id = ?`+s.d.ForUpdate, id).Scan(&partnerID, &state, &requester)
		if errors.Is(err, sql.ErrNoRows) {
			return export.Errorf(export.ENOTFOUND, "export %s not found", id)
		} else if err != nil {
			return err
		}
		switch {
		case export.State(state) != export.StateSubmitted:
			return export.Errorf(export.ECONFLICT, "export %s is %s, not awaiting review", id, state)
		case requester == d.ReviewerID:
			return export.Errorf(export.EFORBIDDEN, "you submitted this request: other reviewers must decide on it")
		}
		var already int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM decisions WHERE export_id = ? AND reviewer_id = ?`, id, d.ReviewerID).Scan(&already); err != nil {
			return err
		}
		if already > 0 {
			return export.Errorf(export.ECONFLICT, "you already decided on export %s: another reviewer must", id)
		}
		if err := tx.Exec(ctx, `INSERT INTO decisions (export_id, reviewer_id, approved, reason, at) VALUES (?, ?, ?, ?, ?)`,
			id, d.ReviewerID, d.Approved, d.Reason, formatTime(d.At)); err != nil {
			return err
		}
		entry := export.AuditEntry{At: d.At, PrincipalID: d.ReviewerID, ExportID: id, PartnerID: partnerID}
		if !d.Approved {
			if err := s.setState(ctx, tx, id, export.StateRejected, d.At, ""); err != nil {
				return err
			}
			entry.Action, entry.Detail = "export.reject", "reason="+d.Reason
			return s.audit(ctx, tx, entry)
		}
		var approvals int
		if err := tx.QueryRow(ctx, `SELECT count(DISTINCT reviewer_id) FROM decisions WHERE export_id = ? AND approved`, id).Scan(&approvals); err != nil {
			return err
		}
		entry.Action, entry.Detail = "export.approve", fmt.Sprintf("approvals=%d/%d", approvals, required)
		if d.Reason != "" {
			entry.Detail += " note=" + d.Reason
		}
		if err := s.audit(ctx, tx, entry); err != nil {
			return err
		}
		if approvals < required {
			return nil
		}
		// The last approval fixes the key version the build will use.
		var keyVersion int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 1) FROM key_versions`).Scan(&keyVersion); err != nil {
			return err
		}
		if err := s.setState(ctx, tx, id, export.StateApproved, d.At, `key_version = ?`, keyVersion); err != nil {
			return err
		}
		if err := s.startSeries(ctx, tx, id, d.At); err != nil {
			return err
		}
		return s.queue(ctx, tx, id, partnerID, "system", fmt.Sprintf("key_version=%d", keyVersion))
	})
	if err != nil {
		return nil, err
	}
	return s.Export(ctx, id, "", true)
}

// setState sets an export's state and updated_at, and the extra columns.
func (s *Store[TTx]) setState(ctx context.Context, tx Tx[TTx], id string, next export.State, at time.Time, set string, args ...any) error {
	q := `UPDATE exports SET state = ?, updated_at = ?`
	if set != "" {
		q += ", " + set
	}
	all := append([]any{string(next), formatTime(at)}, args...)
	return tx.Exec(ctx, q+` WHERE id = ?`, append(all, id)...)
}

// queue moves an approved or failed export to queued with the next build
// generation, and inserts that generation's build job, in tx.
func (s *Store[TTx]) queue(ctx context.Context, tx Tx[TTx], id, partnerID, by, detail string) error {
	if s.enqueue == nil {
		return errors.New("no job queue configured: refusing to queue a build that would never run")
	}
	var gen int
	if err := tx.QueryRow(ctx, `UPDATE exports SET state = ?, generation = generation + 1, error = '', build_lease = '', updated_at = ? WHERE id = ? RETURNING generation`,
		string(export.StateQueued), formatTime(s.now()), id).Scan(&gen); err != nil {
		return err
	}
	if err := s.enqueue(ctx, tx.Driver(), id, gen); err != nil {
		return fmt.Errorf("enqueue build: %w", err)
	}
	return s.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "export.queue", ExportID: id, PartnerID: partnerID,
		Detail: strings.TrimSpace(fmt.Sprintf("generation=%d %s", gen, detail))})
}

// Act implements export.Store.
func (s *Store[TTx]) Act(ctx context.Context, id string, a export.Act) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.Act(%s, %s)", id, a.Action)
	err = s.inTx(ctx, func(tx Tx[TTx]) error {
		partnerID, err := s.checkState(ctx, tx, id, a.From)
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, export.AuditEntry{PrincipalID: a.By, Action: "export." + string(a.Action), ExportID: id, PartnerID: partnerID, Detail: a.Detail}); err != nil {
			return err
		}
		if a.To == export.StateQueued {
			// A reviewer's retry starts counting interruptions anew.
			if err := tx.Exec(ctx, `UPDATE exports SET interruptions = 0 WHERE id = ?`, id); err != nil {
				return err
			}
			return s.queue(ctx, tx, id, partnerID, a.By, "")
		}
		return s.setState(ctx, tx, id, a.To, s.now(), "")
	})
	if err != nil {
		return nil, err
	}
	return s.Export(ctx, id, "", true)
}

// checkState returns the export's partner if the export is in one of the
// states from; ENOTFOUND or ECONFLICT otherwise. The state cannot change
// before tx ends: SQLite's write transactions exclude each other, and
// elsewhere the row is locked.
func (s *Store[TTx]) checkState(ctx context.Context, tx Tx[TTx], id string, from []export.State) (partnerID string, err error) {
	var state string
	err = tx.QueryRow(ctx, `SELECT partner_id, state FROM exports WHERE id = ?`+s.d.ForUpdate, id).Scan(&partnerID, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", export.Errorf(export.ENOTFOUND, "export %s not found", id)
	} else if err != nil {
		return "", err
	}
	if !slices.Contains(from, export.State(state)) {
		return "", export.Errorf(export.ECONFLICT, "export %s is %s", id, state)
	}
	return partnerID, nil
}

// CountExportsSince implements export.Store.
func (s *Store[TTx]) CountExportsSince(ctx context.Context, partnerID string, since time.Time) (n int, err error) {
	defer export.Wrap(&err, "DB.CountExportsSince")
	err = s.db.QueryRow(ctx, `SELECT count(*) FROM exports WHERE partner_id = ? AND created_at >= ?`, partnerID, formatTime(since)).Scan(&n)
	return n, err
}

// StartBuild implements export.Store.
func (s *Store[TTx]) StartBuild(ctx context.Context, id string, estimated int64, maxPerPartner int, lease string, staleBefore time.Time) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.StartBuild(%s)", id)
	if lease == "" {
		return nil, export.Errorf(export.EINVALID, "a build needs a lease")
	}
	err = s.inTx(ctx, func(tx Tx[TTx]) error {
		b, err := s.buildRow(ctx, tx, id, export.StateQueued, export.StateBuilding)
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("rows_estimated=%d lease=%s", estimated, lease)
		if b.state == export.StateBuilding && b.lease != "" && b.lease != lease {
			if b.renewed.After(staleBefore) {
				return export.ErrBusy // another worker's build is alive
			}
			// Its worker stopped renewing the lease: it died, or lost
			// the database. This build takes over; the old one can no
			// longer record progress or finish.
			detail += " took_over=" + b.lease
		}
		if maxPerPartner > 0 {
			// Builds of one partner take turns on its row, so two cannot
			// both take its last slot.
			if err := tx.Exec(ctx, `SELECT id FROM partners WHERE id = ?`+s.d.ForUpdate, b.partnerID); err != nil {
				return err
			}
			// A build whose lease went stale holds no slot: its worker died.
			renewals, err := queryAll(ctx, tx, func(r Row) (at string, err error) {
				err = r.Scan(&at)
				return at, err
			}, `SELECT lease_renewed_at FROM exports WHERE partner_id = ? AND state = ? AND id != ?`,
				b.partnerID, string(export.StateBuilding), id)
			if err != nil {
				return err
			}
			n := 0
			for _, at := range renewals {
				t, err := parseTime(at)
				if err != nil {
					return err
				}
				if t.After(staleBefore) {
					n++
				}
			}
			if n >= maxPerPartner {
				return export.ErrBusy
			}
		}
		now := s.now()
		if err := s.setState(ctx, tx, id, export.StateBuilding, now, `rows_estimated = ?, rows_written = 0, error = '', build_lease = ?, lease_renewed_at = ?`,
			estimated, lease, formatTime(now)); err != nil {
			return err
		}
		return s.audit(ctx, tx, export.AuditEntry{PrincipalID: "system", Action: "export.build.start", ExportID: id, PartnerID: b.partnerID, Detail: detail})
	})
	if err != nil {
		return nil, err
	}
	return s.Export(ctx, id, "", true)
}

// RequeueStale implements export.Store.
func (s *Store[TTx]) RequeueStale(ctx context.Context, staleBefore time.Time, maxInterruptions int) (requeued, failed []string, err error) {
	defer export.Wrap(&err, "DB.RequeueStale")
	building, err := s.Exports(ctx, export.ExportFilter{AllPartners: true, State: export.StateBuilding, Limit: 100000})
	if err != nil {
		return nil, nil, err
	}
	for _, e := range building {
		if e.LeaseRenewedAt.After(staleBefore) {
			continue
		}
		gaveUp := false
		err := s.inTx(ctx, func(tx Tx[TTx]) error {
			b, err := s.buildRow(ctx, tx, e.ID, export.StateBuilding)
			if err != nil {
				return err
			}
			if b.lease != e.BuildLease || b.renewed.After(staleBefore) {
				return errMovedOn // renewed, or requeued by another worker, meanwhile
			}
			gaveUp, err = s.interrupt(ctx, tx, e.ID, b, "stale_lease="+b.lease, maxInterruptions)
			return err
		})
		switch {
		case errors.Is(err, errMovedOn) || export.ErrorCode(err) == export.ECONFLICT:
		case err != nil:
			return requeued, failed, err
		case gaveUp:
			failed = append(failed, e.ID)
		default:
			requeued = append(requeued, e.ID)
		}
	}
	return requeued, failed, nil
}

// RequeueStalled implements export.Store.
func (s *Store[TTx]) RequeueStalled(ctx context.Context, id string, generation, maxInterruptions int) (requeued, failed bool, err error) {
	defer export.Wrap(&err, "DB.RequeueStalled(%s)", id)
	err = s.inTx(ctx, func(tx Tx[TTx]) error {
		b, err := s.buildRow(ctx, tx, id, export.StateQueued)
		if err != nil {
			return err
		}
		var gen int
		if err := tx.QueryRow(ctx, `SELECT generation FROM exports WHERE id = ?`, id).Scan(&gen); err != nil {
			return err
		}
		if gen != generation || b.lease != "" {
			return errMovedOn
		}
		failed, err = s.interrupt(ctx, tx, id, b, fmt.Sprintf("stalled_generation=%d", gen), maxInterruptions)
		return err
	})
	if errors.Is(err, errMovedOn) || export.ErrorCode(err) == export.ECONFLICT {
		return false, false, nil
	}
	return err == nil && !failed, failed, err
}

// interrupt records, in tx, that the export's build was interrupted (why
// says how it was seen): it queues the next build generation, or on the
// maxInterruptions-th interruption fails the export (gaveUp).
func (s *Store[TTx]) interrupt(ctx context.Context, tx Tx[TTx], id string, b buildState, why string, maxInterruptions int) (gaveUp bool, err error) {
	var n int
	if err := tx.QueryRow(ctx, `SELECT interruptions FROM exports WHERE id = ?`, id).Scan(&n); err != nil {
		return false, err
	}
	n++
	if n >= maxInterruptions {
		msg := fmt.Sprintf("the build was interrupted %d times (its worker stopped); staff have been notified", n)
		if err := s.setState(ctx, tx, id, export.StateFailed, s.now(), `error = ?, interruptions = ?`, msg, n); err != nil {
			return false, err
		}
		return true, s.audit(ctx, tx, export.AuditEntry{PrincipalID: "system", Action: "export.build.fail", ExportID: id, PartnerID: b.partnerID,
			Detail: msg + " " + why})
	}
	// The dead build's lease goes: it can no longer fail the export the
	// next generation builds.
	if err := tx.Exec(ctx, `UPDATE exports SET interruptions = ?, build_lease = '' WHERE id = ?`, n, id); err != nil {
		return false, err
	}
	return false, s.queue(ctx, tx, id, b.partnerID, "system", fmt.Sprintf("interrupted=%d %s", n, why))
}

// errMovedOn ends a transaction whose export changed since it was read.
var errMovedOn = errors.New("the export moved on")

// buildState is what a build's store calls check of its export's row.
type buildState struct {
	partnerID string
	state     export.State
	lease     string
	renewed   time.Time
}

// buildRow reads and locks an export's row for a build's write; ENOTFOUND,
// or ECONFLICT if the export is in none of the states from.
func (s *Store[TTx]) buildRow(ctx context.Context, tx Tx[TTx], id string, from ...export.State) (b buildState, err error) {
	var state, renewed string
	err = tx.QueryRow(ctx, `SELECT partner_id, state, build_lease, lease_renewed_at FROM exports WHERE id = ?`+s.d.ForUpdate, id).
		Scan(&b.partnerID, &state, &b.lease, &renewed)
	if errors.Is(err, sql.ErrNoRows) {
		return b, export.Errorf(export.ENOTFOUND, "export %s not found", id)
	} else if err != nil {
		return b, err
	}
	b.state = export.State(state)
	if !slices.Contains(from, b.state) {
		return b, export.Errorf(export.ECONFLICT, "export %s is %s", id, state)
	}
	b.renewed, err = parseTime(renewed)
	return b, err
}

// leased checks that the build holding lease still owns the export: a
// building export belongs to the build whose lease it records, and a
// queued one (lease "") to no build.
func leased(id string, b buildState, lease string) error {
	if b.lease != lease {
		return export.Errorf(export.ECONFLICT, "export %s: this build's lease passed to another build", id)
	}
	return nil
}

// SetProgress implements export.Store.
func (s *Store[TTx]) SetProgress(ctx context.Context, id, lease string, written, estimated int64) (err error) {
	defer export.Wrap(&err, "DB.SetProgress(%s)", id)
	return s.inTx(ctx, func(tx Tx[TTx]) error {
		b, err := s.buildRow(ctx, tx, id, export.StateBuilding)
		if err != nil {
			return err
		}
		if err := leased(id, b, lease); err != nil {
			return err
		}
		now := formatTime(s.now())
		if estimated >= 0 {
			if err := tx.Exec(ctx, `UPDATE exports SET rows_estimated = ? WHERE id = ?`, estimated, id); err != nil {
				return err
			}
		}
		return tx.Exec(ctx, `UPDATE exports SET rows_written = ?, lease_renewed_at = ?, updated_at = ? WHERE id = ?`, written, now, now, id)
	})
}

// FinishBuild implements export.Store.
func (s *Store[TTx]) FinishBuild(ctx context.Context, id, lease string, r export.BuildResult) (err error) {
	defer export.Wrap(&err, "DB.FinishBuild(%s)", id)
	files, err := json.Marshal(r.Files)
	if err != nil {
		return err
	}
	var rows int64
	for _, f := range r.Files {
		rows += f.Rows
	}
	return s.endBuild(ctx, id, lease, []export.State{export.StateBuilding}, export.StateReady, "export.build.ready",
		fmt.Sprintf("files=%d rows=%d lease=%s", len(r.Files), rows, lease),
		// Once built, the estimate gives way to the actual count.
		`files_json = ?, rows_written = ?, rows_estimated = ?, ready_at = ?, expires_at = ?`, string(files), rows, rows, formatTime(r.ReadyAt), formatTime(r.ExpiresAt))
}

// FailBuild implements export.Store.
func (s *Store[TTx]) FailBuild(ctx context.Context, id, lease, message string) (err error) {
	defer export.Wrap(&err, "DB.FailBuild(%s)", id)
	from := export.StateBuilding
	if lease == "" {
		from = export.StateQueued
	}
	return s.endBuild(ctx, id, lease, []export.State{from}, export.StateFailed, "export.build.fail",
		message, `error = ?`, message)
}

// ReleaseBuild implements export.Store.
func (s *Store[TTx]) ReleaseBuild(ctx context.Context, id, lease string) (err error) {
	defer export.Wrap(&err, "DB.ReleaseBuild(%s)", id)
	return s.endBuild(ctx, id, lease, []export.State{export.StateBuilding}, export.StateQueued, "export.build.release",
		"lease="+lease+" attempt failed; retried", `build_lease = ''`)
}

// endBuild moves an export from one of the states from to next, if a
// building export is still the build's with lease, and audits it as the
// system's action.
func (s *Store[TTx]) endBuild(ctx context.Context, id, lease string, from []export.State, next export.State, action, detail, set string, args ...any) error {
	return s.inTx(ctx, func(tx Tx[TTx]) error {
		b, err := s.buildRow(ctx, tx, id, from...)
		if err != nil {
			return err
		}
		if err := leased(id, b, lease); err != nil {
			return err
		}
		if err := s.setState(ctx, tx, id, next, s.now(), set, args...); err != nil {
			return err
		}
		return s.audit(ctx, tx, export.AuditEntry{PrincipalID: "system", Action: action, ExportID: id, PartnerID: b.partnerID, Detail: detail})
	})
}

// ExpireDue implements export.Store.
func (s *Store[TTx]) ExpireDue(ctx context.Context, now time.Time) (ids []string, err error) {
	defer export.Wrap(&err, "DB.ExpireDue")
	err = s.inTx(ctx, func(tx Tx[TTx]) error {
		// Locked, the rows a concurrent sweep expired first drop out.
		due, err := queryAll(ctx, tx, func(r Row) (e export.AuditEntry, err error) {
			err = r.Scan(&e.ExportID, &e.PartnerID)
			return e, err
		}, `SELECT id, partner_id FROM exports WHERE state = ? AND expires_at != '' AND expires_at <= ? ORDER BY id`+s.d.ForUpdate,
			string(export.StateReady), formatTime(now))
		if err != nil {
			return err
		}
		for _, e := range due {
			if err := tx.Exec(ctx, `UPDATE exports SET state = ?, updated_at = ? WHERE id = ?`, string(export.StateExpired), formatTime(now), e.ExportID); err != nil {
				return err
			}
			e.At, e.PrincipalID, e.Action = now, "system", "export.expire"
			if err := s.audit(ctx, tx, e); err != nil {
				return err
			}
			ids = append(ids, e.ExportID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// MarkFilesDeleted implements export.Store.
func (s *Store[TTx]) MarkFilesDeleted(ctx context.Context, id string, at time.Time) (err error) {
	defer export.Wrap(&err, "DB.MarkFilesDeleted(%s)", id)
	return s.inTx(ctx, func(tx Tx[TTx]) error {
		var partnerID, deleted string
		err := tx.QueryRow(ctx, `SELECT partner_id, files_deleted_at FROM exports WHERE id = ?`+s.d.ForUpdate, id).Scan(&partnerID, &deleted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil // a directory a crash left without its export
		case err != nil:
			return err
		case deleted != "":
			return nil
		}
		if err := tx.Exec(ctx, `UPDATE exports SET files_deleted_at = ? WHERE id = ?`, formatTime(at), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, export.AuditEntry{At: at, PrincipalID: "system", Action: "export.files.delete", ExportID: id, PartnerID: partnerID})
	})
}

// startSeries makes an approved recurring request the first run of its
// series, covering the request's window up to now (its watermark).
func (s *Store[TTx]) startSeries(ctx context.Context, tx Tx[TTx], id string, now time.Time) error {
	var raw string
	if err := tx.QueryRow(ctx, `SELECT request_json FROM exports WHERE id = ?`, id).Scan(&raw); err != nil {
		return err
	}
	var req export.Request
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		return err
	}
	if req.Schedule == "" {
		return nil
	}
	to := now
	if !req.To.IsZero() && req.To.Before(to) {
		to = req.To
	}
	return tx.Exec(ctx, `UPDATE exports SET series_id = id, run = 1, window_from = ?, window_to = ? WHERE id = ?`,
		formatTime(req.From), formatTime(to), id)
}

// CreateRun implements export.Store.
func (s *Store[TTx]) CreateRun(ctx context.Context, prev *export.Export, id string, to time.Time) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.CreateRun(%s)", prev.SeriesID)
	err = s.inTx(ctx, func(tx Tx[TTx]) error {
		// Checked again in the transaction: the series' first run must
		// still stand (not revoked) and prev must still be its latest run.
		// The first run's row is locked: runs of a series and its
		// revocation take turns.
		var rootState string
		var latest int
		if err := tx.QueryRow(ctx, `SELECT state FROM exports WHERE id = ?`+s.d.ForUpdate, prev.SeriesID).Scan(&rootState); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT max(run) FROM exports WHERE series_id = ?`, prev.SeriesID).Scan(&latest); err != nil {
			return err
		}
		if st := export.State(rootState); st != export.StateReady && st != export.StateExpired {
			return export.Errorf(export.ECONFLICT, "series %s is %s: no more runs", prev.SeriesID, st)
		}
		if latest != prev.Run {
			return export.Errorf(export.ECONFLICT, "run %d of series %s exists already", prev.Run+1, prev.SeriesID)
		}
		now := s.now()
		req, err := json.Marshal(prev.Request)
		if err != nil {
			return err
		}
		if err := tx.Exec(ctx, `INSERT INTO exports (id, partner_id, requested_by, request_json, state, key_version, created_at, updated_at, series_id, run, window_from, window_to)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, prev.PartnerID, prev.RequestedBy, string(req), string(export.StateSubmitted), prev.KeyVersion, formatTime(now), formatTime(now),
			prev.SeriesID, prev.Run+1, formatTime(prev.WindowTo), formatTime(to)); err != nil {
			if s.d.IsUniqueViolation(err) {
				return export.Errorf(export.ECONFLICT, "run %d of series %s exists already", prev.Run+1, prev.SeriesID)
			}
			return err
		}
		// The series' approvals carry over to each run: the reviewers
		// approved the recurring request, not one run of it.
		if err := tx.Exec(ctx, `INSERT INTO decisions (export_id, reviewer_id, approved, reason, at)
			SELECT ?, reviewer_id, approved, reason, at FROM decisions WHERE export_id = ? AND approved`, id, prev.SeriesID); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, export.AuditEntry{PrincipalID: "system", Action: "export.recur", ExportID: id, PartnerID: prev.PartnerID,
			Detail: fmt.Sprintf("series=%s run=%d window=%s..%s", prev.SeriesID, prev.Run+1, formatTime(prev.WindowTo), formatTime(to))}); err != nil {
			return err
		}
		if err := s.setState(ctx, tx, id, export.StateApproved, now, ""); err != nil {
			return err
		}
		return s.queue(ctx, tx, id, prev.PartnerID, "system", "")
	})
	if err != nil {
		return nil, err
	}
	return s.Export(ctx, id, "", true)
}
