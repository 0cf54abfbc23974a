package export

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rexport/rexport/deidentify"
)

// Service is the export workflow as callers see it: every method takes the
// authenticated principal and enforces who may do what.
type Service struct {
	Store Store
	// Source, when set, checks partner course ownership at registration.
	Source Source
	Now    func() time.Time
	// NewID returns a new export id.
	NewID func() string
	// Links signs download links; without a key no link is issued.
	Links LinkSigner
	// DailyRequests caps the requests a partner files in 24 hours
	// (0: DefaultDailyRequests).
	DailyRequests int
	// TokenTTL is a new token's lifetime when its creator names none
	// (0: DefaultTokenTTL).
	TokenTTL time.Duration
}

// Defaults of the service's limits.
const (
	DefaultDailyRequests = 50
	DefaultTokenTTL      = 90 * 24 * time.Hour
	// MaxTokenTTL bounds a token's lifetime.
	MaxTokenTTL = 366 * 24 * time.Hour
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Limits on request fields; they keep a request reviewable.
const (
	maxTitleLen   = 200
	maxPurposeLen = 5000
	maxCourses    = 200
)

// Submit files a new export request for the caller's partner. Researchers
// submit for their own partner; staff may submit for a named partner (for
// one-off exports). Returns EINVALID naming the offending field if the
// request breaks the partner's data-use agreement or is malformed,
// EFORBIDDEN if the caller may not submit, ENOTFOUND for an unknown partner.
func (s *Service) Submit(ctx context.Context, p Principal, partnerID string, req Request) (*Export, error) {
	switch {
	case p.Role == RoleResearcher:
		if partnerID != "" && partnerID != p.PartnerID {
			return nil, Errorf(EINVALID, "partner_id: must be omitted or be your own partner")
		}
		partnerID = p.PartnerID
	case p.Role.IsStaff():
		if partnerID == "" {
			return nil, Errorf(EINVALID, "partner_id: required when staff submit a request")
		}
	default:
		return nil, Errorf(EFORBIDDEN, "role %s may not submit export requests", p.Role)
	}
	if partnerID == "" {
		return nil, Errorf(EFORBIDDEN, "principal is not bound to a partner")
	}
	partner, err := s.Store.Partner(ctx, partnerID)
	if err != nil {
		return nil, err
	}
	if err := ValidateRequest(&req, partner, s.now()); err != nil {
		return nil, err
	}
	if p.Role == RoleResearcher && !partner.DUA.NamesRecipient(p.Name) {
		return nil, Errorf(EFORBIDDEN, "the partner's data-use agreement does not name you as a recipient")
	}
	now := s.now()
	quota := s.DailyRequests
	if quota <= 0 {
		quota = DefaultDailyRequests
	}
	n, err := s.Store.CountExportsSince(ctx, partner.ID, now.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	if n >= quota {
		return nil, Errorf(ELIMITED, "the partner has filed %d requests in the last 24 hours, its daily quota", n)
	}
	e := &Export{
		ID:          s.NewID(),
		PartnerID:   partner.ID,
		RequestedBy: p.ID,
		Request:     req,
		State:       StateSubmitted,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if err := s.Store.CreateExport(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

// ValidateRequest checks a request against the partner's courses and
// data-use agreement, normalising it in place (defaults, sorted unique
// lists). The error is EINVALID and names the field, or EFORBIDDEN when
// the agreement has ended.
func ValidateRequest(req *Request, partner Partner, now time.Time) error {
	req.Title = strings.TrimSpace(req.Title)
	req.Purpose = strings.TrimSpace(req.Purpose)
	req.EthicsRef = strings.TrimSpace(req.EthicsRef)
	switch {
	case req.Title == "":
		return Errorf(EINVALID, "title: required")
	case len(req.Title) > maxTitleLen:
		return Errorf(EINVALID, "title: longer than %d bytes", maxTitleLen)
	case req.Purpose == "":
		return Errorf(EINVALID, "purpose: required (state the research purpose the data serves)")
	case len(req.Purpose) > maxPurposeLen:
		return Errorf(EINVALID, "purpose: longer than %d bytes", maxPurposeLen)
	case len(req.Courses) == 0:
		return Errorf(EINVALID, "courses: at least one course is required")
	case len(req.Courses) > maxCourses:
		return Errorf(EINVALID, "courses: more than %d courses", maxCourses)
	case len(req.Tables) == 0:
		return Errorf(EINVALID, "tables: at least one table is required")
	}
	if err := partner.DUA.checkInForce(now); err != nil {
		return err
	}
	for i, c := range req.Courses {
		if !partner.OwnsCourse(c) {
			// The same message whether the course exists elsewhere or not:
			// another partner's catalogue is not disclosed.
			return Errorf(EINVALID, "courses[%d]: %q is not a course of partner %s", i, c, partner.ID)
		}
	}
	for i, t := range req.Tables {
		if _, ok := SourceTable(t); !ok {
			return Errorf(EINVALID, "tables[%d]: unknown table %q (tables: %s)", i, t, strings.Join(TableNames(), ", "))
		}
		if !partner.DUA.AllowsTable(t) {
			return Errorf(EINVALID, "tables[%d]: table %q is not allowed by the partner's data-use agreement", i, t)
		}
	}
	if !req.From.IsZero() && !req.To.IsZero() && !req.From.Before(req.To) {
		return Errorf(EINVALID, "to: must be after from")
	}
	if req.IncludeFreeText && !partner.DUA.AllowFreeText {
		return Errorf(EINVALID, "include_free_text: the partner's data-use agreement does not allow free text")
	}
	if req.IncludeSensitive && !partner.DUA.AllowSensitive {
		return Errorf(EINVALID, "include_sensitive: the partner's data-use agreement does not allow sensitive categories")
	}
	switch req.Linkage {
	case "":
		req.Linkage = LinkagePartner
		if !partner.DUA.AllowsLinkage(LinkagePartner) {
			req.Linkage = LinkageRequest
		}
	case LinkagePartner, LinkageRequest:
	default:
		return Errorf(EINVALID, "linkage: must be partner or request")
	}
	if !partner.DUA.AllowsLinkage(req.Linkage) {
		return Errorf(EINVALID, "linkage: the partner's data-use agreement does not allow %s linkage", req.Linkage)
	}
	prec, err := deidentify.ParsePrecision(req.TimePrecision)
	if err != nil {
		return Errorf(EINVALID, "time_precision: must be second, hour or day")
	}
	finest, err := deidentify.ParsePrecision(partner.DUA.FinestTimePrecision)
	if err != nil {
		return Errorf(EINVALID, "the partner's agreement names an unknown time precision")
	}
	if finest.Coarser(prec) {
		return Errorf(EINVALID, "time_precision: the partner's data-use agreement allows timestamps to the %s at finest", finest)
	}
	req.TimePrecision = string(prec)
	if err := validateRecurrence(req); err != nil {
		return err
	}
	if req.DateShiftDays < 0 || req.DateShiftDays > MaxDateShiftDays {
		return Errorf(EINVALID, "date_shift_days: must be between 0 and %d", MaxDateShiftDays)
	}
	req.Courses = sortedUnique(req.Courses)
	req.Tables = sortedTables(req.Tables)
	return nil
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// sortedTables puts tables in source-schema order without duplicates.
func sortedTables(in []string) []string {
	var out []string
	for _, name := range TableNames() {
		if slices.Contains(in, name) {
			out = append(out, name)
		}
	}
	return out
}

// Export returns an export the caller may see. ENOTFOUND if it does not
// exist or belongs to another partner.
func (s *Service) Export(ctx context.Context, p Principal, id string) (*Export, error) {
	partnerID, all := p.PartnerScope()
	if !all && partnerID == "" {
		return nil, Errorf(ENOTFOUND, "export %s not found", id)
	}
	return s.Store.Export(ctx, id, partnerID, all)
}

// Exports lists the exports the caller may see, newest first.
func (s *Service) Exports(ctx context.Context, p Principal, state State, limit int) ([]*Export, error) {
	return s.ExportsWhere(ctx, p, ExportFilter{State: state, Limit: limit})
}

// ExportsWhere lists the exports the caller may see that match f (its
// state, series and ready-since fields; the partner scope is the
// caller's), newest first.
func (s *Service) ExportsWhere(ctx context.Context, p Principal, f ExportFilter) ([]*Export, error) {
	partnerID, all := p.PartnerScope()
	if !all && partnerID == "" {
		return nil, nil
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	f.PartnerID, f.AllPartners = partnerID, all
	return s.Store.Exports(ctx, f)
}

// Approve records a reviewer's approval and enqueues the build. Only
// reviewers and admins may approve, never the principal who submitted the
// request (EFORBIDDEN); ECONFLICT if the export is not awaiting review.
func (s *Service) Approve(ctx context.Context, p Principal, id, note string) (*Export, error) {
	return s.decide(ctx, p, id, true, strings.TrimSpace(note))
}

// Reject records a reviewer's rejection with a required reason.
func (s *Service) Reject(ctx context.Context, p Principal, id, reason string) (*Export, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, Errorf(EINVALID, "reason: required when rejecting")
	}
	return s.decide(ctx, p, id, false, reason)
}

func (s *Service) decide(ctx context.Context, p Principal, id string, approve bool, reason string) (*Export, error) {
	e, err := s.Export(ctx, p, id)
	if err != nil {
		return nil, err
	}
	action := ActionReject
	if approve {
		action = ActionApprove
	}
	if err := CheckAction(p, e, action); err != nil {
		return nil, err
	}
	if e.RequestedBy == p.ID {
		return nil, Errorf(EFORBIDDEN, "you submitted this request: other reviewers must decide on it")
	}
	if approve {
		if err := s.stillFits(ctx, e); err != nil {
			return nil, err
		}
	}
	return s.Store.Decide(ctx, id, Decision{ReviewerID: p.ID, Approved: approve, Reason: reason, At: s.now()}, ApprovalsRequired(e.Request))
}

// Downloadable returns a ready export the caller may download and the file
// with the given name. ENOTFOUND if either is not there; ECONFLICT if the
// export is not ready or has expired, or its agreement has ended.
func (s *Service) Downloadable(ctx context.Context, p Principal, id, name string) (*Export, *File, error) {
	e, err := s.Export(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckAction(p, e, ActionDownload); err != nil {
		return nil, nil, err
	}
	now := s.now()
	if !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt) {
		return nil, nil, Errorf(ECONFLICT, "export %s expired at %s", id, e.ExpiresAt.Format(time.RFC3339))
	}
	partner, err := s.Store.Partner(ctx, e.PartnerID)
	if err != nil {
		return nil, nil, err
	}
	if err := partner.DUA.checkInForce(now); err != nil {
		return nil, nil, Errorf(ECONFLICT, "export %s may not be downloaded: %s", id, ErrorMessage(err))
	}
	if p.Role == RoleResearcher && !partner.DUA.NamesRecipient(p.Name) {
		return nil, nil, Errorf(EFORBIDDEN, "the partner's data-use agreement does not name you as a recipient")
	}
	if name == "" {
		return e, nil, nil
	}
	if f := e.File(name); f != nil {
		return e, f, nil
	}
	if e.File(name+SealedExt) != nil {
		return nil, nil, Errorf(ECONFLICT, "export %s is encrypted to the partner's age recipient: download %s and decrypt it", id, name+SealedExt)
	}
	return nil, nil, Errorf(ENOTFOUND, "export %s has no file %q", id, name)
}

// File returns the export's file with the given name, or nil.
func (e *Export) File(name string) *File {
	for i := range e.Files {
		if e.Files[i].Name == name {
			return &e.Files[i]
		}
	}
	return nil
}

// String gives a short description for logs.
func (e *Export) String() string {
	return fmt.Sprintf("export %s (partner %s, %s)", e.ID, e.PartnerID, e.State)
}

// CreatePartner registers a content partner and its data-use agreement
// (admins only). Without courses, the partner gets every course the source
// lists under its id; listed courses must belong to it in the source.
// EINVALID names the bad field; ECONFLICT if the partner or a course is
// already registered.
func (s *Service) CreatePartner(ctx context.Context, p Principal, partner Partner) (*Partner, error) {
	if p.Role != RoleAdmin {
		return nil, Errorf(EFORBIDDEN, "only admins may register partners")
	}
	partner.ID = strings.TrimSpace(partner.ID)
	partner.Name = strings.TrimSpace(partner.Name)
	switch {
	case !validID(partner.ID):
		return nil, Errorf(EINVALID, "id: 1 to 64 characters of a-z, 0-9, '-' and '_'")
	case partner.Name == "":
		return nil, Errorf(EINVALID, "name: required")
	}
	for i, t := range partner.DUA.AllowedTables {
		if _, ok := SourceTable(t); !ok {
			return nil, Errorf(EINVALID, "dua.allowed_tables[%d]: unknown table %q", i, t)
		}
	}
	partner.DUA.AllowedTables = sortedTables(partner.DUA.AllowedTables)
	if _, err := deidentify.ParsePrecision(partner.DUA.FinestTimePrecision); err != nil {
		return nil, Errorf(EINVALID, "dua.finest_time_precision: must be second, hour or day")
	}
	if partner.DUA.K != 0 && partner.DUA.K < DefaultK {
		return nil, Errorf(EINVALID, "dua.k: an agreement may raise k above the platform's %d, not lower it", DefaultK)
	}
	if partner.DUA.L < 0 {
		return nil, Errorf(EINVALID, "dua.l: must not be negative")
	}
	if partner.AgeRecipient = strings.TrimSpace(partner.AgeRecipient); partner.AgeRecipient != "" {
		if _, err := ParseAgeRecipient(partner.AgeRecipient); err != nil {
			return nil, err
		}
	}
	if s.Source != nil {
		all, err := s.Source.Courses(ctx, partner.Courses)
		if err != nil {
			return nil, err
		}
		owner := map[string]string{}
		var own []string
		for _, c := range all {
			owner[c.CourseID] = c.PartnerID
			if c.PartnerID == partner.ID {
				own = append(own, c.CourseID)
			}
		}
		for i, c := range partner.Courses {
			if owner[c] != partner.ID {
				return nil, Errorf(EINVALID, "courses[%d]: %q is not a course of partner %s in the source data", i, c, partner.ID)
			}
		}
		if len(partner.Courses) == 0 {
			partner.Courses = own
		}
	}
	partner.Courses = sortedUnique(partner.Courses)
	if len(partner.Courses) == 0 {
		return nil, Errorf(EINVALID, "courses: the partner has no courses")
	}
	partner.CreatedAt = s.now()
	if err := s.Store.CreatePartner(ctx, partner, p.ID); err != nil {
		return nil, err
	}
	return &partner, nil
}

// Partners lists partners (staff only).
func (s *Service) Partners(ctx context.Context, p Principal) ([]Partner, error) {
	if !p.Role.IsStaff() {
		return nil, Errorf(EFORBIDDEN, "only staff may list partners")
	}
	return s.Store.Partners(ctx)
}

// CreatePrincipal creates a principal and its API token, returned once
// (admins only; by is the creating principal's id, "local-admin" from the
// command line).
func (s *Service) CreatePrincipal(ctx context.Context, by Principal, name string, role Role, partnerID string, ttl time.Duration) (Principal, string, error) {
	if by.Role != RoleAdmin {
		return Principal{}, "", Errorf(EFORBIDDEN, "only admins may create tokens")
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return Principal{}, "", Errorf(EINVALID, "name: required")
	}
	if _, err := ParseRole(string(role)); err != nil {
		return Principal{}, "", err
	}
	if role.NeedsPartner() && partnerID == "" {
		return Principal{}, "", Errorf(EINVALID, "partner_id: required for role %s", role)
	}
	if !role.NeedsPartner() && partnerID != "" {
		return Principal{}, "", Errorf(EINVALID, "partner_id: staff roles do not belong to a partner")
	}
	switch {
	case ttl == 0:
		ttl = s.TokenTTL
		if ttl <= 0 {
			ttl = DefaultTokenTTL
		}
	case ttl < time.Minute || ttl > MaxTokenTTL:
		return Principal{}, "", Errorf(EINVALID, "expires_in_days: a token lives between a minute and %d days", int(MaxTokenTTL.Hours()/24))
	}
	token, hash, err := NewToken(nil)
	if err != nil {
		return Principal{}, "", err
	}
	now := s.now()
	pr := Principal{ID: NewID("prn_"), Name: name, Role: role, PartnerID: partnerID, CreatedAt: now, ExpiresAt: now.Add(ttl).Truncate(time.Second)}
	if err := s.Store.CreatePrincipal(ctx, pr, hash, by.ID); err != nil {
		return Principal{}, "", err
	}
	return pr, token, nil
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validateRecurrence checks schedule and mode: incremental runs need a
// schedule, tables with an event time (the watermark applies to it), and
// no shifted dates (a shifted date could cross the watermark).
func validateRecurrence(req *Request) error {
	switch req.Schedule {
	case "", ScheduleDaily, ScheduleWeekly:
	default:
		return Errorf(EINVALID, "schedule: must be daily or weekly")
	}
	switch req.Mode {
	case "":
		req.Mode = ModeFull
	case ModeFull:
	case ModeIncremental:
		if req.Schedule == "" {
			return Errorf(EINVALID, "mode: incremental needs a schedule (daily or weekly)")
		}
		for i, name := range req.Tables {
			if t, ok := SourceTable(name); ok && t.TimeColumn == "" {
				return Errorf(EINVALID, "tables[%d]: %s has no event time for an incremental watermark; request it in a full export", i, name)
			}
		}
	default:
		return Errorf(EINVALID, "mode: must be full or incremental")
	}
	return nil
}
