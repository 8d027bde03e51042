package token

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
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
// base64url alphabet, without allocating, over at most max bytes. It runs
// before any split or decode, so a flood of dots or an oversized value
// costs no more than a short token (CVE-2025-30204, I-01). It returns the
// positions of the two dots.
//
// It runs on every request, cache hits included, so the common case of a
// well-formed token is one branch-free pass over the bytes plus three
// (vectorised) searches for a dot; only a token that fails goes through
// shapeError to find which rule it broke first.
func checkShape(raw string, max int) (dot1, dot2 int, err error) {
	if len(raw) > max {
		return 0, 0, errTooLong
	}
	// The dots first: a flood of them stops at the third.
	dot1 = strings.IndexByte(raw, '.')
	if dot1 <= 0 {
		return 0, 0, shapeError(raw)
	}
	dot2 = strings.IndexByte(raw[dot1+1:], '.') + dot1 + 1
	if dot2 <= dot1+1 || dot2 == len(raw)-1 || strings.IndexByte(raw[dot2+1:], '.') >= 0 {
		return 0, 0, shapeError(raw)
	}
	// Eight bytes a step: with len(s) >= 8 known, the compiler drops the
	// bounds checks, and the table lookups are all that is left.
	var bad uint8
	s := raw
	for len(s) >= 8 {
		bad |= notShape[s[0]] | notShape[s[1]] | notShape[s[2]] | notShape[s[3]] |
			notShape[s[4]] | notShape[s[5]] | notShape[s[6]] | notShape[s[7]]
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		bad |= notShape[s[i]]
	}
	if bad != 0 {
		return 0, 0, shapeError(raw)
	}
	return dot1, dot2, nil
}

// shapeError returns the error for the first rule raw breaks, in the order
// a scan from the start meets them.
func shapeError(raw string) error {
	dots, dot1, dot2 := 0, 0, 0
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
				return errSegments
			}
		default:
			return errAlphabet
		}
	}
	if dots != 2 {
		return errSegments
	}
	if dot1 == 0 || dot2 == dot1+1 || dot2 == len(raw)-1 {
		return errEmptySegment
	}
	return invalid("token shape") // unreachable: checkShape found a rule broken
}

// notShape is 0 for the bytes of the unpadded base64url alphabet and the
// dot, 1 for every other byte.
var notShape = func() (t [256]uint8) {
	for c := range t {
		if !base64URL[c] && c != '.' {
			t[c] = 1
		}
	}
	return t
}()

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
	// Gatehouse signs whole seconds: up to 12 digits take the integer path,
	// which gives what ParseFloat would for them, exactly.
	if len(v) <= 12 && v[0] != '-' && (v[0] != '0' || len(v) == 1) {
		var n int64
		digits := true
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				digits = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if digits {
			if n > maxNumericDate {
				return time.Time{}, false
			}
			return time.Unix(n, 0).UTC(), true
		}
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
