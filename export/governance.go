package export

import (
	"context"
	"strings"
	"time"
)

// checkInForce returns EFORBIDDEN unless the agreement covers now.
func (d DUA) checkInForce(now time.Time) error {
	switch {
	case !d.StartsOn.IsZero() && now.Before(d.StartsOn):
		return Errorf(EFORBIDDEN, "the partner's data-use agreement starts on %s", d.StartsOn.Format(DateLayout))
	case !d.InForce(now):
		return Errorf(EFORBIDDEN, "the partner's data-use agreement ended on %s", d.EndsOn.Format(DateLayout))
	}
	return nil
}

// NamesRecipient reports whether the agreement lets the named person
// receive data: any name when it lists none, else one it lists (case and
// surrounding space ignored).
func (d DUA) NamesRecipient(name string) bool {
	if len(d.Recipients) == 0 {
		return true
	}
	name = strings.TrimSpace(name)
	for _, r := range d.Recipients {
		if strings.EqualFold(strings.TrimSpace(r), name) {
			return true
		}
	}
	return false
}

// touchEvery throttles the last-used writes of a busy token.
const touchEvery = time.Minute

// Authenticate returns the active principal whose token this is. An
// unknown, expired or revoked token gets the same EUNAUTHENTICATED, so a
// caller learns nothing of which.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	p, err := s.Store.PrincipalByTokenHash(ctx, HashToken(token))
	if err != nil {
		if ErrorCode(err) == EUNAUTHENTICATED {
			return Principal{}, errBadToken
		}
		return Principal{}, err
	}
	now := s.now()
	if !p.Active(now) {
		return Principal{}, errBadToken
	}
	if now.Sub(p.LastUsedAt) >= touchEvery {
		if err := s.Store.TouchPrincipal(ctx, p.ID, now); err != nil {
			return Principal{}, err
		}
		p.LastUsedAt = now
	}
	return p, nil
}

var errBadToken = Errorf(EUNAUTHENTICATED, "invalid token")

// act checks and applies a principal's action on an export it can see.
func (s *Service) act(ctx context.Context, p Principal, id string, a Action, detail string) (*Export, error) {
	e, err := s.Export(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := CheckAction(p, e, a); err != nil {
		return nil, err
	}
	r := actionRules[a]
	return s.Store.Act(ctx, id, Act{By: p.ID, Action: a, From: r.from, To: r.to, Detail: detail})
}

// Cancel withdraws a request before its build starts (the requester only).
func (s *Service) Cancel(ctx context.Context, p Principal, id string) (*Export, error) {
	return s.act(ctx, p, id, ActionCancel, "")
}

// Retry queues a failed build again (reviewers and admins). The request is
// checked against the agreement again first.
func (s *Service) Retry(ctx context.Context, p Principal, id string) (*Export, error) {
	e, err := s.Export(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := CheckAction(p, e, ActionRetry); err != nil {
		return nil, err
	}
	if err := s.stillFits(ctx, e); err != nil {
		return nil, err
	}
	return s.act(ctx, p, id, ActionRetry, "")
}

// stillFits checks an export's request against its partner's agreement as
// it is now (it may have changed since submission): ECONFLICT if it no
// longer fits.
func (s *Service) stillFits(ctx context.Context, e *Export) error {
	partner, err := s.Store.Partner(ctx, e.PartnerID)
	if err != nil {
		return err
	}
	req := e.Request
	if err := ValidateRequest(&req, partner, s.now()); err != nil {
		return Errorf(ECONFLICT, "the request no longer fits the partner's agreement: %s", ErrorMessage(err))
	}
	return nil
}

// Revoke withdraws an approved export at any point after approval
// (reviewers and admins): downloads stop at once, a build in progress is
// not published, and the sweeper deletes the files.
func (s *Service) Revoke(ctx context.Context, p Principal, id, reason string) (*Export, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, Errorf(EINVALID, "reason: required when revoking")
	}
	e, err := s.act(ctx, p, id, ActionRevoke, "reason="+reason)
	if err != nil || e.SeriesID != e.ID {
		return e, err
	}
	// Revoking the first run of a recurring request revokes the request:
	// every later run that is still revocable goes too.
	runs, err := s.Store.Exports(ctx, ExportFilter{AllPartners: true, SeriesID: e.SeriesID, Limit: 100000})
	if err != nil {
		return e, err
	}
	for _, run := range runs {
		if run.ID == e.ID || CheckAction(p, run, ActionRevoke) != nil {
			continue
		}
		r := actionRules[ActionRevoke]
		if _, err := s.Store.Act(ctx, run.ID, Act{By: p.ID, Action: ActionRevoke, From: r.from, To: r.to,
			Detail: "reason=the series was revoked: " + reason}); err != nil && ErrorCode(err) != ECONFLICT {
			return e, err
		}
	}
	return e, nil
}

// Principals lists principals (admins only).
func (s *Service) Principals(ctx context.Context, p Principal) ([]Principal, error) {
	if p.Role != RoleAdmin {
		return nil, Errorf(EFORBIDDEN, "only admins may list tokens")
	}
	return s.Store.Principals(ctx)
}

// RevokePrincipal revokes a principal's token (admins only); it stops
// working at once, signed links it issued included.
func (s *Service) RevokePrincipal(ctx context.Context, by Principal, id string) error {
	if by.Role != RoleAdmin {
		return Errorf(EFORBIDDEN, "only admins may revoke tokens")
	}
	return s.Store.RevokePrincipal(ctx, id, by.ID)
}

// AuditPage returns up to limit audit entries after afterID (admins only).
func (s *Service) AuditPage(ctx context.Context, p Principal, afterID int64, limit int) ([]AuditEntry, error) {
	if p.Role != RoleAdmin {
		return nil, Errorf(EFORBIDDEN, "only admins may read the audit log")
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return s.Store.AuditPage(ctx, afterID, limit)
}

// SignedLink is a download link for one file.
type SignedLink struct {
	Name      string
	URL       string
	ExpiresAt time.Time
}

// CreateLinks signs download links for files of a ready export the caller
// may download (all files when names is empty), valid for ttl (default
// DefaultLinkTTL, at most MaxLinkTTL, never past the export's expiry).
func (s *Service) CreateLinks(ctx context.Context, p Principal, id string, names []string, ttl time.Duration) ([]SignedLink, error) {
	if len(s.Links.Key) == 0 {
		return nil, Errorf(ECONFLICT, "this server issues no signed links")
	}
	switch {
	case ttl == 0:
		ttl = DefaultLinkTTL
	case ttl < time.Second || ttl > MaxLinkTTL:
		return nil, Errorf(EINVALID, "expires_in_seconds: between 1 and %d", int(MaxLinkTTL.Seconds()))
	}
	e, _, err := s.Downloadable(ctx, p, id, "")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		for _, f := range e.Files {
			names = append(names, f.Name)
		}
	}
	now := s.now()
	expires := now.Add(ttl).Truncate(time.Second)
	if !e.ExpiresAt.IsZero() && e.ExpiresAt.Before(expires) {
		expires = e.ExpiresAt.Truncate(time.Second)
	}
	var out []SignedLink
	for _, name := range names {
		if _, _, err := s.Downloadable(ctx, p, id, name); err != nil {
			return nil, err
		}
		l := Link{Method: "GET", ExportID: e.ID, File: name, PrincipalID: p.ID, Expires: expires, KeyID: s.Links.KeyID}
		out = append(out, SignedLink{Name: name, URL: l.URL(s.Links.Sign(l)), ExpiresAt: expires})
	}
	return out, nil
}

// LinkDownloadable checks a signed link and returns what it may fetch:
// the signature and expiry, then the principal (still active), then
// everything Downloadable checks for that principal now, so a revoked
// export, token or agreement stops the link at once.
func (s *Service) LinkDownloadable(ctx context.Context, l Link, sig string) (Principal, *Export, *File, error) {
	if err := s.Links.Verify(l, sig, s.now()); err != nil {
		return Principal{}, nil, nil, err
	}
	p, err := s.Store.Principal(ctx, l.PrincipalID)
	if err != nil || !p.Active(s.now()) {
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return Principal{}, nil, nil, err
		}
		return Principal{}, nil, nil, errBadLink
	}
	e, f, err := s.Downloadable(ctx, p, l.ExportID, l.File)
	return p, e, f, err
}

// ErasureFinder computes the erasures of a built export.
type ErasureFinder interface {
	Erasures(ctx context.Context, e *Export) ([]Erasure, error)
}

// Erasures lists the pseudonyms of learners the partner received in a
// ready export and must now delete.
func (s *Service) Erasures(ctx context.Context, p Principal, id string, f ErasureFinder) (*Export, []Erasure, error) {
	e, err := s.Export(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	if e.State != StateReady {
		return nil, nil, Errorf(ECONFLICT, "export %s is %s: erasures are listed for ready exports (an expired or revoked export must be deleted whole)", id, e.State)
	}
	list, err := f.Erasures(ctx, e)
	return e, list, err
}
