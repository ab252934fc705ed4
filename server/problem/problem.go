// Package problem is the error that the server's domain packages (account,
// sharing, ingest, …) return when a request cannot be done: a kind the
// HTTP layer maps to a status, and a message the caller may read. Internal
// detail (SQL, file paths, InfluxDB answers) goes in Err, which only the
// log sees. Domain packages never import net/http for this.
package problem

import (
	"errors"
	"fmt"
	"time"
)

// Kind is what went wrong, as the caller should understand it.
type Kind int

// Kinds, each with the HTTP status server/api answers.
const (
	Invalid      Kind = iota + 1 // 400: the request is malformed or names something impossible
	Unauthorized                 // 401: no or bad credentials
	Forbidden                    // 403: the caller sees the thing but may not do this
	NotFound                     // 404: missing, or invisible to the caller (the same answer)
	Conflict                     // 409: the thing exists already or is in the way
	TooMany                      // 429: rate limited; RetryAfter says when to try again
	Unavailable                  // 503: a dependency is down; RetryAfter says when to try again
	BadGateway                   // 502: a remote the caller named answered badly
)

// Error is a failure with a message for the caller.
type Error struct {
	Kind       Kind
	Msg        string        // shown to the caller
	Err        error         // the cause, for the log only
	RetryAfter time.Duration // for TooMany and Unavailable
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Msg, e.Err)
	}
	return e.Msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind with the caller's message msg.
func New(kind Kind, msg string) *Error { return &Error{Kind: kind, Msg: msg} }

// Newf is New with a formatted message.
func Newf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Invalidf is Newf(Invalid, …), the most common case.
func Invalidf(format string, args ...any) *Error { return Newf(Invalid, format, args...) }

// Common errors. NotFound is what a caller gets for a thing it may not
// see, so ids of other tenants cannot be probed.
var (
	ErrNotFound     = New(NotFound, "not found")
	ErrAdminOnly    = New(Forbidden, "only admins of this organization may do this")
	ErrReadOnly     = New(Forbidden, "partner access is read-only")
	ErrCustomerOnly = New(Forbidden, "only customer organizations may do this")
	ErrPartnerOnly  = New(Forbidden, "only partner organizations (resellers, distributors) may do this")
	// ErrWholeOrgOnly refuses admins of a lower OU what concerns the
	// whole organization (visibility.Principal.AdministersAll).
	ErrWholeOrgOnly = New(Forbidden, "only admins of the whole organization (its top OU) may do this")
)

// KindOf returns the kind of the first *Error in err's chain, or 0.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
