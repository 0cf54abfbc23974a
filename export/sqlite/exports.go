package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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

const exportColumns = `id, partner_id, requested_by, request_json, state, key_version, rows_written, rows_estimated, files_json, error, created_at, updated_at, ready_at, expires_at`

type scanner interface{ Scan(dest ...any) error }

func scanExport(s scanner) (*export.Export, error) {
	var e export.Export
	var req, state, files, created, updated, ready, expires string
	if err := s.Scan(&e.ID, &e.PartnerID, &e.RequestedBy, &req, &state, &e.KeyVersion, &e.Progress.RowsWritten, &e.Progress.RowsEstimated,
		&files, &e.Error, &created, &updated, &ready, &expires); err != nil {
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
		WHERE (? OR partner_id = ?) AND (? = '' OR state = ?)
		ORDER BY created_at DESC, id DESC LIMIT ?`,
		f.AllPartners, f.PartnerID, string(f.State), string(f.State), f.Limit)
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
func (db *DB) Decide(ctx context.Context, id string, d export.Decision) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.Decide(%s)", id)
	if d.Approved && db.enqueue == nil {
		return nil, errors.New("no job queue configured: refusing an approval that would build nothing")
	}
	next, action := export.StateRejected, "export.reject"
	if d.Approved {
		next, action = export.StateApproved, "export.approve"
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var partnerID string
		err := tx.QueryRowContext(ctx, `SELECT partner_id FROM exports WHERE id = ?`, id).Scan(&partnerID)
		if errors.Is(err, sql.ErrNoRows) {
			return export.Errorf(export.ENOTFOUND, "export %s not found", id)
		} else if err != nil {
			return err
		}
		var keyVersion int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 1) FROM key_versions`).Scan(&keyVersion); err != nil {
			return err
		}
		// The state check is in the UPDATE, so two reviewers racing cannot
		// both decide.
		res, err := tx.ExecContext(ctx, `UPDATE exports SET state = ?, key_version = ?, updated_at = ? WHERE id = ? AND state = ?`,
			string(next), keyVersion, formatTime(d.At), id, string(export.StateSubmitted))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return export.Errorf(export.ECONFLICT, "export %s is not awaiting review", id)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO decisions (export_id, reviewer_id, approved, reason, at) VALUES (?, ?, ?, ?, ?)`,
			id, d.ReviewerID, d.Approved, d.Reason, formatTime(d.At)); err != nil {
			return err
		}
		detail := "reason=" + d.Reason
		if d.Approved {
			detail = fmt.Sprintf("key_version=%d", keyVersion)
			if err := db.enqueue(ctx, tx, id); err != nil {
				return fmt.Errorf("enqueue build: %w", err)
			}
		}
		return db.audit(ctx, tx, export.AuditEntry{At: d.At, PrincipalID: d.ReviewerID, Action: action, ExportID: id, PartnerID: partnerID, Detail: detail})
	})
	if err != nil {
		return nil, err
	}
	return db.Export(ctx, id, "", true)
}

// transition moves an export from one of the states in from to next,
// setting the extra columns, and audits it; ECONFLICT if it was in none.
func (db *DB) transition(ctx context.Context, id string, from []export.State, next export.State, action, detail, set string, args ...any) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var partnerID, state string
		err := tx.QueryRowContext(ctx, `SELECT partner_id, state FROM exports WHERE id = ?`, id).Scan(&partnerID, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return export.Errorf(export.ENOTFOUND, "export %s not found", id)
		} else if err != nil {
			return err
		}
		ok := false
		for _, s := range from {
			ok = ok || export.State(state) == s
		}
		if !ok {
			return export.Errorf(export.ECONFLICT, "export %s is %s", id, state)
		}
		q := `UPDATE exports SET state = ?, updated_at = ?`
		if set != "" {
			q += ", " + set
		}
		all := append([]any{string(next), formatTime(db.now())}, args...)
		if _, err := tx.ExecContext(ctx, q+` WHERE id = ?`, append(all, id)...); err != nil {
			return err
		}
		if action == "" {
			return nil
		}
		return db.audit(ctx, tx, export.AuditEntry{PrincipalID: "system", Action: action, ExportID: id, PartnerID: partnerID, Detail: detail})
	})
}

// StartBuild implements export.Store.
func (db *DB) StartBuild(ctx context.Context, id string, estimated int64) (_ *export.Export, err error) {
	defer export.Wrap(&err, "DB.StartBuild(%s)", id)
	err = db.transition(ctx, id, []export.State{export.StateApproved, export.StateBuilding, export.StateFailed}, export.StateBuilding,
		"export.build.start", fmt.Sprintf("rows_estimated=%d", estimated),
		`rows_estimated = ?, rows_written = 0, error = ''`, estimated)
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
	return db.transition(ctx, id, []export.State{export.StateBuilding, export.StateApproved}, export.StateFailed, "export.build.fail",
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
