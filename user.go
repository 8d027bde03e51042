package gatehouse

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// User is an account that can log in.
type User struct {
	ID           string
	Email        string // normalised: trimmed and lower-cased
	DisplayName  string
	PasswordHash string // argon2id PHC string; never leaves the server
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// UserStore persists users.
type UserStore interface {
	// CreateUser inserts u. It returns ErrEmailTaken when the email exists.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns the user or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail looks up a normalised email and returns the user or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UpdateDisplayName sets the display name. It returns ErrNotFound.
	UpdateDisplayName(ctx context.Context, id, name string, now time.Time) error
	// UpdatePasswordHash replaces the password hash. It returns ErrNotFound.
	UpdatePasswordHash(ctx context.Context, id, hash string, now time.Time) error
	// SetUserDisabled disables or enables the account. It returns ErrNotFound.
	SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) error
}

// maxEmailLen is the longest address RFC 5321 allows in a path.
const maxEmailLen = 254

// NormalizeEmail trims and lower-cases an email and checks its shape. Emails
// are compared case-insensitively, so "A@x.org " and "a@x.org" are one account.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" {
		return "", invalid("email", "is required")
	}
	if len(e) > maxEmailLen || !utf8.ValidString(e) {
		return "", invalid("email", "is not a valid address")
	}
	at := strings.IndexByte(e, '@')
	if at < 1 || at != strings.LastIndexByte(e, '@') || at == len(e)-1 {
		return "", invalid("email", "is not a valid address")
	}
	domain := e[at+1:]
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", invalid("email", "is not a valid address")
	}
	for _, r := range e {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' || r == '"' || r == '\\' {
			return "", invalid("email", "is not a valid address")
		}
	}
	return e, nil
}

// maxDisplayName bounds the display name in characters.
const maxDisplayName = 100

func validDisplayName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxDisplayName {
		return "", invalid("display_name", "must be at most 100 characters")
	}
	for _, r := range s {
		// Control and bidi-override characters are how log and UI spoofing
		// start; a display name has no use for them.
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return "", invalid("display_name", "contains control characters")
		}
	}
	return s, nil
}
