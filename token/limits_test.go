package token_test

// Cases of section I of SECURITY-CASES.md (denial of service and limits),
// and the verifier's own configuration failing closed.

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/token"
)

func casesI01(tb testing.TB, f *fixture) []vcase {
	wide := f.verifier()
	wide.MaxLength = 1 << 21
	dots := strings.Repeat(".", 900000)
	as := strings.Repeat("a.", 450000)
	return []vcase{
		reject(`"."x900000`, dots, "length limit"),
		reject(`"a."x450000`, as, "length limit"),
		{name: `"."x900000 under a 2 MiB limit`, raw: dots, v: wide, reason: "three segments"},
		{name: `"a."x450000 under a 2 MiB limit`, raw: as, v: wide, reason: "three segments"},
	}
}

func casesI02(tb testing.TB, f *fixture) []vcase {
	atLimit, overLimit := tokensOfLength(tb, f, token.DefaultMaxLength)
	short := f.verifier()
	short.MaxLength = len(f.valid[token.EdDSA]) - 1
	return []vcase{
		accept("valid token of exactly DefaultMaxLength bytes", atLimit),
		reject("valid token of DefaultMaxLength+1 bytes", overLimit, "length limit"),
		reject("MaxLength+1 bytes of base64url letters", strings.Repeat("a", token.DefaultMaxLength+1), "length limit"),
		reject("1 MiB token of valid-looking segments", strings.Repeat("a", 1<<19)+"."+strings.Repeat("b", 1<<19)+".c", "length limit"),
		{name: "valid token one byte over a custom MaxLength", raw: f.valid[token.EdDSA], v: short, reason: "length limit"},
	}
}

// tokensOfLength returns validly signed tokens of exactly n and n+1 bytes,
// padded with an extra claim.
func tokensOfLength(tb testing.TB, f *fixture, n int) (exact, over string) {
	tb.Helper()
	for pad := 0; pad < n && (exact == "" || over == ""); pad++ {
		for _, sub := range []string{"user-victim", "user-victim2", "user-victim23"} {
			raw := f.edToken(tb, payload(set("sub", q(sub)), add("pad", q(strings.Repeat("p", pad)))))
			switch len(raw) {
			case n:
				exact = raw
			case n + 1:
				over = raw
			}
		}
	}
	if exact == "" || over == "" {
		tb.Fatalf("no tokens of %d and %d bytes", n, n+1)
	}
	return exact, over
}

func casesConfig(tb testing.TB, f *fixture) []vcase {
	raw := f.valid[token.EdDSA]
	broken := map[string]func(v *token.Verifier){
		"no Keys":            func(v *token.Verifier) { v.Keys = nil },
		"no Issuer":          func(v *token.Verifier) { v.Issuer = "" },
		"no Audience":        func(v *token.Verifier) { v.Audience = "" },
		"zero MaxTTL":        func(v *token.Verifier) { v.MaxTTL = 0 },
		"negative Leeway":    func(v *token.Verifier) { v.Leeway = -time.Second },
		"negative MaxLength": func(v *token.Verifier) { v.MaxLength = -1 },
	}
	var cs []vcase
	for name, breakIt := range broken {
		v := f.verifier()
		breakIt(v)
		cs = append(cs, vcase{name: name, raw: raw, v: v, reason: "misconfigured"})
	}
	cs = append(cs, vcase{name: "zero Verifier", raw: raw, v: &token.Verifier{}, reason: "misconfigured"})
	tight := f.verifier()
	tight.MaxTTL = testTTL - time.Second
	cs = append(cs, vcase{name: "token lifetime above a shorter MaxTTL", raw: raw, v: tight, reason: "MaxTTL"})
	return cs
}

// TestVerifyCheapRejection covers I-01 and I-02 beyond the verdict: a huge
// hostile token is rejected with a constant, tiny number of allocations and
// in about the time of a short one.
func TestVerifyCheapRejection(t *testing.T) {
	f := getFixture(t)
	wide := f.verifier()
	wide.MaxLength = 1 << 21
	const maxAllocs = 2 // a small constant, independent of the input size
	for _, c := range []struct {
		name string
		raw  string
		v    *token.Verifier
		o1   bool // rejected in constant time, not just constant memory
	}{
		{`I-01_dot_flood/"."x900000`, strings.Repeat(".", 900000), f.verifier(), true},
		{`I-01_dot_flood/"a."x450000`, strings.Repeat("a.", 450000), f.verifier(), true},
		{`I-01_dot_flood/"."x900000_under_2MiB_limit`, strings.Repeat(".", 900000), wide, true},
		{`I-01_dot_flood/"a."x450000_under_2MiB_limit`, strings.Repeat("a.", 450000), wide, true},
		{`I-01_dot_flood/alphabet_violation_at_the_end_under_2MiB_limit`, strings.Repeat("a", 900000) + ".b.c=", wide, false},
		{"I-02_oversized_token/MaxLength+1", strings.Repeat("a", token.DefaultMaxLength-3) + ".b.c", f.verifier(), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := c.v.Verify(c.raw); err == nil {
					t.Fatal("accepted")
				}
			})
			if allocs > maxAllocs {
				t.Errorf("Verify allocated %.0f times per call, want <= %d", allocs, maxAllocs)
			}
			if !c.o1 {
				return // a linear scan: constant memory is the property
			}
			const runs = 100
			start := time.Now()
			for range runs {
				c.v.Verify(c.raw)
			}
			// These stop at the length check or the third dot, within
			// nanoseconds; the bound is loose so that a loaded CI machine
			// or -race cannot make the test flaky.
			if per := time.Since(start) / runs; per > 5*time.Millisecond {
				t.Errorf("rejection took %v per call, want it to stop before reading the input", per)
			}
		})
	}
}
