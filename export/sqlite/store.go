package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rexport/rexport/export"
)

// SetEnqueuer sets the function that inserts an approved export's build job
// inside the approval transaction. Without one, Decide refuses approvals:
// an approval that builds nothing would be a silent failure.
func (db *DB) SetEnqueuer(fn func(ctx context.Context, tx *sql.Tx, exportID string, generation int) error) {
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO partners (id, name, dua_json, created_at, age_recipient) VALUES (?, ?, ?, ?, ?)`,
			p.ID, p.Name, string(dua), formatTime(db.now()), p.AgeRecipient); err != nil {
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
		detail := "courses=" + strings.Join(p.Courses, ",") + " dua=" + string(dua)
		if p.AgeRecipient != "" {
			detail += " age_recipient=" + p.AgeRecipient
		}
		return db.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "partner.create", PartnerID: p.ID, Detail: detail})
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
	rows, err := db.db.QueryContext(ctx, `SELECT id, name, dua_json, created_at, age_recipient FROM partners `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	var out []export.Partner
	for rows.Next() {
		var p export.Partner
		var dua, created string
		if err := rows.Scan(&p.ID, &p.Name, &dua, &created, &p.AgeRecipient); err != nil {
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO principals (id, name, role, partner_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Name, string(p.Role), partner, tokenHash, formatTime(db.now()), formatTime(p.ExpiresAt)); err != nil {
			if isUniqueViolation(err) {
				return export.Errorf(export.ECONFLICT, "principal %s already exists", p.ID)
			}
			return err
		}
		return db.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "principal.create", PartnerID: p.PartnerID,
			Detail: "principal=" + p.ID + " role=" + string(p.Role) + " expires=" + formatTime(p.ExpiresAt)})
	})
}

const principalColumns = `id, name, role, partner_id, created_at, expires_at, revoked_at, last_used_at`

func scanPrincipal(s scanner) (export.Principal, error) {
	var p export.Principal
	var role, created, expires, revoked, used string
	var partner sql.NullString
	if err := s.Scan(&p.ID, &p.Name, &role, &partner, &created, &expires, &revoked, &used); err != nil {
		return p, err
	}
	p.Role, p.PartnerID = export.Role(role), partner.String
	var err error
	for _, f := range []struct {
		dst *time.Time
		s   string
	}{{&p.CreatedAt, created}, {&p.ExpiresAt, expires}, {&p.RevokedAt, revoked}, {&p.LastUsedAt, used}} {
		if *f.dst, err = parseTime(f.s); err != nil {
			return p, err
		}
	}
	return p, nil
}

// PrincipalByTokenHash implements export.Store.
func (db *DB) PrincipalByTokenHash(ctx context.Context, tokenHash []byte) (_ export.Principal, err error) {
	defer export.Wrap(&err, "DB.PrincipalByTokenHash")
	p, err := scanPrincipal(db.db.QueryRowContext(ctx, `SELECT `+principalColumns+` FROM principals WHERE token_hash = ?`, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return p, export.Errorf(export.EUNAUTHENTICATED, "invalid token")
	}
	return p, err
}

// Principal implements export.Store.
func (db *DB) Principal(ctx context.Context, id string) (_ export.Principal, err error) {
	defer export.Wrap(&err, "DB.Principal(%s)", id)
	p, err := scanPrincipal(db.db.QueryRowContext(ctx, `SELECT `+principalColumns+` FROM principals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, export.Errorf(export.ENOTFOUND, "principal %s not found", id)
	}
	return p, err
}

// Principals implements export.Store.
func (db *DB) Principals(ctx context.Context) (_ []export.Principal, err error) {
	defer export.Wrap(&err, "DB.Principals")
	rows, err := db.db.QueryContext(ctx, `SELECT `+principalColumns+` FROM principals ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []export.Principal
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RevokePrincipal implements export.Store.
func (db *DB) RevokePrincipal(ctx context.Context, id, by string) (err error) {
	defer export.Wrap(&err, "DB.RevokePrincipal(%s)", id)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var partner sql.NullString
		var revoked string
		err := tx.QueryRowContext(ctx, `SELECT partner_id, revoked_at FROM principals WHERE id = ?`, id).Scan(&partner, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return export.Errorf(export.ENOTFOUND, "principal %s not found", id)
		} else if err != nil {
			return err
		}
		if revoked != "" {
			return export.Errorf(export.ECONFLICT, "principal %s was already revoked", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE principals SET revoked_at = ? WHERE id = ?`, formatTime(db.now()), id); err != nil {
			return err
		}
		return db.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "principal.revoke", PartnerID: partner.String, Detail: "principal=" + id})
	})
}

// TouchPrincipal implements export.Store.
func (db *DB) TouchPrincipal(ctx context.Context, id string, at time.Time) (err error) {
	defer export.Wrap(&err, "DB.TouchPrincipal(%s)", id)
	_, err = db.db.ExecContext(ctx, `UPDATE principals SET last_used_at = ? WHERE id = ?`, formatTime(at), id)
	return err
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

// audit appends an entry in tx: its id follows the head's, and its hash
// chains to the head's hash. The head moves in the same transaction.
func (db *DB) audit(ctx context.Context, tx *sql.Tx, e export.AuditEntry) error {
	var lastID int64
	var prev string
	err := tx.QueryRowContext(ctx, `SELECT last_id, hash FROM audit_head WHERE singleton = 1`).Scan(&lastID, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if e.At.IsZero() {
		e.At = db.now()
	}
	at := formatTime(e.At)
	id, hash := lastID+1, AuditHash(prev, at, e)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, principal_id, action, export_id, partner_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, at, e.PrincipalID, e.Action, e.ExportID, e.PartnerID, e.Detail, prev, hash); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_head (singleton, last_id, hash) VALUES (1, ?, ?)
		ON CONFLICT (singleton) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash`, id, hash)
	return err
}

// AuditHash is the chained hash of an audit entry: SHA-256 over the
// previous hash and the entry's fields, JSON-encoded so no two different
// entries encode alike.
func AuditHash(prev, at string, e export.AuditEntry) string {
	fields := []any{prev, at, e.PrincipalID, e.Action, e.ExportID, e.PartnerID, e.Detail}
	for i, f := range fields {
		// JSON writes every byte that is not UTF-8 as U+FFFD, so fields
		// that differ only in such bytes would encode alike: those are
		// encoded as their bytes instead, in an object no string encodes
		// as. Valid fields keep the encoding they always had.
		if s := f.(string); !utf8.ValidString(s) {
			fields[i] = map[string][]byte{"bytes": []byte(s)}
		}
	}
	b, _ := json.Marshal(fields)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

const auditColumns = `id, at, principal_id, action, export_id, partner_id, detail, prev_hash, hash`

func scanAudit(s scanner) (export.AuditEntry, string, error) {
	var e export.AuditEntry
	var at string
	if err := s.Scan(&e.ID, &at, &e.PrincipalID, &e.Action, &e.ExportID, &e.PartnerID, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
		return e, "", err
	}
	var err error
	e.At, err = parseTime(at)
	return e, at, err
}

// AuditLog implements export.Store.
func (db *DB) AuditLog(ctx context.Context, exportID string) (_ []export.AuditEntry, err error) {
	defer export.Wrap(&err, "DB.AuditLog")
	return db.auditQuery(ctx, `WHERE ? = '' OR export_id = ? ORDER BY id`, exportID, exportID)
}

// AuditPage implements export.Store.
func (db *DB) AuditPage(ctx context.Context, afterID int64, limit int) (_ []export.AuditEntry, err error) {
	defer export.Wrap(&err, "DB.AuditPage")
	return db.auditQuery(ctx, `WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
}

func (db *DB) auditQuery(ctx context.Context, where string, args ...any) ([]export.AuditEntry, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []export.AuditEntry
	for rows.Next() {
		e, _, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditProblem is the first entry of the audit log that fails verification.
type AuditProblem struct {
	ID     int64 // the entry named; for entries missing from the end, the last one present
	Reason string
}

// VerifyAudit recomputes the hash chain: each entry must follow the previous
// one's id, carry its hash as prev_hash, and hash to its own hash; the last
// entry must be the one the head records. It returns the first problem (nil
// if the log is intact), the number of entries checked and the head hash,
// which an operator may record elsewhere to anchor the log.
func (db *DB) VerifyAudit(ctx context.Context) (problem *AuditProblem, n int, head string, err error) {
	defer export.Wrap(&err, "DB.VerifyAudit")
	var headID int64
	err = db.db.QueryRowContext(ctx, `SELECT last_id, hash FROM audit_head WHERE singleton = 1`).Scan(&headID, &head)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, 0, "", err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY id`)
	if err != nil {
		return nil, 0, "", err
	}
	defer rows.Close()
	var log []rawAudit
	for rows.Next() {
		e, at, err := scanAudit(rows)
		if err != nil {
			return nil, 0, head, err
		}
		log = append(log, rawAudit{AuditEntry: e, at: at})
	}
	if err := rows.Err(); err != nil {
		return nil, 0, head, err
	}
	return verifyChain(log, headID, head), len(log), head, nil
}

// rawAudit is an audit entry with its time as stored, as hashed.
type rawAudit struct {
	export.AuditEntry
	at string
}

// verifyChain checks entries in id order against the chain and the head.
func verifyChain(log []rawAudit, headID int64, headHash string) *AuditProblem {
	return verifyChainFrom(0, "", log, headID, headHash)
}

// verifyChainFrom checks log as the continuation of a chain whose last
// entry had id prevID and hash prev (0 and "" for the whole log).
func verifyChainFrom(prevID int64, prev string, log []rawAudit, headID int64, headHash string) *AuditProblem {
	for _, e := range log {
		switch {
		case e.ID != prevID+1:
			return &AuditProblem{ID: e.ID, Reason: fmt.Sprintf("follows entry %d: entries are missing or were inserted", prevID)}
		case e.PrevHash != prev:
			return &AuditProblem{ID: e.ID, Reason: "its previous hash does not match the entry before it"}
		case AuditHash(prev, e.at, e.AuditEntry) != e.Hash:
			return &AuditProblem{ID: e.ID, Reason: "its content does not match its hash"}
		}
		prevID, prev = e.ID, e.Hash
	}
	if prevID != headID || prev != headHash {
		return &AuditProblem{ID: prevID, Reason: fmt.Sprintf("the log ends at entry %d but its head records entry %d: entries were removed or added at the end", prevID, headID)}
	}
	return nil
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
