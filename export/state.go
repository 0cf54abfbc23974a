package export

import "slices"

// The life of an export:
//
//	submitted -> approved -> queued -> building -> ready -> expired
//	submitted -> rejected              (a reviewer)
//	submitted, approved, queued -> cancelled   (the requester, before the build)
//	building -> failed -> queued       (a reviewer retries)
//	approved .. ready, failed -> revoked       (a reviewer or admin, any time after approval)
//
// A request with free text or sensitive columns stays submitted until two
// different reviewers approve it; nobody decides on their own request. The
// approval that completes the count moves the export to approved and, in
// the same transaction, to queued with its build job, so approved is only
// seen by an export whose transaction was interrupted (and never by a
// build). The store enforces the approval rules with database constraints
// as well.

// Action is something a principal does to an export.
type Action string

// The actions principals take. Builds, expiry and the sweeper are the
// system's, not a principal's.
const (
	ActionApprove  Action = "approve"
	ActionReject   Action = "reject"
	ActionCancel   Action = "cancel"
	ActionRetry    Action = "retry"
	ActionRevoke   Action = "revoke"
	ActionDownload Action = "download"
)

// Actions lists the principals' actions.
var Actions = []Action{ActionApprove, ActionReject, ActionCancel, ActionRetry, ActionRevoke, ActionDownload}

// actionRule says from which states an action may be taken, by which
// roles, and where it leads.
type actionRule struct {
	from  []State
	roles []Role
	// requesterOnly limits the action to the principal who submitted.
	requesterOnly bool
	to            State // "" when the action does not change the state
}

var actionRules = map[Action]actionRule{
	ActionApprove:  {from: []State{StateSubmitted}, roles: []Role{RoleReviewer, RoleAdmin}, to: StateQueued},
	ActionReject:   {from: []State{StateSubmitted}, roles: []Role{RoleReviewer, RoleAdmin}, to: StateRejected},
	ActionCancel:   {from: []State{StateSubmitted, StateApproved, StateQueued}, roles: []Role{RoleResearcher}, requesterOnly: true, to: StateCancelled},
	ActionRetry:    {from: []State{StateFailed}, roles: []Role{RoleReviewer, RoleAdmin}, to: StateQueued},
	ActionRevoke:   {from: []State{StateApproved, StateQueued, StateBuilding, StateReady, StateFailed}, roles: []Role{RoleReviewer, RoleAdmin}, to: StateRevoked},
	ActionDownload: {from: []State{StateReady}, roles: Roles},
}

// ActionFrom returns the states an action may be taken from.
func ActionFrom(a Action) []State { return actionRules[a].from }

// CheckAction decides whether p may take action a on export e, which p can
// see: EFORBIDDEN if p's role (or, for cancel, p not being the requester)
// does not allow it, ECONFLICT if e's state does not. Approval's further
// rules (not your own request, one approval per reviewer) are in
// Service.Approve.
func CheckAction(p Principal, e *Export, a Action) error {
	r, ok := actionRules[a]
	if !ok {
		return Errorf(EINVALID, "unknown action %q", a)
	}
	if !slices.Contains(r.roles, p.Role) {
		return Errorf(EFORBIDDEN, "a %s may not %s exports", p.Role, a)
	}
	if r.requesterOnly && e.RequestedBy != p.ID {
		return Errorf(EFORBIDDEN, "only the researcher who requested export %s may %s it", e.ID, a)
	}
	if !slices.Contains(r.from, e.State) {
		return Errorf(ECONFLICT, "export %s is %s: it cannot be %s", e.ID, e.State, pastTense(a))
	}
	return nil
}

func pastTense(a Action) string {
	switch a {
	case ActionApprove:
		return "approved"
	case ActionReject:
		return "rejected"
	case ActionCancel:
		return "cancelled"
	case ActionRetry:
		return "retried"
	case ActionRevoke:
		return "revoked"
	case ActionDownload:
		return "downloaded"
	}
	return string(a)
}

// ApprovalsRequired is how many different reviewers must approve a request
// before it is built: two when it asks for free text or sensitive columns
// (dual authorisation), one otherwise.
func ApprovalsRequired(r Request) int {
	if r.IncludeFreeText || r.IncludeSensitive {
		return 2
	}
	return 1
}

// Approvals counts the distinct reviewers who approved.
func (e *Export) Approvals() int {
	var who []string
	for _, d := range e.Decisions {
		if d.Approved && !slices.Contains(who, d.ReviewerID) {
			who = append(who, d.ReviewerID)
		}
	}
	return len(who)
}
