// Package token signs and verifies Gatehouse access tokens: short-lived JWTs
// of the explicit type at+jwt (RFC 9068), carried in the __Host-access cookie.
//
// The verifier is the product's main security boundary, so it accepts a much
// narrower language than JWT allows (RFC 8725). A token must be at most
// MaxLength bytes of exactly three non-empty base64url segments; its header may
// hold only alg, typ and kid; the key comes from the kid alone and must be
// bound to exactly the algorithm the header names; the signature is then
// checked by golang-jwt v5; and the payload is decoded a second time, strictly
// (no duplicate or case-variant claim names, typed claims, bounded times), so
// that no claim the library tolerates can slip past. Everything that is not
// understood is rejected: there are no key URLs to fetch, no embedded keys, no
// crit extensions, no nesting and no "none".
//
// Every verification failure satisfies errors.Is(err, ErrInvalid). The text of
// the error says precisely why, for the log; callers show a single generic
// message and never branch on the reason (an expired-versus-forged distinction
// is an oracle, CVE-2024-51744).
package token

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
)

// Type is the JOSE "typ" of an access token (RFC 9068 §2.1). Verify also
// accepts its media type form "application/at+jwt", case-insensitively.
const Type = "at+jwt"

// The signing algorithms a Key may use. Each key is bound to exactly one.
const (
	EdDSA = "EdDSA" // Ed25519
	ES256 = "ES256" // ECDSA P-256 with SHA-256
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, at least 2048-bit keys
	HS256 = "HS256" // HMAC SHA-256, at least 32-byte secrets

	// DefaultAlgorithm is the algorithm new deployments should sign with:
	// small keys, fast, deterministic and without parameter pitfalls.
	DefaultAlgorithm = EdDSA
)

// ErrInvalid is the error every verification failure matches with errors.Is.
// The wrapped text gives the precise reason for logs only.
var ErrInvalid = errors.New("token: invalid")

// invalidError is a verification failure: ErrInvalid plus the reason.
type invalidError struct{ reason string }

func (e *invalidError) Error() string { return ErrInvalid.Error() + ": " + e.reason }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(reason string) error { return &invalidError{reason: reason} }

// idBytes is the entropy of NewID and of generated key ids: 128 bits, the
// floor for unguessable identifiers (ASVS 7.2.3).
const idBytes = 16

// NewID returns 16 random bytes from crypto/rand, base64url-encoded without
// padding (22 characters). It is meant for jti values and key ids.
func NewID() string {
	var b [idBytes]byte
	// crypto/rand.Read never returns an error since Go 1.24: it crashes the
	// program rather than hand out predictable bytes.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewKeyID is NewID for key ids: it never starts with "-", so that a kid
// pasted after a command (gatehouse keys retire KID) is never read as a
// flag. One id in 64 is drawn again, which leaves 127.9 bits.
func NewKeyID() string {
	for {
		if id := NewID(); id[0] != '-' {
			return id
		}
	}
}
