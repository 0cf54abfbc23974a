package export

import (
	"context"
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
	EndsOn         time.Time `json:"ends_on"` // last day the agreement covers
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
	ID        string
	Name      string
	Courses   []string // course ids the partner owns
	DUA       DUA
	CreatedAt time.Time
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

// State is where an export is in its life.
//
//	submitted -> approved -> building -> ready -> expired
//	submitted -> rejected
//	building  -> failed
type State string

// The states of an export.
const (
	StateSubmitted State = "submitted"
	StateRejected  State = "rejected"
	StateApproved  State = "approved"
	StateBuilding  State = "building"
	StateReady     State = "ready"
	StateFailed    State = "failed"
	StateExpired   State = "expired"
)

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
}

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
	Error       string // caller-safe failure message, state failed only
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ReadyAt     time.Time
	ExpiresAt   time.Time
}

// ExportFilter selects exports for a listing. PartnerID and AllPartners
// come from the caller's principal, never from user input.
type ExportFilter struct {
	PartnerID   string
	AllPartners bool
	State       State // empty = any
	Limit       int
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
	// PrincipalByTokenHash returns the principal whose token has the hash;
	// EUNAUTHENTICATED if there is none.
	PrincipalByTokenHash(ctx context.Context, tokenHash []byte) (Principal, error)
	// CountPrincipals returns the number of principals with the role.
	CountPrincipals(ctx context.Context, role Role) (int, error)

	// CreateExport stores a new export in state submitted.
	CreateExport(ctx context.Context, e *Export) error
	// Export returns an export if the scope may see it; ENOTFOUND otherwise
	// (another partner's export is not found, never forbidden).
	Export(ctx context.Context, id string, partnerID string, allPartners bool) (*Export, error)
	// Exports lists exports, newest first.
	Exports(ctx context.Context, f ExportFilter) ([]*Export, error)
	// Decide records a reviewer's decision on a submitted export. On
	// approval it moves the export to approved and enqueues its build job in
	// the same transaction. ECONFLICT if the export is not submitted.
	Decide(ctx context.Context, id string, d Decision) (*Export, error)
	// StartBuild moves an approved (or, on retry, building or failed) export
	// to building and returns it; ECONFLICT if it is in any other state.
	StartBuild(ctx context.Context, id string, estimated int64) (*Export, error)
	// SetProgress records rows written.
	SetProgress(ctx context.Context, id string, written int64) error
	// FinishBuild moves a building export to ready with its files.
	FinishBuild(ctx context.Context, id string, r BuildResult) error
	// FailBuild moves a building export to failed with a caller-safe message.
	FailBuild(ctx context.Context, id string, message string) error
	// ExpireDue moves ready exports whose expiry is at or before now to
	// expired and returns their ids.
	ExpireDue(ctx context.Context, now time.Time) ([]string, error)

	// Audit appends an entry on its own.
	Audit(ctx context.Context, e AuditEntry) error
	// AuditLog returns entries for an export (all if exportID is empty),
	// oldest first.
	AuditLog(ctx context.Context, exportID string) ([]AuditEntry, error)

	// KeyVersion returns the current pseudonym key version.
	KeyVersion(ctx context.Context) (int, error)
}
