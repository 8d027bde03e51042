// Package password hashes, verifies and vets user passwords.
//
// Hashes are argon2id (RFC 9106) stored as PHC strings,
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with unpadded standard base64, the format of the reference implementation,
// so hashes move to and from other systems unchanged.
//
// A [Hasher] runs every argon2id computation through a bounded pool. Each
// computation allocates MemoryKiB of memory, so without a bound a flood of
// logins would exhaust the process's memory; with one, the excess is refused
// at once with [ErrOverloaded].
//
// [Rules] vets a new password the way NIST SP 800-63B asks: a minimum and a
// maximum length, a check against a list of common passwords, and nothing
// else. The list is the 30,000 most common passwords of the "passwords"
// frequency list of zxcvbn 4.4.2 (Dan Wheeler and Dropbox, Inc., MIT licence;
// see LICENSE-common-passwords.txt), lower-cased and de-duplicated.
package password

import (
	"errors"
	"fmt"
)

const (
	// SaltLen is the length in bytes of the random salt of every new hash.
	SaltLen = 16
	// KeyLen is the length in bytes of the derived key of every new hash.
	KeyLen = 32
)

// Bounds on the parameters of a hash. ParsePHC rejects a hash outside them,
// and NewHasher a Params outside them, so every hash a Hasher writes parses
// back and no stored hash can make Verify allocate absurd amounts of memory.
const (
	maxMemoryKiB  = 1 << 22 // 4 GiB
	maxIterations = 64
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 64
)

// ErrMalformedHash is returned (wrapped) by ParsePHC and Verify when an
// encoded hash is not a well-formed argon2id PHC string within bounds.
var ErrMalformedHash = errors.New("password: malformed hash")

// Params are argon2id cost parameters.
type Params struct {
	MemoryKiB   uint32 // m: memory in KiB
	Iterations  uint32 // t: passes over the memory
	Parallelism uint8  // p: lanes
}

// DefaultParams returns the smallest parameters OWASP's Password Storage
// Cheat Sheet recommends for argon2id: 19 MiB of memory, 2 iterations,
// 1 lane.
func DefaultParams() Params {
	return Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}
}

// Validate reports whether p is within the bounds this package accepts:
// Iterations 1 to 64, Parallelism at least 1, and MemoryKiB from
// 8*Parallelism (the argon2 minimum) to 4 GiB.
func (p Params) Validate() error {
	switch {
	case p.Parallelism < 1:
		return errors.New("password: invalid params: parallelism must be at least 1")
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("password: invalid params: iterations %d not in [1, %d]", p.Iterations, maxIterations)
	case p.MemoryKiB < 8*uint32(p.Parallelism) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("password: invalid params: memory %d KiB not in [%d, %d]",
			p.MemoryKiB, 8*uint32(p.Parallelism), maxMemoryKiB)
	}
	return nil
}
