package token_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/token"
)

// FuzzVerifyCached drives the verification path the server uses, the Cache
// in front of a Verifier, and checks that the cache changes nothing but the
// cost: for every input, the first answer (a miss), the second (a hit when
// the first accepted) and the uncached Verifier's agree on the verdict and
// on the claims, every error matches ErrInvalid, and only a token the test
// keys signed is ever accepted. The cache is warmed with every valid token
// first and is small, so fuzzed near-misses of cached tokens, hits and
// evictions all happen.
func FuzzVerifyCached(f *testing.F) {
	fx := getFixture(f)
	v := fx.verifier()
	cache := token.NewCache(fx.verifier(), 64)
	accepted := make(map[string]bool)
	for _, alg := range algorithms {
		accepted[fx.valid[alg]] = true
		f.Add(fx.valid[alg])
	}
	for _, g := range verifyGroups {
		for _, c := range g.cases(f, fx) {
			if len(c.raw) > 16<<10 || c.v != nil {
				continue // dot floods and cases for another verifier
			}
			f.Add(c.raw)
			if _, err := v.Verify(c.raw); err == nil {
				accepted[c.raw] = true // signed with a test key on purpose
			}
		}
	}
	// I-01 in seed-sized form: the shape check must answer these before the
	// cache or any decoding sees them.
	f.Add(strings.Repeat(".", 4096))
	f.Add(strings.Repeat("a.", 2048))
	f.Add(fx.valid[token.EdDSA] + ".")
	for raw := range accepted {
		if _, err := cache.Verify(raw); err != nil {
			f.Fatalf("cache rejects a seed the verifier accepts: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, werr := v.Verify(raw)
		first, ferr := cache.Verify(raw)
		second, serr := cache.Verify(raw)
		for _, err := range []error{werr, ferr, serr} {
			if err != nil && !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
		}
		if (werr == nil) != (ferr == nil) || (ferr == nil) != (serr == nil) {
			t.Fatalf("verdicts differ on %q: verifier %v, cache miss %v, cache hit %v", raw, werr, ferr, serr)
		}
		if werr != nil {
			return
		}
		if !accepted[raw] {
			t.Fatalf("accepted %q (claims %+v), which no test key signed", raw, want)
		}
		if !reflect.DeepEqual(first, want) || !reflect.DeepEqual(second, want) {
			t.Fatalf("claims differ on %q: verifier %+v, cache miss %+v, cache hit %+v", raw, want, first, second)
		}
	})
}
