package password

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Errors returned (wrapped) by Rules.Check.
var (
	ErrTooShort = errors.New("password: too short")
	ErrTooLong  = errors.New("password: too long")
	ErrCommon   = errors.New("password: too common")
)

// Defaults of Rules.
const (
	// DefaultMinLength is NIST SP 800-63B's minimum.
	DefaultMinLength = 8
	// DefaultMaxLength leaves room for passphrases (NIST asks for at least
	// 64) while bounding the work an attacker can make one request cause.
	DefaultMaxLength = 128
)

// Rules checks a candidate password before hashing. Lengths are in bytes;
// a zero MinLength means DefaultMinLength and a zero MaxLength
// DefaultMaxLength.
//
// Following NIST SP 800-63B, there are no composition rules (they push users
// to predictable patterns like "Password1!"), and the password is never
// transformed: no trimming, case folding or Unicode normalisation, so every
// byte the user typed counts.
type Rules struct {
	MinLength, MaxLength int
}

// Check returns an error wrapping ErrTooLong, ErrTooShort or ErrCommon if pw
// breaks r, and nil otherwise. The message never contains pw.
func (r Rules) Check(pw string) error {
	minLen, maxLen := r.MinLength, r.MaxLength
	if minLen == 0 {
		minLen = DefaultMinLength
	}
	if maxLen == 0 {
		maxLen = DefaultMaxLength
	}
	// Decided first, before any other work on pw, so a megabyte "password"
	// cannot make the server hash or scan it (long-password DoS).
	if len(pw) > maxLen {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLong, maxLen)
	}
	if len(pw) < minLen {
		return fmt.Errorf("%w: fewer than %d bytes", ErrTooShort, minLen)
	}
	if IsCommon(pw) || Predictable(pw) {
		return ErrCommon
	}
	return nil
}

// walks are character sequences people type as passwords: the alphabet,
// digits, and keyboard rows of common layouts.
var walks = func() []string {
	base := []string{
		strings.Repeat("0123456789", 4),
		"abcdefghijklmnopqrstuvwxyz",
		"qwertyuiopasdfghjklzxcvbnm",
		"qwertzuiopasdfghjklyxcvbnm",
		"azertyuiopqsdfghjklmwxcvbn",
		"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
		"zaq1xsw2cde3vfr4bgt5nhy6mju7",
		"!@#$%^&*()_+",
	}
	out := base
	for _, w := range base {
		r := []byte(w)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		out = append(out, string(r))
	}
	return out
}()

// Predictable reports whether pw is built in a way that attackers' guess
// lists cover even when the exact string is not in the common list: a
// keyboard or alphabet walk ("qwertyuiopasdfgh", "1234567890123456"), a
// short unit or a common password repeated ("passwordpassword"), or a
// common password with a few digits or symbols added ("dragon2026!").
func Predictable(pw string) bool {
	lower := strings.ToLower(pw)
	for _, w := range walks {
		if strings.Contains(w, lower) {
			return true
		}
	}
	for p := 1; p <= len(lower)/2; p++ {
		if len(lower)%p == 0 && strings.Repeat(lower[:p], len(lower)/p) == lower {
			if p <= 4 || IsCommon(lower[:p]) {
				return true
			}
		}
	}
	base := strings.TrimRightFunc(lower, func(r rune) bool {
		return (r >= '0' && r <= '9') || strings.ContainsRune("!@#$%^&*()-_=+.,?;:~ ", r)
	})
	base = strings.TrimLeftFunc(base, func(r rune) bool {
		return (r >= '0' && r <= '9') || strings.ContainsRune("!@#$%^&*()-_=+.,?;:~ ", r)
	})
	if len(base) >= 4 && len(lower)-len(base) <= 6 && IsCommon(base) {
		return true
	}
	return false
}

//go:embed common-passwords.txt
var commonList string

// commonSet is the common-password list as a set, built on first use.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	lines := strings.Split(strings.TrimSuffix(commonList, "\n"), "\n")
	set := make(map[string]struct{}, len(lines))
	for _, l := range lines {
		set[l] = struct{}{}
	}
	return set
})

// IsCommon reports whether pw, ignoring case, is in the embedded list of
// common passwords. Case is ignored only for this lookup: "PASSWORD" is as
// guessable as "password".
func IsCommon(pw string) bool {
	_, ok := commonSet()[strings.ToLower(pw)]
	return ok
}
