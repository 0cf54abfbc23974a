package sqlstore

import (
	"context"
	"fmt"
)

// What the tests of package sqlstore_test see of the audit chain's
// internals.

// StoredAudit is an audit entry with its time as stored, as hashed.
type StoredAudit = storedAudit

// ReadAudit returns the stored audit log of db, a backend's DB (which
// embeds a *Store), and its head.
func ReadAudit(ctx context.Context, db any) (log []StoredAudit, headID int64, headHash string, err error) {
	r, ok := db.(interface {
		readAudit(context.Context) ([]storedAudit, auditHead, error)
	})
	if !ok {
		return nil, 0, "", fmt.Errorf("%T does not embed a *sqlstore.Store", db)
	}
	log, h, err := r.readAudit(ctx)
	return log, h.id, h.hash, err
}

// VerifyChain checks log, in id order, against the chain and the head.
func VerifyChain(log []StoredAudit, headID int64, headHash string) *AuditProblem {
	return verifyChain(log, auditHead{headID, headHash})
}

// VerifyChainFrom checks log as the continuation of a chain whose last
// entry had id prevID and hash prev.
func VerifyChainFrom(prevID int64, prev string, log []StoredAudit, headID int64, headHash string) *AuditProblem {
	return verifyChainFrom(auditHead{prevID, prev}, log, auditHead{headID, headHash})
}

// Raw returns the querier the store of db (a backend's DB) runs its
// statements on, for raw SQL: ? placeholders on every backend, and
// several statements in one call without arguments.
func Raw(db any) (Querier, error) {
	r, ok := db.(interface{ raw() Querier })
	if !ok {
		return nil, fmt.Errorf("%T does not embed a *sqlstore.Store", db)
	}
	return r.raw(), nil
}

func (s *Store[TTx]) raw() Querier { return s.db }
