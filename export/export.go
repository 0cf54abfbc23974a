package export

import (
	"context"
	"slices"
	"time"
)

// Role is what a principal may do.
type Role string

// The roles. Researchers and pipelines belong to one partner; reviewers and
// admins are platform staff and see every partner.
const (
	RoleResearcher Role = "researcher"
	RolePipeline   Role = "pipeline"
	RoleReviewer   Role = "reviewer"
	RoleAdmin      Role = "admin"
)

// Roles lists the valid roles.
var Roles = []Role{RoleResearcher, RolePipeline, RoleReviewer, RoleAdmin}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", Errorf(EINVALID, "role %q is not one of researcher, pipeline, reviewer, admin", s)
}

// IsStaff reports whether the role is platform staff (sees all partners).
func (r Role) IsStaff() bool { return r == RoleReviewer || r == RoleAdmin }

// NeedsPartner reports whether a principal of this role must belong to a
// partner.
func (r Role) NeedsPartner() bool { return r == RoleResearcher || r == RolePipeline }

// Principal is an authenticated caller.
type Principal struct {
	ID        string
	Name      string
	Role      Role
	PartnerID string // set for researchers and pipelines, empty for staff
	CreatedAt time.Time
	// ExpiresAt is when the token stops working (zero: never).
	ExpiresAt time.Time
	// RevokedAt is when the token was revoked (zero: it was not).
	RevokedAt  time.Time
	LastUsedAt time.Time
}

// Active reports whether the principal's token may be used at now.
func (p Principal) Active(now time.Time) bool {
	return p.RevokedAt.IsZero() && (p.ExpiresAt.IsZero() || now.Before(p.ExpiresAt))
}

// PartnerScope returns the partner whose data the principal may see, and
// whether it may see every partner's. A principal that is neither staff nor
// bound to a partner sees nothing (fail closed).
func (p Principal) PartnerScope() (partnerID string, all bool) {
	if p.Role.IsStaff() {
		return "", true
	}
	return p.PartnerID, false
}

// DUA is the data-use agreement a partner signed: what its exports may hold.
type DUA struct {
	Reference      string    `json:"reference"`
	AllowedTables  []string  `json:"allowed_tables"`
	AllowFreeText  bool      `json:"allow_free_text"`
	AllowSensitive bool      `json:"allow_sensitive"`
	StartsOn       time.Time `json:"starts_on,omitzero"` // first day the agreement covers
	EndsOn         time.Time `json:"ends_on"`            // last day the agreement covers
	// AllowedLinkage lists the linkage scopes exports may use (empty: both).
	AllowedLinkage []Linkage `json:"allowed_linkage,omitempty"`
	// Recipients names the people the agreement lets receive the data.
	Recipients []string `json:"recipients,omitempty"`
	// FinestTimePrecision is the finest timestamp precision exports may
	// have: second, hour or day ("" = hour).
	FinestTimePrecision string `json:"finest_time_precision,omitempty"`
	// K and L are the k-anonymity and l-diversity levels (0 = defaults).
	K int `json:"k,omitempty"`
	L int `json:"l,omitempty"`
}

// Default privacy levels when an agreement names none.
const (
	DefaultK = 5
	DefaultL = 2
)

// KAnonymity returns the agreement's k, or DefaultK.
func (d DUA) KAnonymity() int {
	if d.K > 0 {
		return d.K
	}
	return DefaultK
}

// LDiversity returns the agreement's l, or DefaultL.
func (d DUA) LDiversity() int {
	if d.L > 0 {
		return d.L
	}
	return DefaultL
}

// AllowsLinkage reports whether the DUA allows the linkage scope.
func (d DUA) AllowsLinkage(l Linkage) bool {
	return len(d.AllowedLinkage) == 0 || slices.Contains(d.AllowedLinkage, l)
}

// InForce reports whether the agreement covers the instant now: from the
// start of StartsOn to the end of EndsOn (UTC days), either side open when
// zero.
func (d DUA) InForce(now time.Time) bool {
	if !d.StartsOn.IsZero() && now.Before(d.StartsOn) {
		return false
	}
	return d.EndsOn.IsZero() || now.Before(d.EndsOn.AddDate(0, 0, 1))
}

// AllowsTable reports whether the DUA allows the table.
func (d DUA) AllowsTable(name string) bool {
	for _, t := range d.AllowedTables {
		if t == name {
			return true
		}
	}
	return false
}

// Partner is a content partner (a university) that teaches on the platform
// and receives research datasets about its own courses.
type Partner struct {
	ID      string
	Name    string
	Courses []string // course ids the partner owns
	DUA     DUA
	// AgeRecipient, if set, is the age X25519 recipient ("age1...") the
	// partner's exports are encrypted to, at rest and in transit.
	AgeRecipient string
	CreatedAt    time.Time
}

// OwnsCourse reports whether the partner owns the course.
func (p Partner) OwnsCourse(id string) bool {
	for _, c := range p.Courses {
		if c == id {
			return true
		}
	}
	return false
}

// State is where an export is in its life. The transitions, and who may
// take them, are in state.go.
type State string

// The states of an export.
const (
	StateSubmitted State = "submitted"
	StateRejected  State = "rejected"
	StateCancelled State = "cancelled"
	StateApproved  State = "approved"
	StateQueued    State = "queued"
	StateBuilding  State = "building"
	StateReady     State = "ready"
	StateFailed    State = "failed"
	StateExpired   State = "expired"
	StateRevoked   State = "revoked"
)

// States lists every state, in life order.
var States = []State{StateSubmitted, StateRejected, StateCancelled, StateApproved, StateQueued,
	StateBuilding, StateReady, StateFailed, StateExpired, StateRevoked}

// Linkage is the linkage scope of an export's pseudonyms.
type Linkage string

// Linkage scopes: partner keeps a learner's pseudonym stable across the
// partner's exports; request makes each export unlinkable to the others.
const (
	LinkagePartner Linkage = "partner"
	LinkageRequest Linkage = "request"
)

// Request is what a researcher asks for.
type Request struct {
	Title            string    `json:"title"`
	Purpose          string    `json:"purpose"`
	EthicsRef        string    `json:"ethics_ref"`
	Courses          []string  `json:"courses"`
	Tables           []string  `json:"tables"`
	From             time.Time `json:"from"` // inclusive; zero = unbounded
	To               time.Time `json:"to"`   // exclusive; zero = unbounded
	IncludeFreeText  bool      `json:"include_free_text"`
	IncludeSensitive bool      `json:"include_sensitive"`
	Linkage          Linkage   `json:"linkage"`
	// TimePrecision truncates timestamps: second, hour (default) or day.
	TimePrecision string `json:"time_precision,omitempty"`
	// DateShiftDays, if above 0, shifts each learner's dates by a keyed
	// offset of up to that many days.
	DateShiftDays int `json:"date_shift_days,omitempty"`
	// Schedule makes the request recurring: daily or weekly ("" = once).
	Schedule Schedule `json:"schedule,omitempty"`
	// Mode is full (each run exports the whole window) or incremental
	// (each run exports the rows whose event time is past the previous
	// run's watermark).
	Mode Mode `json:"mode,omitempty"`
}

// Schedule is how often a recurring request runs.
type Schedule string

// Schedules.
const (
	ScheduleDaily  Schedule = "daily"
	ScheduleWeekly Schedule = "weekly"
)

// Period returns the time between runs (0 for a one-off request).
func (s Schedule) Period() time.Duration {
	switch s {
	case ScheduleDaily:
		return 24 * time.Hour
	case ScheduleWeekly:
		return 7 * 24 * time.Hour
	}
	return 0
}

// Mode says what each run of a recurring request exports.
type Mode string

// Modes.
const (
	ModeFull        Mode = "full"
	ModeIncremental Mode = "incremental"
)

// MaxDateShiftDays bounds Request.DateShiftDays.
const MaxDateShiftDays = 365

// Decision is a reviewer's approval or rejection.
type Decision struct {
	ReviewerID string
	Approved   bool
	Reason     string
	At         time.Time
}

// Progress counts rows written against an estimate made at build start.
type Progress struct {
	RowsWritten   int64
	RowsEstimated int64
}

// File is one file of a ready export.
type File struct {
	Name   string `json:"name"`
	Table  string `json:"table,omitempty"`
	Rows   int64  `json:"rows"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Export is a dataset request and, once built, the dataset.
type Export struct {
	ID          string
	PartnerID   string
	RequestedBy string // principal id
	Request     Request
	State       State
	Decisions   []Decision
	Progress    Progress
	Files       []File
	KeyVersion  int
	// Generation counts builds: a reviewer's retry of a failed build starts
	// the next one.
	Generation int
	Error      string // caller-safe failure message, state failed only
	// FilesDeletedAt is when the sweeper deleted the files of an expired or
	// revoked export.
	FilesDeletedAt time.Time
	// BuildLease names the build that owns a building export, and whose
	// files a ready one serves (see Runner); LeaseRenewedAt is when that
	// build last showed it was alive.
	BuildLease     string
	LeaseRenewedAt time.Time
	// SeriesID is the first export of a recurring request (its own id for
	// that one; "" for a one-off request), Run the run's number from 1, and
	// WindowFrom..WindowTo the event times the run covers: its watermark is
	// WindowTo.
	SeriesID   string
	Run        int
	WindowFrom time.Time
	WindowTo   time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ReadyAt    time.Time
	ExpiresAt  time.Time
}

// ExportFilter selects exports for a listing. PartnerID and AllPartners
// come from the caller's principal, never from user input.
type ExportFilter struct {
	PartnerID   string
	AllPartners bool
	State       State // empty = any
	// SeriesID selects the runs of one recurring request; Recurring all
	// runs of all of them.
	SeriesID  string
	Recurring bool
	// ReadySince selects exports that became ready after this time.
	ReadySince time.Time
	Limit      int
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID          int64
	At          time.Time
	PrincipalID string
	Action      string
	ExportID    string
	PartnerID   string
	Detail      string // never secrets or learner identifiers
	// PrevHash and Hash chain the entry to the one before it.
	PrevHash string
	Hash     string
}

// Act is a principal's state change of an export.
type Act struct {
	By     string // principal id
	Action Action
	From   []State
	To     State
	Detail string
}

// BuildResult is what a finished build records.
type BuildResult struct {
	Files     []File
	ReadyAt   time.Time
	ExpiresAt time.Time
}

// Store keeps partners, principals, exports and the audit log. Every method
// that changes state writes its audit entry in the same transaction.
type Store interface {
	// CreatePartner adds a partner; ECONFLICT if the id exists.
	CreatePartner(ctx context.Context, p Partner, by string) error
	// Partner returns a partner; ENOTFOUND if it does not exist.
	Partner(ctx context.Context, id string) (Partner, error)
	// Partners lists all partners.
	Partners(ctx context.Context) ([]Partner, error)

	// CreatePrincipal adds a principal with the SHA-256 of its token.
	CreatePrincipal(ctx context.Context, p Principal, tokenHash []byte, by string) error
	// PrincipalByTokenHash returns the principal whose token has the hash,
	// whether or not it is active; EUNAUTHENTICATED if there is none.
	PrincipalByTokenHash(ctx context.Context, tokenHash []byte) (Principal, error)
	// Principal returns a principal by id; ENOTFOUND if there is none.
	Principal(ctx context.Context, id string) (Principal, error)
	// Principals lists all principals.
	Principals(ctx context.Context) ([]Principal, error)
	// RevokePrincipal revokes a principal's token; ENOTFOUND, or ECONFLICT
	// if it was revoked already.
	RevokePrincipal(ctx context.Context, id, by string) error
	// TouchPrincipal records when a principal's token was last used.
	TouchPrincipal(ctx context.Context, id string, at time.Time) error
	// CountPrincipals returns the number of principals with the role.
	CountPrincipals(ctx context.Context, role Role) (int, error)

	// CreateExport stores a new export in state submitted.
	CreateExport(ctx context.Context, e *Export) error
	// Export returns an export if the scope may see it; ENOTFOUND otherwise
	// (another partner's export is not found, never forbidden).
	Export(ctx context.Context, id string, partnerID string, allPartners bool) (*Export, error)
	// Exports lists exports, newest first.
	Exports(ctx context.Context, f ExportFilter) ([]*Export, error)
	// CountExportsSince counts the partner's exports created at or after
	// since (the daily request quota).
	CountExportsSince(ctx context.Context, partnerID string, since time.Time) (int, error)
	// Decide records a reviewer's decision on a submitted export: a
	// rejection moves it to rejected; the approval that brings the distinct
	// approvals to required moves it to approved and on to queued with its
	// build job, in one transaction; an earlier approval leaves it
	// submitted. ECONFLICT if the export is not submitted or the reviewer
	// decided on it before; EFORBIDDEN if the reviewer requested it.
	Decide(ctx context.Context, id string, d Decision, required int) (*Export, error)
	// Act applies a principal's cancel, retry or revoke; ECONFLICT if the
	// export is in none of a.From. A move to queued starts the next build
	// generation and enqueues its job.
	Act(ctx context.Context, id string, a Act) (*Export, error)
	// CreateRun files the next run of a recurring request after prev (the
	// series' latest run), covering prev's watermark up to to, with the
	// series' approvals, and queues its build, in one transaction;
	// ECONFLICT if that run exists.
	CreateRun(ctx context.Context, prev *Export, id string, to time.Time) (*Export, error)
	// StartBuild moves a queued (or, on a retried job, building) export to
	// building under the build lease lease and returns it; ECONFLICT if it
	// is in any other state. ErrBusy if another build's lease on it was
	// renewed after staleBefore (that build is alive), or if the partner
	// already has maxPerPartner other builds running (0: no limit). A
	// building export whose lease went stale is taken over: from then on
	// only the new lease may record progress, finish or fail it.
	StartBuild(ctx context.Context, id string, estimated int64, maxPerPartner int, lease string, staleBefore time.Time) (*Export, error)
	// RequeueStale finds the exports building under a lease last renewed
	// at or before staleBefore (their worker died) and queues each for a
	// new build generation with its job, or, on its maxInterruptions-th
	// interruption, fails it. It returns the ids it requeued and failed.
	RequeueStale(ctx context.Context, staleBefore time.Time, maxInterruptions int) (requeued, failed []string, err error)
	// RequeueStalled queues export id, queued at the given generation
	// with no build holding it although a worker took its job (that
	// worker died before the build started), for the next generation, or
	// fails it on its maxInterruptions-th interruption. It does nothing if
	// the export moved on meanwhile.
	RequeueStalled(ctx context.Context, id string, generation, maxInterruptions int) (requeued, failed bool, err error)
	// SetProgress records rows written (and, unless estimated < 0, the
	// rows the build expects) and renews the build's lease; ECONFLICT if
	// the export is no longer building under lease.
	SetProgress(ctx context.Context, id, lease string, written, estimated int64) error
	// FinishBuild moves an export building under lease to ready with its
	// files; ECONFLICT if it is not building, or under another lease.
	FinishBuild(ctx context.Context, id, lease string, r BuildResult) error
	// FailBuild moves an export building under lease to failed with a
	// caller-safe message; with lease "" (a build that failed before it
	// started), a queued export. ECONFLICT otherwise.
	FailBuild(ctx context.Context, id, lease, message string) error
	// ReleaseBuild gives an export building under lease back to queued,
	// with no lease, for the retry of a failed attempt; ECONFLICT if it is
	// not building under lease.
	ReleaseBuild(ctx context.Context, id, lease string) error
	// MarkFilesDeleted records when the sweeper deleted an export's files.
	MarkFilesDeleted(ctx context.Context, id string, at time.Time) error
	// ExpireDue moves ready exports whose expiry is at or before now to
	// expired and returns their ids.
	ExpireDue(ctx context.Context, now time.Time) ([]string, error)

	// Audit appends an entry on its own.
	Audit(ctx context.Context, e AuditEntry) error
	// AuditLog returns entries for an export (all if exportID is empty),
	// oldest first.
	AuditLog(ctx context.Context, exportID string) ([]AuditEntry, error)
	// AuditPage returns up to limit entries after the one with id afterID.
	AuditPage(ctx context.Context, afterID int64, limit int) ([]AuditEntry, error)

	// KeyVersion returns the current pseudonym key version.
	KeyVersion(ctx context.Context) (int, error)
}
