package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/rexport/rexport/export"
)

// Audit implements export.Store.
func (s *Store[TTx]) Audit(ctx context.Context, e export.AuditEntry) (err error) {
	defer export.Wrap(&err, "DB.Audit(%s)", e.Action)
	return s.inTx(ctx, func(tx Tx[TTx]) error { return s.audit(ctx, tx, e) })
}

// auditHead is the last entry of the audit log as its head records it.
type auditHead struct {
	id   int64
	hash string
}

// lockAuditHead reads the head in tx and, where the dialect locks rows,
// keeps other writers of the log waiting until tx ends: appends take turns,
// so the chain never forks and its ids have no gaps. A database without a
// head row has an empty log.
func (s *Store[TTx]) lockAuditHead(ctx context.Context, tx Querier) (auditHead, error) {
	var h auditHead
	err := tx.QueryRow(ctx, `SELECT last_id, hash FROM audit_head WHERE singleton = 1`+s.d.ForUpdate).Scan(&h.id, &h.hash)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return h, err
}

// audit appends an entry in tx.
func (s *Store[TTx]) audit(ctx context.Context, tx Querier, e export.AuditEntry) error {
	head, err := s.lockAuditHead(ctx, tx)
	if err != nil {
		return err
	}
	return s.appendAudit(ctx, tx, head, e)
}

// appendAudit appends an entry in tx, whose head is locked: its id follows
// the head's, and its hash chains to the head's hash. The head moves in the
// same transaction.
func (s *Store[TTx]) appendAudit(ctx context.Context, tx Querier, head auditHead, e export.AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	at := formatTime(e.At)
	id, hash := head.id+1, AuditHash(head.hash, at, e)
	if err := tx.Exec(ctx, `INSERT INTO audit_log (id, at, principal_id, action, export_id, partner_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, at, e.PrincipalID, e.Action, e.ExportID, e.PartnerID, s.d.rawText(e.Detail), head.hash, hash); err != nil {
		return err
	}
	return tx.Exec(ctx, `INSERT INTO audit_head (singleton, last_id, hash) VALUES (1, ?, ?)
		ON CONFLICT (singleton) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash`, id, hash)
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

// storedAudit is an audit entry with its time as stored, as hashed.
type storedAudit struct {
	export.AuditEntry
	StoredAt string
}

func scanAudit(r Row) (storedAudit, error) {
	var e storedAudit
	// The detail is any bytes (bytea in PostgreSQL), read as such.
	var detail []byte
	if err := r.Scan(&e.ID, &e.StoredAt, &e.PrincipalID, &e.Action, &e.ExportID, &e.PartnerID, &detail, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.Detail = string(detail)
	var err error
	e.At, err = parseTime(e.StoredAt)
	return e, err
}

// AuditLog implements export.Store.
func (s *Store[TTx]) AuditLog(ctx context.Context, exportID string) (_ []export.AuditEntry, err error) {
	defer export.Wrap(&err, "DB.AuditLog")
	return s.auditQuery(ctx, `WHERE ? = '' OR export_id = ? ORDER BY id`, exportID, exportID)
}

// AuditPage implements export.Store.
func (s *Store[TTx]) AuditPage(ctx context.Context, afterID int64, limit int) (_ []export.AuditEntry, err error) {
	defer export.Wrap(&err, "DB.AuditPage")
	return s.auditQuery(ctx, `WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
}

func (s *Store[TTx]) auditQuery(ctx context.Context, where string, args ...any) ([]export.AuditEntry, error) {
	return queryAll(ctx, s.db, func(r Row) (export.AuditEntry, error) {
		e, err := scanAudit(r)
		return e.AuditEntry, err
	}, `SELECT `+auditColumns+` FROM audit_log `+where, args...)
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
// which an operator may record elsewhere to anchor the log. It reads the log
// and its head as of one moment, so entries appended meanwhile are no
// problem.
func (s *Store[TTx]) VerifyAudit(ctx context.Context) (problem *AuditProblem, n int, head string, err error) {
	defer export.Wrap(&err, "DB.VerifyAudit")
	log, h, err := s.readAudit(ctx)
	if err != nil {
		return nil, 0, "", err
	}
	return verifyChain(log, h), len(log), h.hash, nil
}

// readAudit returns the stored log in id order and its head, as of one
// moment.
func (s *Store[TTx]) readAudit(ctx context.Context) (log []storedAudit, h auditHead, err error) {
	err = s.db.ReadTx(ctx, func(q Querier) error {
		err := q.QueryRow(ctx, `SELECT last_id, hash FROM audit_head WHERE singleton = 1`).Scan(&h.id, &h.hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		log, err = queryAll(ctx, q, scanAudit, `SELECT `+auditColumns+` FROM audit_log ORDER BY id`)
		return err
	})
	return log, h, err
}

// verifyChain checks entries in id order against the chain and the head.
func verifyChain(log []storedAudit, head auditHead) *AuditProblem {
	return verifyChainFrom(auditHead{}, log, head)
}

// verifyChainFrom checks log as the continuation of a chain whose last
// entry was prev (the zero auditHead for the whole log).
func verifyChainFrom(prev auditHead, log []storedAudit, head auditHead) *AuditProblem {
	for _, e := range log {
		switch {
		case e.ID != prev.id+1:
			return &AuditProblem{ID: e.ID, Reason: fmt.Sprintf("follows entry %d: entries are missing or were inserted", prev.id)}
		case e.PrevHash != prev.hash:
			return &AuditProblem{ID: e.ID, Reason: "its previous hash does not match the entry before it"}
		case AuditHash(prev.hash, e.StoredAt, e.AuditEntry) != e.Hash:
			return &AuditProblem{ID: e.ID, Reason: "its content does not match its hash"}
		}
		prev = auditHead{e.ID, e.Hash}
	}
	if prev != head {
		return &AuditProblem{ID: prev.id, Reason: fmt.Sprintf("the log ends at entry %d but its head records entry %d: entries were removed or added at the end", prev.id, head.id)}
	}
	return nil
}
