package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/rexport/rexport/export"
)

// SetEnqueuer sets the function that inserts an approved export's build job
// inside the approval transaction. Without one, Decide refuses approvals:
// an approval that builds nothing would be a silent failure.
func (db *DB) SetEnqueuer(fn func(ctx context.Context, tx *sql.Tx, exportID string) error) {
	db.enqueue = fn
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// CreatePartner implements export.Store.
func (db *DB) CreatePartner(ctx context.Context, p export.Partner, by string) (err error) {
	defer export.Wrap(&err, "DB.CreatePartner(%s)", p.ID)
	dua, err := json.Marshal(p.DUA)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO partners (id, name, dua_json, created_at) VALUES (?, ?, ?, ?)`,
			p.ID, p.Name, string(dua), formatTime(db.now())); err != nil {
			if isUniqueViolation(err) {
				return export.Errorf(export.ECONFLICT, "partner %s already exists", p.ID)
			}
			return err
		}
		for _, c := range p.Courses {
			if _, err := tx.ExecContext(ctx, `INSERT INTO partner_courses (course_id, partner_id) VALUES (?, ?)`, c, p.ID); err != nil {
				if isUniqueViolation(err) {
					return export.Errorf(export.ECONFLICT, "course %s already belongs to a partner", c)
				}
				return err
			}
		}
		return db.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "partner.create", PartnerID: p.ID,
			Detail: "courses=" + strings.Join(p.Courses, ",") + " dua=" + string(dua)})
	})
}

// Partner implements export.Store.
func (db *DB) Partner(ctx context.Context, id string) (_ export.Partner, err error) {
	defer export.Wrap(&err, "DB.Partner(%s)", id)
	ps, err := db.partners(ctx, `WHERE id = ?`, id)
	if err != nil {
		return export.Partner{}, err
	}
	if len(ps) == 0 {
		return export.Partner{}, export.Errorf(export.ENOTFOUND, "partner %s not found", id)
	}
	return ps[0], nil
}

// Partners implements export.Store.
func (db *DB) Partners(ctx context.Context) (_ []export.Partner, err error) {
	defer export.Wrap(&err, "DB.Partners")
	return db.partners(ctx, "")
}

func (db *DB) partners(ctx context.Context, where string, args ...any) ([]export.Partner, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, name, dua_json, created_at FROM partners `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	var out []export.Partner
	for rows.Next() {
		var p export.Partner
		var dua, created string
		if err := rows.Scan(&p.ID, &p.Name, &dua, &created); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(dua), &p.DUA); err != nil {
			rows.Close()
			return nil, err
		}
		if p.CreatedAt, err = parseTime(created); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Courses, err = db.strings(ctx, `SELECT course_id FROM partner_courses WHERE partner_id = ? ORDER BY course_id`, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (db *DB) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CreatePrincipal implements export.Store.
func (db *DB) CreatePrincipal(ctx context.Context, p export.Principal, tokenHash []byte, by string) (err error) {
	defer export.Wrap(&err, "DB.CreatePrincipal(%s)", p.ID)
	if p.Role.NeedsPartner() != (p.PartnerID != "") {
		return export.Errorf(export.EINVALID, "partner: a %s principal %s a partner", p.Role,
			map[bool]string{true: "needs", false: "must not have"}[p.Role.NeedsPartner()])
	}
	var partner any
	if p.PartnerID != "" {
		partner = p.PartnerID
		if _, err := db.Partner(ctx, p.PartnerID); err != nil {
			return err
		}
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO principals (id, name, role, partner_id, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ID, p.Name, string(p.Role), partner, tokenHash, formatTime(db.now())); err != nil {
			if isUniqueViolation(err) {
				return export.Errorf(export.ECONFLICT, "principal %s already exists", p.ID)
			}
			return err
		}
		return db.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "principal.create", PartnerID: p.PartnerID,
			Detail: "principal=" + p.ID + " role=" + string(p.Role)})
	})
}

// PrincipalByTokenHash implements export.Store.
func (db *DB) PrincipalByTokenHash(ctx context.Context, tokenHash []byte) (_ export.Principal, err error) {
	defer export.Wrap(&err, "DB.PrincipalByTokenHash")
	var p export.Principal
	var role, created string
	var partner sql.NullString
	err = db.db.QueryRowContext(ctx, `SELECT id, name, role, partner_id, created_at FROM principals WHERE token_hash = ?`, tokenHash).
		Scan(&p.ID, &p.Name, &role, &partner, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return p, export.Errorf(export.EUNAUTHENTICATED, "invalid token")
	} else if err != nil {
		return p, err
	}
	p.Role, p.PartnerID = export.Role(role), partner.String
	p.CreatedAt, err = parseTime(created)
	return p, err
}

// CountPrincipals implements export.Store.
func (db *DB) CountPrincipals(ctx context.Context, role export.Role) (n int, err error) {
	defer export.Wrap(&err, "DB.CountPrincipals")
	err = db.db.QueryRowContext(ctx, `SELECT count(*) FROM principals WHERE role = ?`, string(role)).Scan(&n)
	return n, err
}

// Audit implements export.Store.
func (db *DB) Audit(ctx context.Context, e export.AuditEntry) (err error) {
	defer export.Wrap(&err, "DB.Audit(%s)", e.Action)
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.audit(ctx, tx, e) })
}

// audit appends an entry, chained to the previous entry's hash, in tx.
func (db *DB) audit(ctx context.Context, tx *sql.Tx, e export.AuditEntry) error {
	var prev string
	err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if e.At.IsZero() {
		e.At = db.now()
	}
	at := formatTime(e.At)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (at, principal_id, action, export_id, partner_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		at, e.PrincipalID, e.Action, e.ExportID, e.PartnerID, e.Detail, prev, AuditHash(prev, at, e))
	return err
}

// AuditHash is the chained hash of an audit entry: SHA-256 over the
// previous hash and the entry's fields, JSON-encoded so no two different
// entries encode alike.
func AuditHash(prev, at string, e export.AuditEntry) string {
	b, _ := json.Marshal([]string{prev, at, e.PrincipalID, e.Action, e.ExportID, e.PartnerID, e.Detail})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// AuditLog implements export.Store.
func (db *DB) AuditLog(ctx context.Context, exportID string) (_ []export.AuditEntry, err error) {
	defer export.Wrap(&err, "DB.AuditLog")
	q := `SELECT id, at, principal_id, action, export_id, partner_id, detail FROM audit_log`
	var args []any
	if exportID != "" {
		q += ` WHERE export_id = ?`
		args = append(args, exportID)
	}
	rows, err := db.db.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []export.AuditEntry
	for rows.Next() {
		var e export.AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.PrincipalID, &e.Action, &e.ExportID, &e.PartnerID, &e.Detail); err != nil {
			return nil, err
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyAudit recomputes the hash chain and returns the id of the first
// entry that does not match (0 if the log is intact) and the number of
// entries checked.
func (db *DB) VerifyAudit(ctx context.Context) (badID int64, n int, err error) {
	defer export.Wrap(&err, "DB.VerifyAudit")
	rows, err := db.db.QueryContext(ctx, `SELECT id, at, principal_id, action, export_id, partner_id, detail, prev_hash, hash FROM audit_log ORDER BY id`)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	prev := ""
	for rows.Next() {
		var e export.AuditEntry
		var at, prevHash, hash string
		if err := rows.Scan(&e.ID, &at, &e.PrincipalID, &e.Action, &e.ExportID, &e.PartnerID, &e.Detail, &prevHash, &hash); err != nil {
			return 0, n, err
		}
		n++
		if prevHash != prev || AuditHash(prev, at, e) != hash {
			return e.ID, n, nil
		}
		prev = hash
	}
	return 0, n, rows.Err()
}

// KeyVersion implements export.Store.
func (db *DB) KeyVersion(ctx context.Context) (v int, err error) {
	defer export.Wrap(&err, "DB.KeyVersion")
	err = db.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 1) FROM key_versions`).Scan(&v)
	return v, err
}

// RotateKey starts a new pseudonym key version for exports approved from
// now on and returns it.
func (db *DB) RotateKey(ctx context.Context, by string) (v int, err error) {
	defer export.Wrap(&err, "DB.RotateKey")
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) + 1 FROM key_versions`).Scan(&v); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_versions (version, created_at) VALUES (?, ?)`, v, formatTime(db.now())); err != nil {
			return err
		}
		return db.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "key.rotate", Detail: "version=" + strconv.Itoa(v)})
	})
	return v, err
}
