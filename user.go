package gatehouse

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/width"
)

// User is an account that can log in.
type User struct {
	ID           string
	Email        string // normalised (NormalizeEmail); for people to read, not to key on
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

// maxEmailInput bounds the text NormalizeEmail looks at: a full-width
// address takes three bytes a character before it is mapped to ASCII.
const maxEmailInput = 4 * maxEmailLen

// emailDomain checks and maps the domain of an address: UTS #46 mapping
// for lookup (full-width letters and dots to ASCII, upper to lower case),
// IDNA2008 validity and the bidi rule, letters, digits and hyphens in
// ASCII labels, and the lengths DNS allows.
var emailDomain = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.ValidateLabels(true),
	idna.StrictDomainName(true), idna.VerifyDNSLength(true), idna.Transitional(false))

// NormalizeEmail returns the one spelling of an address under which its
// account is stored and found, or an ErrInvalidInput for what is not an
// address. Two inputs a person cannot tell apart on screen must not name
// two accounts, so:
//
//   - characters that do not show are refused, not dropped: format
//     characters (U+200B zero width space, U+FEFF, U+00AD soft hyphen …),
//     bidi controls (U+202E …), other controls and spaces;
//   - full-width and half-width forms become their ordinary forms, so
//     "ｂｏｓｓ＠corp.example" is "boss@corp.example";
//   - the local part is lower-cased and checked as a PRECIS
//     UsernameCaseMapped identifier (RFC 8265): letters and digits of any
//     script and printable ASCII, in NFC;
//   - the domain is mapped and validated for lookup (UTS #46, IDNA2008)
//     and kept in its Unicode form: "xn--bcher-kva.example" and
//     "BÜCHER.example" are both "bücher.example".
//
// It does not catch look-alikes from different scripts ("bоss" with a
// Cyrillic о is another, valid address). Applications must therefore key
// on the user id, never on the email: the address is for people to read.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid("email", "is required")
	}
	bad := invalid("email", "is not a valid address")
	if len(s) > maxEmailInput || !utf8.ValidString(s) {
		return "", bad
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
			unicode.Is(unicode.Bidi_Control, r) || r == '<' || r == '>' || r == '"' || r == '\\' {
			return "", bad
		}
	}
	s = width.Fold.String(s)
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", bad
	}
	local, err := precis.UsernameCaseMapped.String(local)
	if err != nil {
		return "", bad
	}
	ascii, err := emailDomain.ToASCII(domain)
	if err != nil || strings.HasSuffix(ascii, ".") {
		return "", bad
	}
	domain, err = emailDomain.ToUnicode(ascii)
	if err != nil {
		return "", bad
	}
	e := local + "@" + domain
	if len(e) > maxEmailLen {
		return "", bad
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
