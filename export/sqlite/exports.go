package sqlite

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
func (db *DB) CreateExport(ctx context.Context, e *export.Export) (err error) {
	defer export.Wrap(&err, "DB.CreateExport(%s)", e.ID)
	req, err := json.Marshal(e.Request)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO exports (id, partner_id, requested_by, request_json, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.PartnerID, e.RequestedBy, string(req), string(e.State), formatTime(e.CreatedAt), formatTime(e.UpdatedAt)); err != nil {
			return err
		}
		return db.audit(ctx, tx, export.AuditEntry{PrincipalID: e.RequestedBy, Action: "export.submit", ExportID: e.ID, PartnerID: e.PartnerID,
			Detail: string(req)})
	})
}

const exportColumns = `id, partner_id, requested_by, request_json, state, key_version, rows_written, rows_estimated, files_json, error, created_at, updated_at, ready_at, expires_at, generation, files_deleted_at, series_id, run, window_from, window_to`

type scanner interface{ Scan(dest ...any) error }

func scanExport(s scanner) (*export.Export, error) {
	var e export.Export
	var req, state, files, created, updated, ready, expires, deleted, wfrom, wto string
	if err := s.Scan(&e.ID, &e.PartnerID, &e.RequestedBy, &req, &state, &e.KeyVersion, &e.Progress.RowsWritten, &e.Progress.RowsEstimated,
		&files, &e.Error, &created, &updated, &ready, &expires, &e.Generation, &deleted, &e.SeriesID, &e.Run, &wfrom, &wto); err != nil {
		return nil, err
	}
	e.State = export.State(state)
	if err := json.Unmarshal([]byte(req), &e.Request); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(files), &e.Files); err != nil {
		return nil, err
	}
	var err error
	if e.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if e.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	if e.ReadyAt, err = parseTime(ready); err != nil {
		return nil, err
	}
	if e.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	if e.FilesDeletedAt, err = parseTime(deleted); err != nil {
		return nil, err
	}
	if e.WindowFrom, err = parseTime(wfrom); err != nil {
		return nil, err
	}
	if e.WindowTo, err = parseTime(wto); err != nil {
		return nil, err
	}
	return &e, nil
}

// Export implements export.Store. The partner scope is part of the query.
func (db *DB) Export(ctx context.Context, id, partnerID string, allPartners bool) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.Export(%s)", id)
	e, err := scanExport(db.db.QueryRowContext(ctx, `SELECT `+exportColumns+` FROM exports WHERE id = ? AND (? OR partner_id = ?)`,
		id, allPartners, partnerID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, export.Errorf(export.ENOTFOUND, "export %s not found", id)
	} else if err != nil {
		return nil, err
	}
	if e.Decisions, err = db.decisions(ctx, id); err != nil {
		return nil, err
	}
	return e, nil
}

func (db *DB) decisions(ctx context.Context, id string) ([]export.Decision, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT reviewer_id, approved, reason, at FROM decisions WHERE export_id = ? ORDER BY rowid`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []export.Decision
	for rows.Next() {
		var d export.Decision
		var at string
		if err := rows.Scan(&d.ReviewerID, &d.Approved, &d.Reason, &at); err != nil {
			return nil, err
		}
		if d.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Exports implements export.Store.
func (db *DB) Exports(ctx context.Context, f export.ExportFilter) (_ []*export.Export, err error) {
	defer export.Wrap(&err, "DB.Exports")
	if !f.AllPartners && f.PartnerID == "" {
		return nil, nil
	}
	rows, err := db.db.QueryContext(ctx, `SELECT `+exportColumns+` FROM exports
		WHERE (? OR partner_id = ?) AND (? = '' OR state = ?) AND (? = '' OR series_id = ?) AND (NOT ? OR series_id != '')
			AND (? = '' OR (ready_at != '' AND ready_at > ?))
		ORDER BY created_at DESC, id DESC LIMIT ?`,
		f.AllPartners, f.PartnerID, string(f.State), string(f.State), f.SeriesID, f.SeriesID, f.Recurring,
		formatTime(f.ReadySince), formatTime(f.ReadySince), f.Limit)
	if err != nil {
		return nil, err
	}
	var out []*export.Export
	for rows.Next() {
		e, err := scanExport(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, e := range out {
		if e.Decisions, err = db.decisions(ctx, e.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Decide implements export.Store.
func (db *DB) Decide(ctx context.Context, id string, d export.Decision, required int) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.Decide(%s)", id)
	if d.Approved && db.enqueue == nil {
		return nil, errors.New("no job queue configured: refusing an approval that would build nothing")
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var partnerID, state, requester string
		err := tx.QueryRowContext(ctx, `SELECT partner_id, state, requested_by FROM exports WHERE id = ?`, id).Scan(&partnerID, &state, &requester)
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
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM decisions WHERE export_id = ? AND reviewer_id = ?`, id, d.ReviewerID).Scan(&already); err != nil {
			return err
		}
		if already > 0 {
			return export.Errorf(export.ECONFLICT, "you already decided on export %s: another reviewer must", id)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO decisions (export_id, reviewer_id, approved, reason, at) VALUES (?, ?, ?, ?, ?)`,
			id, d.ReviewerID, d.Approved, d.Reason, formatTime(d.At)); err != nil {
			return err
		}
		entry := export.AuditEntry{At: d.At, PrincipalID: d.ReviewerID, ExportID: id, PartnerID: partnerID}
		if !d.Approved {
			if err := db.setState(ctx, tx, id, export.StateRejected, d.At, ""); err != nil {
				return err
			}
			entry.Action, entry.Detail = "export.reject", "reason="+d.Reason
			return db.audit(ctx, tx, entry)
		}
		var approvals int
		if err := tx.QueryRowContext(ctx, `SELECT count(DISTINCT reviewer_id) FROM decisions WHERE export_id = ? AND approved = 1`, id).Scan(&approvals); err != nil {
			return err
		}
		entry.Action, entry.Detail = "export.approve", fmt.Sprintf("approvals=%d/%d", approvals, required)
		if d.Reason != "" {
			entry.Detail += " note=" + d.Reason
		}
		if err := db.audit(ctx, tx, entry); err != nil {
			return err
		}
		if approvals < required {
			return nil
		}
		// The last approval fixes the key version the build will use.
		var keyVersion int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 1) FROM key_versions`).Scan(&keyVersion); err != nil {
			return err
		}
		if err := db.setState(ctx, tx, id, export.StateApproved, d.At, `key_version = ?`, keyVersion); err != nil {
			return err
		}
		if err := db.startSeries(ctx, tx, id, d.At); err != nil {
			return err
		}
		return db.queue(ctx, tx, id, partnerID, "system", fmt.Sprintf("key_version=%d", keyVersion))
	})
	if err != nil {
		return nil, err
	}
	return db.Export(ctx, id, "", true)
}

// setState sets an export's state and updated_at, and the extra columns.
func (db *DB) setState(ctx context.Context, tx *sql.Tx, id string, next export.State, at time.Time, set string, args ...any) error {
	q := `UPDATE exports SET state = ?, updated_at = ?`
	if set != "" {
		q += ", " + set
	}
	all := append([]any{string(next), formatTime(at)}, args...)
	_, err := tx.ExecContext(ctx, q+` WHERE id = ?`, append(all, id)...)
	return err
}

// queue moves an approved or failed export to queued with the next build
// generation, and inserts that generation's build job, in tx.
func (db *DB) queue(ctx context.Context, tx *sql.Tx, id, partnerID, by, detail string) error {
	if db.enqueue == nil {
		return errors.New("no job queue configured: refusing to queue a build that would never run")
	}
	var gen int
	if err := tx.QueryRowContext(ctx, `UPDATE exports SET state = ?, generation = generation + 1, error = '', updated_at = ? WHERE id = ? RETURNING generation`,
		string(export.StateQueued), formatTime(db.now()), id).Scan(&gen); err != nil {
		return err
	}
	if err := db.enqueue(ctx, tx, id, gen); err != nil {
		return fmt.Errorf("enqueue build: %w", err)
	}
	return db.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "export.queue", ExportID: id, PartnerID: partnerID,
		Detail: strings.TrimSpace(fmt.Sprintf("generation=%d %s", gen, detail))})
}

// Act implements export.Store.
func (db *DB) Act(ctx context.Context, id string, a export.Act) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.Act(%s, %s)", id, a.Action)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		partnerID, err := db.checkState(ctx, tx, id, a.From)
		if err != nil {
			return err
		}
		if err := db.audit(ctx, tx, export.AuditEntry{PrincipalID: a.By, Action: "export." + string(a.Action), ExportID: id, PartnerID: partnerID, Detail: a.Detail}); err != nil {
			return err
		}
		if a.To == export.StateQueued {
			return db.queue(ctx, tx, id, partnerID, a.By, "")
		}
		return db.setState(ctx, tx, id, a.To, db.now(), "")
	})
	if err != nil {
		return nil, err
	}
	return db.Export(ctx, id, "", true)
}

// checkState returns the export's partner if the export is in one of the
// states from; ENOTFOUND or ECONFLICT otherwise. Transactions are
// immediate, so the state cannot change before tx commits.
func (db *DB) checkState(ctx context.Context, tx *sql.Tx, id string, from []export.State) (partnerID string, err error) {
	var state string
	err = tx.QueryRowContext(ctx, `SELECT partner_id, state FROM exports WHERE id = ?`, id).Scan(&partnerID, &state)
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
func (db *DB) CountExportsSince(ctx context.Context, partnerID string, since time.Time) (n int, err error) {
	defer export.Wrap(&err, "DB.CountExportsSince")
	err = db.db.QueryRowContext(ctx, `SELECT count(*) FROM exports WHERE partner_id = ? AND created_at >= ?`, partnerID, formatTime(since)).Scan(&n)
	return n, err
}

// transition moves an export from one of the states in from to next,
// setting the extra columns, and audits it as the system's action.
func (db *DB) transition(ctx context.Context, id string, from []export.State, next export.State, action, detail, set string, args ...any) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		partnerID, err := db.checkState(ctx, tx, id, from)
		if err != nil {
			return err
		}
		if err := db.setState(ctx, tx, id, next, db.now(), set, args...); err != nil {
			return err
		}
		return db.audit(ctx, tx, export.AuditEntry{PrincipalID: "system", Action: action, ExportID: id, PartnerID: partnerID, Detail: detail})
	})
}

// StartBuild implements export.Store.
func (db *DB) StartBuild(ctx context.Context, id string, estimated int64, maxPerPartner int) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.StartBuild(%s)", id)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		partnerID, err := db.checkState(ctx, tx, id, []export.State{export.StateQueued, export.StateBuilding})
		if err != nil {
			return err
		}
		if maxPerPartner > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM exports WHERE partner_id = ? AND state = ? AND id != ?`,
				partnerID, string(export.StateBuilding), id).Scan(&n); err != nil {
				return err
			}
			if n >= maxPerPartner {
				return export.ErrBusy
			}
		}
		if err := db.setState(ctx, tx, id, export.StateBuilding, db.now(), `rows_estimated = ?, rows_written = 0, error = ''`, estimated); err != nil {
			return err
		}
		return db.audit(ctx, tx, export.AuditEntry{PrincipalID: "system", Action: "export.build.start", ExportID: id, PartnerID: partnerID,
			Detail: fmt.Sprintf("rows_estimated=%d", estimated)})
	})
	if err != nil {
		return nil, err
	}
	return db.Export(ctx, id, "", true)
}

// SetProgress implements export.Store.
func (db *DB) SetProgress(ctx context.Context, id string, written int64) (err error) {
	defer export.Wrap(&err, "DB.SetProgress(%s)", id)
	_, err = db.db.ExecContext(ctx, `UPDATE exports SET rows_written = ?, updated_at = ? WHERE id = ? AND state = ?`,
		written, formatTime(db.now()), id, string(export.StateBuilding))
	return err
}

// FinishBuild implements export.Store.
func (db *DB) FinishBuild(ctx context.Context, id string, r export.BuildResult) (err error) {
	defer export.Wrap(&err, "DB.FinishBuild(%s)", id)
	files, err := json.Marshal(r.Files)
	if err != nil {
		return err
	}
	var rows int64
	for _, f := range r.Files {
		rows += f.Rows
	}
	return db.transition(ctx, id, []export.State{export.StateBuilding}, export.StateReady, "export.build.ready",
		fmt.Sprintf("files=%d rows=%d", len(r.Files), rows),
		// Once built, the estimate gives way to the actual count.
		`files_json = ?, rows_written = ?, rows_estimated = ?, ready_at = ?, expires_at = ?`, string(files), rows, rows, formatTime(r.ReadyAt), formatTime(r.ExpiresAt))
}

// FailBuild implements export.Store.
func (db *DB) FailBuild(ctx context.Context, id, message string) (err error) {
	defer export.Wrap(&err, "DB.FailBuild(%s)", id)
	return db.transition(ctx, id, []export.State{export.StateBuilding, export.StateQueued}, export.StateFailed, "export.build.fail",
		message, `error = ?`, message)
}

// ExpireDue implements export.Store.
func (db *DB) ExpireDue(ctx context.Context, now time.Time) (ids []string, err error) {
	defer export.Wrap(&err, "DB.ExpireDue")
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, partner_id FROM exports WHERE state = ? AND expires_at != '' AND expires_at <= ? ORDER BY id`,
			string(export.StateReady), formatTime(now))
		if err != nil {
			return err
		}
		var partners []string
		for rows.Next() {
			var id, partner string
			if err := rows.Scan(&id, &partner); err != nil {
				rows.Close()
				return err
			}
			ids, partners = append(ids, id), append(partners, partner)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE exports SET state = ?, updated_at = ? WHERE id = ?`, string(export.StateExpired), formatTime(now), id); err != nil {
				return err
			}
			if err := db.audit(ctx, tx, export.AuditEntry{At: now, PrincipalID: "system", Action: "export.expire", ExportID: id, PartnerID: partners[i]}); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

// MarkFilesDeleted implements export.Store.
func (db *DB) MarkFilesDeleted(ctx context.Context, id string, at time.Time) (err error) {
	defer export.Wrap(&err, "DB.MarkFilesDeleted(%s)", id)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var partnerID, deleted string
		err := tx.QueryRowContext(ctx, `SELECT partner_id, files_deleted_at FROM exports WHERE id = ?`, id).Scan(&partnerID, &deleted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil // a directory a crash left without its export
		case err != nil:
			return err
		case deleted != "":
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE exports SET files_deleted_at = ? WHERE id = ?`, formatTime(at), id); err != nil {
			return err
		}
		return db.audit(ctx, tx, export.AuditEntry{At: at, PrincipalID: "system", Action: "export.files.delete", ExportID: id, PartnerID: partnerID})
	})
}

// startSeries makes an approved recurring request the first run of its
// series, covering the request's window up to now (its watermark).
func (db *DB) startSeries(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	var raw string
	if err := tx.QueryRowContext(ctx, `SELECT request_json FROM exports WHERE id = ?`, id).Scan(&raw); err != nil {
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
	_, err := tx.ExecContext(ctx, `UPDATE exports SET series_id = id, run = 1, window_from = ?, window_to = ? WHERE id = ?`,
		formatTime(req.From), formatTime(to), id)
	return err
}

// CreateRun implements export.Store.
func (db *DB) CreateRun(ctx context.Context, prev *export.Export, id string, to time.Time) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.CreateRun(%s)", prev.SeriesID)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// Checked again in the transaction: the series' first run must
		// still stand (not revoked) and prev must still be its latest run.
		var rootState string
		var latest int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT state FROM exports WHERE id = ?), (SELECT max(run) FROM exports WHERE series_id = ?)`,
			prev.SeriesID, prev.SeriesID).Scan(&rootState, &latest); err != nil {
			return err
		}
		if s := export.State(rootState); s != export.StateReady && s != export.StateExpired {
			return export.Errorf(export.ECONFLICT, "series %s is %s: no more runs", prev.SeriesID, s)
		}
		if latest != prev.Run {
			return export.Errorf(export.ECONFLICT, "run %d of series %s exists already", prev.Run+1, prev.SeriesID)
		}
		now := db.now()
		req, err := json.Marshal(prev.Request)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO exports (id, partner_id, requested_by, request_json, state, key_version, created_at, updated_at, series_id, run, window_from, window_to)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, prev.PartnerID, prev.RequestedBy, string(req), string(export.StateSubmitted), prev.KeyVersion, formatTime(now), formatTime(now),
			prev.SeriesID, prev.Run+1, formatTime(prev.WindowTo), formatTime(to)); err != nil {
			if isUniqueViolation(err) {
				return export.Errorf(export.ECONFLICT, "run %d of series %s exists already", prev.Run+1, prev.SeriesID)
			}
			return err
		}
		// The series' approvals carry over to each run: the reviewers
		// approved the recurring request, not one run of it.
		if _, err := tx.ExecContext(ctx, `INSERT INTO decisions (export_id, reviewer_id, approved, reason, at)
			SELECT ?, reviewer_id, approved, reason, at FROM decisions WHERE export_id = ? AND approved = 1`, id, prev.SeriesID); err != nil {
			return err
		}
		if err := db.audit(ctx, tx, export.AuditEntry{PrincipalID: "system", Action: "export.recur", ExportID: id, PartnerID: prev.PartnerID,
			Detail: fmt.Sprintf("series=%s run=%d window=%s..%s", prev.SeriesID, prev.Run+1, formatTime(prev.WindowTo), formatTime(to))}); err != nil {
			return err
		}
		if err := db.setState(ctx, tx, id, export.StateApproved, now, ""); err != nil {
			return err
		}
		return db.queue(ctx, tx, id, prev.PartnerID, "system", "")
	})
	if err != nil {
		return nil, err
	}
	return db.Export(ctx, id, "", true)
}
