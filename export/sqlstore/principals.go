package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/rexport/rexport/export"
)

// queryAll runs query on q and reads every row with scan. The rows are
// closed when it returns, so that the caller may query again (SQLite's pool
// has one connection).
func queryAll[T any](ctx context.Context, q Querier, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanString(r Row) (s string, err error) {
	err = r.Scan(&s)
	return s, err
}

// CreatePartner implements export.Store.
func (s *Store[TTx]) CreatePartner(ctx context.Context, p export.Partner, by string) (err error) {
	defer export.Wrap(&err, "DB.CreatePartner(%s)", p.ID)
	dua, err := json.Marshal(p.DUA)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx[TTx]) error {
		if err := tx.Exec(ctx, `INSERT INTO partners (id, name, dua_json, created_at, age_recipient) VALUES (?, ?, ?, ?, ?)`,
			p.ID, p.Name, string(dua), formatTime(s.now()), p.AgeRecipient); err != nil {
			if s.d.IsUniqueViolation(err) {
				return export.Errorf(export.ECONFLICT, "partner %s already exists", p.ID)
			}
			return err
		}
		for _, c := range p.Courses {
			if err := tx.Exec(ctx, `INSERT INTO partner_courses (course_id, partner_id) VALUES (?, ?)`, c, p.ID); err != nil {
				if s.d.IsUniqueViolation(err) {
					return export.Errorf(export.ECONFLICT, "course %s already belongs to a partner", c)
				}
				return err
			}
		}
		detail := "courses=" + strings.Join(p.Courses, ",") + " dua=" + string(dua)
		if p.AgeRecipient != "" {
			detail += " age_recipient=" + p.AgeRecipient
		}
		return s.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "partner.create", PartnerID: p.ID, Detail: detail})
	})
}

// Partner implements export.Store.
func (s *Store[TTx]) Partner(ctx context.Context, id string) (_ export.Partner, err error) {
	defer export.Wrap(&err, "DB.Partner(%s)", id)
	ps, err := s.partners(ctx, `WHERE id = ?`, id)
	if err != nil {
		return export.Partner{}, err
	}
	if len(ps) == 0 {
		return export.Partner{}, export.Errorf(export.ENOTFOUND, "partner %s not found", id)
	}
	return ps[0], nil
}

// Partners implements export.Store.
func (s *Store[TTx]) Partners(ctx context.Context) (_ []export.Partner, err error) {
	defer export.Wrap(&err, "DB.Partners")
	return s.partners(ctx, "")
}

func scanPartner(r Row) (export.Partner, error) {
	var p export.Partner
	var dua, created string
	if err := r.Scan(&p.ID, &p.Name, &dua, &created, &p.AgeRecipient); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(dua), &p.DUA); err != nil {
		return p, err
	}
	var err error
	p.CreatedAt, err = parseTime(created)
	return p, err
}

func (s *Store[TTx]) partners(ctx context.Context, where string, args ...any) ([]export.Partner, error) {
	out, err := queryAll(ctx, s.db, scanPartner, `SELECT id, name, dua_json, created_at, age_recipient FROM partners `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Courses, err = queryAll(ctx, s.db, scanString, `SELECT course_id FROM partner_courses WHERE partner_id = ? ORDER BY course_id`, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreatePrincipal implements export.Store.
func (s *Store[TTx]) CreatePrincipal(ctx context.Context, p export.Principal, tokenHash []byte, by string) (err error) {
	defer export.Wrap(&err, "DB.CreatePrincipal(%s)", p.ID)
	if p.Role.NeedsPartner() != (p.PartnerID != "") {
		return export.Errorf(export.EINVALID, "partner: a %s principal %s a partner", p.Role,
			map[bool]string{true: "needs", false: "must not have"}[p.Role.NeedsPartner()])
	}
	var partner any
	if p.PartnerID != "" {
		partner = p.PartnerID
		if _, err := s.Partner(ctx, p.PartnerID); err != nil {
			return err
		}
	}
	return s.inTx(ctx, func(tx Tx[TTx]) error {
		if err := tx.Exec(ctx, `INSERT INTO principals (id, name, role, partner_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Name, string(p.Role), partner, tokenHash, formatTime(s.now()), formatTime(p.ExpiresAt)); err != nil {
			if s.d.IsUniqueViolation(err) {
				return export.Errorf(export.ECONFLICT, "principal %s already exists", p.ID)
			}
			return err
		}
		return s.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "principal.create", PartnerID: p.PartnerID,
			Detail: "principal=" + p.ID + " role=" + string(p.Role) + " expires=" + formatTime(p.ExpiresAt)})
	})
}

const principalColumns = `id, name, role, partner_id, created_at, expires_at, revoked_at, last_used_at`

func scanPrincipal(r Row) (export.Principal, error) {
	var p export.Principal
	var role, created, expires, revoked, used string
	var partner sql.NullString
	if err := r.Scan(&p.ID, &p.Name, &role, &partner, &created, &expires, &revoked, &used); err != nil {
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
func (s *Store[TTx]) PrincipalByTokenHash(ctx context.Context, tokenHash []byte) (_ export.Principal, err error) {
	defer export.Wrap(&err, "DB.PrincipalByTokenHash")
	p, err := scanPrincipal(s.db.QueryRow(ctx, `SELECT `+principalColumns+` FROM principals WHERE token_hash = ?`, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return p, export.Errorf(export.EUNAUTHENTICATED, "invalid token")
	}
	return p, err
}

// Principal implements export.Store.
func (s *Store[TTx]) Principal(ctx context.Context, id string) (_ export.Principal, err error) {
	defer export.Wrap(&err, "DB.Principal(%s)", id)
	p, err := scanPrincipal(s.db.QueryRow(ctx, `SELECT `+principalColumns+` FROM principals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, export.Errorf(export.ENOTFOUND, "principal %s not found", id)
	}
	return p, err
}

// Principals implements export.Store.
func (s *Store[TTx]) Principals(ctx context.Context) (_ []export.Principal, err error) {
	defer export.Wrap(&err, "DB.Principals")
	return queryAll(ctx, s.db, scanPrincipal, `SELECT `+principalColumns+` FROM principals ORDER BY created_at, id`)
}

// RevokePrincipal implements export.Store.
func (s *Store[TTx]) RevokePrincipal(ctx context.Context, id, by string) (err error) {
	defer export.Wrap(&err, "DB.RevokePrincipal(%s)", id)
	return s.inTx(ctx, func(tx Tx[TTx]) error {
		var partner sql.NullString
		var revoked string
		err := tx.QueryRow(ctx, `SELECT partner_id, revoked_at FROM principals WHERE id = ?`+s.d.ForUpdate, id).Scan(&partner, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return export.Errorf(export.ENOTFOUND, "principal %s not found", id)
		} else if err != nil {
			return err
		}
		if revoked != "" {
			return export.Errorf(export.ECONFLICT, "principal %s was already revoked", id)
		}
		if err := tx.Exec(ctx, `UPDATE principals SET revoked_at = ? WHERE id = ?`, formatTime(s.now()), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, export.AuditEntry{PrincipalID: by, Action: "principal.revoke", PartnerID: partner.String, Detail: "principal=" + id})
	})
}

// TouchPrincipal implements export.Store.
func (s *Store[TTx]) TouchPrincipal(ctx context.Context, id string, at time.Time) (err error) {
	defer export.Wrap(&err, "DB.TouchPrincipal(%s)", id)
	return s.db.Exec(ctx, `UPDATE principals SET last_used_at = ? WHERE id = ?`, formatTime(at), id)
}

// CountPrincipals implements export.Store.
func (s *Store[TTx]) CountPrincipals(ctx context.Context, role export.Role) (n int, err error) {
	defer export.Wrap(&err, "DB.CountPrincipals")
	err = s.db.QueryRow(ctx, `SELECT count(*) FROM principals WHERE role = ?`, string(role)).Scan(&n)
	return n, err
}

// KeyVersion implements export.Store.
func (s *Store[TTx]) KeyVersion(ctx context.Context) (v int, err error) {
	defer export.Wrap(&err, "DB.KeyVersion")
	err = s.db.QueryRow(ctx, `SELECT coalesce(max(version), 1) FROM key_versions`).Scan(&v)
	return v, err
}

// RotateKey starts a new pseudonym key version for exports approved from
// now on and returns it.
func (s *Store[TTx]) RotateKey(ctx context.Context, by string) (v int, err error) {
	defer export.Wrap(&err, "DB.RotateKey")
	err = s.inTx(ctx, func(tx Tx[TTx]) error {
		// The audit head first: two rotations at once take turns on it, so
		// the second numbers its version after the first's.
		head, err := s.lockAuditHead(ctx, tx)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM key_versions`).Scan(&v); err != nil {
			return err
		}
		if err := tx.Exec(ctx, `INSERT INTO key_versions (version, created_at) VALUES (?, ?)`, v, formatTime(s.now())); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, head, export.AuditEntry{PrincipalID: by, Action: "key.rotate", Detail: "version=" + strconv.Itoa(v)})
	})
	return v, err
}
