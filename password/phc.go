package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// phcPrefix is the only variant and version accepted. Pinning it stops a
// stored hash from downgrading verification to argon2i, argon2d or the
// pre-1.3 algorithm.
const phcPrefix = "$argon2id$v=19$"

// b64 rejects padding and non-zero trailing bits, so each hash has exactly
// one encoding.
var b64 = base64.RawStdEncoding.Strict()

// encodePHC formats an argon2id hash as a PHC string.
func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ParsePHC parses an argon2id PHC string as written by Hasher.Hash. It is
// strict: the variant and version must be exactly argon2id v=19, the
// parameters exactly "m=M,t=T,p=P" in decimal without leading zeros and
// within the bounds of Params.Validate, the salt 8 to 64 bytes, the key 16
// to 64 bytes, both in unpadded standard base64, and nothing may follow the
// key. Any other input returns an error wrapping ErrMalformedHash; ParsePHC
// never panics. The strictness means a parsed hash re-encodes to exactly its
// input.
func ParsePHC(encoded string) (p Params, salt, key []byte, err error) {
	rest, ok := strings.CutPrefix(encoded, phcPrefix)
	if !ok {
		return Params{}, nil, nil, malformed("not argon2id v=19")
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return Params{}, nil, nil, malformed("want params, salt and key")
	}
	if p, err = parseParams(fields[0]); err != nil {
		return Params{}, nil, nil, err
	}
	if salt, err = decodeB64(fields[1], "salt", minSaltLen, maxSaltLen); err != nil {
		return Params{}, nil, nil, err
	}
	if key, err = decodeB64(fields[2], "key", minKeyLen, maxKeyLen); err != nil {
		return Params{}, nil, nil, err
	}
	return p, salt, key, nil
}

// parseParams parses "m=M,t=T,p=P".
func parseParams(s string) (Params, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Params{}, malformed("want m, t and p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		digits, ok := strings.CutPrefix(parts[i], name)
		if !ok {
			return Params{}, malformed("want m, t and p in that order")
		}
		v, err := parseDecimal(digits)
		if err != nil {
			return Params{}, err
		}
		vals[i] = v
	}
	if vals[2] > 255 {
		return Params{}, malformed("p out of range")
	}
	p := Params{MemoryKiB: uint32(vals[0]), Iterations: uint32(vals[1]), Parallelism: uint8(vals[2])}
	if vals[0] > maxMemoryKiB || vals[1] > maxIterations || p.Validate() != nil {
		return Params{}, malformed("params out of range")
	}
	return p, nil
}

// parseDecimal parses a canonical unsigned decimal of at most 10 digits:
// no sign, no leading zero, no separators.
func parseDecimal(s string) (uint64, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, malformed("bad number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, malformed("bad number")
		}
	}
	return strconv.ParseUint(s, 10, 64) // cannot fail: at most 10 digits
}

// decodeB64 decodes unpadded standard base64 of minLen to maxLen bytes.
func decodeB64(s, what string, minLen, maxLen int) ([]byte, error) {
	// The base64 decoder skips '\r' and '\n' even in strict mode; reject them
	// so that only the canonical encoding is accepted.
	if strings.ContainsAny(s, "\r\n") {
		return nil, malformed("bad " + what + " encoding")
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, malformed("bad " + what + " encoding")
	}
	if len(b) < minLen || len(b) > maxLen {
		return nil, malformed(what + " length out of range")
	}
	return b, nil
}

// malformed returns an error wrapping ErrMalformedHash. The reason never
// quotes the input, which holds a hash.
func malformed(reason string) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, reason)
}
