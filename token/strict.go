package token

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
)

// DefaultMaxLength is the longest token Verify accepts when
// Verifier.MaxLength is 0. A cookie cannot carry more than 4096 bytes anyway.
const DefaultMaxLength = 4096

// Shape failures are preallocated: rejecting a hostile token costs no memory
// at all, whatever its size (I-01, I-02).
var (
	errTooLong      = invalid("token longer than the length limit")
	errSegments     = invalid("token does not have exactly three segments")
	errEmptySegment = invalid("token has an empty segment")
	errAlphabet     = invalid("token has a character outside the base64url alphabet")
)

// checkShape rejects anything but three non-empty segments of the unpadded
// base64url alphabet, in one pass over at most max bytes and without
// allocating. It runs before any split or decode, so a flood of dots or an
// oversized value costs no more than a short token (CVE-2025-30204, I-01).
// It returns the positions of the two dots.
func checkShape(raw string, max int) (dot1, dot2 int, err error) {
	if len(raw) > max {
		return 0, 0, errTooLong
	}
	dots := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case base64URL[c]:
		case c == '.':
			dots++
			switch dots {
			case 1:
				dot1 = i
			case 2:
				dot2 = i
			default:
				return 0, 0, errSegments
			}
		default:
			return 0, 0, errAlphabet
		}
	}
	if dots != 2 {
		return 0, 0, errSegments
	}
	if dot1 == 0 || dot2 == dot1+1 || dot2 == len(raw)-1 {
		return 0, 0, errEmptySegment
	}
	return dot1, dot2, nil
}

// base64URL marks the bytes of the unpadded base64url alphabet.
var base64URL = func() (t [256]bool) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = true
	}
	return t
}()

// strictB64 decodes unpadded base64url and rejects non-zero trailing bits, so
// every byte string has exactly one accepted encoding.
var strictB64 = base64.RawURLEncoding.Strict()

// numericDate returns v as a time when it is a JSON number (not a string:
// B-06) of seconds in [0, maxNumericDate]. Fractions are kept to the
// nanosecond.
func numericDate(v string) (time.Time, bool) {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	nsec := math.Round((f - sec) * 1e9)
	return time.Unix(int64(sec), int64(nsec)).UTC(), true
}

// quote returns s quoted for a log line, cut to 64 bytes.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "..."
	}
	return strconv.Quote(s)
}

// equalFoldASCII reports whether s equals lower, which is lower-case ASCII,
// ignoring ASCII case only (media types compare this way, RFC 2045).
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
