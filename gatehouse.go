// Package gatehouse is the domain of the Gatehouse authentication server:
// users, sessions, signing keys, the errors callers branch on, and the
// Service that registers, logs in, refreshes, logs out and verifies.
//
// The package knows nothing about HTTP or SQL. Storage is described by the
// small interfaces in user.go, session.go and key.go and implemented by the
// sqlite and postgres packages; the httpapi package adapts the Service to
// HTTP; cmd/gatehouse wires them together.
package gatehouse

import (
	"errors"
	"fmt"
	"time"
)

// Errors that callers branch on. Each is safe to show to a client: it says
// what kind of failure happened and nothing about internal causes, which are
// wrapped underneath with %w and go to the log only.
var (
	// ErrInvalidInput is returned when a request is malformed; see *InputError
	// for the field concerned.
	ErrInvalidInput = errors.New("gatehouse: invalid input")
	// ErrWeakPassword is returned when a new password breaks the password rules.
	ErrWeakPassword = errors.New("gatehouse: password rejected")
	// ErrEmailTaken is returned by Register when the email is already registered.
	ErrEmailTaken = errors.New("gatehouse: email already registered")
	// ErrRegistrationClosed is returned by Register when the policy closes sign-up.
	ErrRegistrationClosed = errors.New("gatehouse: registration closed")
	// ErrInvalidCredentials is returned by Login for an unknown email, a wrong
	// password and a disabled account alike, so that a caller cannot tell them apart.
	ErrInvalidCredentials = errors.New("gatehouse: invalid credentials")
	// ErrCurrentPassword is returned by ChangePassword when the current password is wrong.
	ErrCurrentPassword = errors.New("gatehouse: current password incorrect")
	// ErrThrottled is returned when too many attempts failed; see *ThrottledError.
	ErrThrottled = errors.New("gatehouse: too many attempts")
	// ErrUnauthenticated is returned when an access token is missing, invalid,
	// expired or belongs to an ended session. The cause is wrapped for the log.
	ErrUnauthenticated = errors.New("gatehouse: unauthenticated")
	// ErrRefreshInvalid is returned for a refresh token that was never issued.
	ErrRefreshInvalid = errors.New("gatehouse: invalid refresh token")
	// ErrRefreshReused is returned when an already rotated refresh token is
	// presented outside the grace window; the whole session is revoked.
	ErrRefreshReused = errors.New("gatehouse: refresh token reused")
	// ErrSessionEnded is returned for a session that was revoked or expired.
	ErrSessionEnded = errors.New("gatehouse: session ended")
	// ErrNotFound is returned when a user, session or key does not exist (or
	// is not the caller's).
	ErrNotFound = errors.New("gatehouse: not found")
	// ErrConflict is returned by a store when a compare-and-swap lost a race.
	ErrConflict = errors.New("gatehouse: conflict")
	// ErrOverloaded is returned when password hashing capacity is exhausted.
	ErrOverloaded = errors.New("gatehouse: overloaded")
	// ErrUnavailable is returned when a store or cache cannot be reached.
	ErrUnavailable = errors.New("gatehouse: unavailable")
)

// InputError names the field of a request that is invalid and says why, in
// words safe to show to the client.
type InputError struct {
	Field  string
	Reason string
	Err    error // ErrInvalidInput or ErrWeakPassword
}

func (e *InputError) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Reason)
}

func (e *InputError) Unwrap() error { return e.Err }

func invalid(field, reason string) error {
	return &InputError{Field: field, Reason: reason, Err: ErrInvalidInput}
}

// ThrottledError reports how long the client must wait before trying again.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v: retry after %s", ErrThrottled, e.RetryAfter)
}

// Is makes errors.Is(err, ErrThrottled) hold.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }
