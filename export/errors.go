package export

import (
	"errors"
	"fmt"
)

// Error codes: the one small vocabulary every layer speaks. The api package
// maps each to an HTTP status in one place.
const (
	EINVALID         = "invalid"
	ENOTFOUND        = "not_found"
	ECONFLICT        = "conflict"
	EFORBIDDEN       = "forbidden"
	EUNAUTHENTICATED = "unauthenticated"
	EINTERNAL        = "internal"
	// ELIMITED: a rate limit or quota was reached; try again later.
	ELIMITED = "rate_limited"
)

// ErrBusy tells a build job to wait: its partner has as many builds
// running as it may.
var ErrBusy = errors.New("the partner's concurrent build limit is reached")

// Error is an error meant for the caller: its Message is safe to show and
// never holds secrets, learner identifiers or internal causes.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("rexport error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the Code of the *Error it wraps, or
// EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err; an error that is not
// an *Error gives "internal error", whatever its cause.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Wrap annotates *errp, when it is not nil, with the formatted context. Use
// it deferred: defer export.Wrap(&err, "Store.Approve(%s)", id). The context
// must never hold secrets or raw learner identifiers. An *Error keeps its
// code and message so the caller still sees it.
func Wrap(errp *error, format string, args ...any) {
	if *errp == nil {
		return
	}
	var e *Error
	if errors.As(*errp, &e) {
		return
	}
	*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
}
