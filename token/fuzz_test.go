package token_test

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/token"
)

// FuzzVerify checks two invariants: Verify never panics and fails only with
// ErrInvalid, and it accepts nothing but tokens the test keys signed. The
// seeds are every case of TestVerify plus a valid token per algorithm, so the
// fuzzer starts from the tokens most likely to be one mutation away from a
// bypass; since every accepted encoding is canonical (strict base64, low-S
// ECDSA), no mutation of a valid token may verify.
func FuzzVerify(f *testing.F) {
	fx := getFixture(f)
	v := fx.verifier()
	accepted := make(map[string]bool)
	for _, alg := range algorithms {
		accepted[fx.valid[alg]] = true
		f.Add(fx.valid[alg])
	}
	for _, g := range verifyGroups {
		for _, c := range g.cases(f, fx) {
			if len(c.raw) > 16<<10 {
				continue // the dot floods: covered by TestVerifyCheapRejection
			}
			f.Add(c.raw)
			if _, err := v.Verify(c.raw); err == nil {
				if !c.ok && c.v == nil {
					f.Fatalf("seed %s/%s verified, want rejection", g.id, c.name)
				}
				accepted[c.raw] = true // signed with a test key on purpose
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := v.Verify(raw)
		if err != nil {
			if !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Verify error %v does not match ErrInvalid", err)
			}
			return
		}
		if !accepted[raw] {
			t.Fatalf("Verify accepted %q (claims %+v), which no test key signed", raw, claims)
		}
	})
}
