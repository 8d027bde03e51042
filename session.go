package gatehouse

import (
	"context"
	"time"
)

// Session is one login of a user on one device. It is the family of the
// refresh tokens issued to that login: a refresh rotates the token and bumps
// Generation; revoking the session ends every token of the family.
type Session struct {
	ID          string
	UserID      string
	CreatedAt   time.Time
	LastUsedAt  time.Time // last login or refresh; drives the idle timeout
	ExpiresAt   time.Time // absolute end, CreatedAt + absolute lifetime
	UserAgent   string
	IP          string
	Generation  int       // generation of the current refresh token
	RefreshHash []byte    // SHA-256 of the current refresh token
	RotatedAt   time.Time // when Generation last changed
	RevokedAt   time.Time // zero while the session is alive
	Reason      string    // why it was revoked
}

// Revoked reports whether the session was ended.
func (s *Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// IdleExpiresAt is when the session ends if it is not used again.
func (s *Session) IdleExpiresAt(idle time.Duration) time.Time {
	t := s.LastUsedAt.Add(idle)
	if t.After(s.ExpiresAt) {
		return s.ExpiresAt
	}
	return t
}

// RefreshRecord ties a refresh token hash to its session and generation. The
// store keeps one for every token ever issued, so that presenting an old one
// can be recognised as reuse rather than as garbage.
type RefreshRecord struct {
	Hash       []byte
	SessionID  string
	Generation int
}

// Rotation is a compare-and-swap of a session's refresh token.
type Rotation struct {
	SessionID string
	From      int    // the generation the caller saw
	NewHash   []byte // hash of the successor token, stored as generation From+1
	Now       time.Time
}

// RefreshLookup is implemented by a store that keeps both sessions and
// users and can read what a refresh needs in one query instead of three
// (the record, its session, the session's user): one round trip instead of
// three to a database server. The Service uses it when the one store is
// both its SessionStore and its UserStore, and reads the three separately
// otherwise.
type RefreshLookup interface {
	// RefreshSession returns the record of a refresh token hash, its
	// session and the session's user, as they were at one moment. It
	// returns ErrNotFound when no record has the hash.
	RefreshSession(ctx context.Context, hash []byte) (*RefreshRecord, *Session, *User, error)
}

// Revocation says that a session ended at a moment.
type Revocation struct {
	SessionID string
	RevokedAt time.Time
}

// Reasons recorded when a session ends.
const (
	ReasonLogout         = "logout"
	ReasonLogoutAll      = "logout_all"
	ReasonRevokedByUser  = "revoked_by_user"
	ReasonPasswordChange = "password_changed"
	ReasonRefreshReused  = "refresh_reused"
	ReasonUserDisabled   = "user_disabled"
)

// SessionStore persists sessions and their refresh token families. Times
// come back in UTC, truncated to at least millisecond precision.
type SessionStore interface {
	// CreateSession inserts s and a RefreshRecord of generation s.Generation
	// for s.RefreshHash, atomically. It returns ErrConflict for a duplicate
	// id and ErrNotFound for an unknown user.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session or ErrNotFound.
	Session(ctx context.Context, id string) (*Session, error)
	// RefreshRecord returns the record of a refresh token hash or ErrNotFound.
	RefreshRecord(ctx context.Context, hash []byte) (*RefreshRecord, error)
	// RotateRefresh moves the session from generation r.From to r.From+1 with
	// r.NewHash as its current token, sets LastUsedAt and RotatedAt to r.Now and
	// records the new hash, all atomically. It returns ErrConflict when the
	// session is no longer at r.From or has been revoked, so that two
	// concurrent rotations can never both succeed. A session that does not
	// exist is ErrConflict or ErrNotFound.
	RotateRefresh(ctx context.Context, r Rotation) error
	// RevokeSession ends a session. Revoking an ended session keeps its first
	// revocation. It returns ErrNotFound.
	RevokeSession(ctx context.Context, id, reason string, now time.Time) error
	// RevokeUserSessions ends every unrevoked session of a user except the one
	// named by except (which may be empty), and returns the ids it ended.
	RevokeUserSessions(ctx context.Context, userID, except, reason string, now time.Time) ([]string, error)
	// ActiveSessions lists the live sessions of a user whose absolute
	// lifetime has not passed at now, most recently used first.
	ActiveSessions(ctx context.Context, userID string, now time.Time) ([]*Session, error)
	// RevokedSince lists sessions revoked at or after since.
	RevokedSince(ctx context.Context, since time.Time) ([]Revocation, error)
	// DeleteSessionsBefore removes sessions whose absolute lifetime ended, or
	// which were revoked, before t, with their refresh records.
	DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error)
}
