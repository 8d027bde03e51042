package token_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/token"
)

// vcase is one token and the verdict the verifier must reach.
type vcase struct {
	name   string
	raw    string
	ok     bool
	reason string          // substring the error must contain, when set
	v      *token.Verifier // nil: the fixture's verifier
}

func reject(name, raw, reason string) vcase { return vcase{name: name, raw: raw, reason: reason} }
func accept(name, raw string) vcase         { return vcase{name: name, raw: raw, ok: true} }

// group is one case of SECURITY-CASES.md (or a property of the verifier):
// its id names the subtest, so that `go test -run 'TestVerify/B-12'` finds it.
//
// In a claims group every token is validly signed and only its payload is at
// fault. Such a token must be rejected end to end (by whichever layer sees
// the fault first) and also by the strict payload layer alone, which is
// where reason is checked: golang-jwt and the strict decoder are independent
// parsers, and each must hold the line without the other.
type group struct {
	id     string
	cases  func(tb testing.TB, f *fixture) []vcase
	claims bool
}

// verifyGroups lists every verification case. FuzzVerify seeds from it too.
var verifyGroups = []group{
	{"positive_controls", casesPositive, false},
	{"A-01_payload_swapped", casesA01, false},
	{"A-02_alg_none_variants", casesA02, false},
	{"A-04_broken_signature", casesA04, false},
	{"A-05_alg_confusion_public_key_as_hmac", casesA05, false},
	{"A-06_weak_hmac_secret", casesA06, false},
	{"A-07_alg_outside_key_binding", casesA07, false},
	{"A-09_jwe_five_segments", casesA09, false},
	{"A-10_nested_cty_jwt", casesA10, false},
	{"A-12_segment_count", casesA12, false},
	{"A-14_expired_and_forged", casesA14, false},
	{"B-01_exp_absent", casesB01, true},
	{"B-02_exp_past_and_leeway", casesB02, true},
	{"B-03_leeway_abuse", casesB03, true},
	{"B-05_negative_or_tiny_times", casesB05, true},
	{"B-06_string_times", casesB06, true},
	{"B-07_absurd_lifetime", casesB07, true},
	{"B-09_nbf_future", casesB09, true},
	{"B-10_iat_future_or_missing", casesB10, true},
	{"B-11_issuer_mismatch", casesB11, true},
	{"B-12_audience_confusion", casesB12, true},
	{"B-13_subject_validity", casesB13, true},
	{"B-14_jti_required", casesB14, true},
	{"B-14_sid_required", casesSid, true},
	{"B-15_case_variant_and_duplicate_claims", casesB15, true},
	{"B-15_duplicate_header_parameters", casesB15Header, false},
	{"C-01_embedded_jwk", casesC01, false},
	{"C-02_jku", casesC02, false},
	{"C-03_x5u_x5c", casesC03, false},
	{"C-04_kid_path_traversal", casesC04, false},
	{"C-06_unknown_or_missing_kid", casesC06, false},
	{"C-07_alg_key_binding", casesC07, false},
	{"C-08_typ", casesC08, false},
	{"C-10_crit", casesC10, false},
	{"I-01_dot_flood", casesI01, false},
	{"I-02_oversized_token", casesI02, false},
	{"config_fails_closed", casesConfig, false},
}

func TestVerify(t *testing.T) {
	f := getFixture(t)
	for _, g := range verifyGroups {
		t.Run(g.id, func(t *testing.T) {
			for _, c := range g.cases(t, f) {
				t.Run(c.name, func(t *testing.T) {
					v := c.v
					if v == nil {
						v = f.verifier()
					}
					claims, err := v.Verify(c.raw)
					if c.ok {
						if err != nil {
							t.Fatalf("Verify: %v, want success", err)
						}
						if claims.Subject == "" || claims.ID == "" || claims.SessionID == "" {
							t.Errorf("Verify returned claims %+v, want sub, jti and sid", claims)
						}
						if g.claims {
							if _, err := v.VerifyClaimsOnly(c.raw); err != nil {
								t.Errorf("VerifyClaimsOnly: %v, want success", err)
							}
						}
						return
					}
					if g.claims {
						checkRejected(t, err, "")
						if strings.Contains(err.Error(), "signature") {
							t.Errorf("error %q: the case is meant to be validly signed", err)
						}
						_, err = v.VerifyClaimsOnly(c.raw)
					}
					checkRejected(t, err, c.reason)
					// §0.3a: the untouched token still verifies afterwards.
					if _, err := f.verifier().Verify(f.valid[token.EdDSA]); err != nil {
						t.Errorf("regression control: Verify(valid): %v", err)
					}
				})
			}
		})
	}
}

// TestVerifyNilVerifier checks that a nil *Verifier rejects rather than panics.
func TestVerifyNilVerifier(t *testing.T) {
	var v *token.Verifier
	_, err := v.Verify(getFixture(t).valid[token.EdDSA])
	checkRejected(t, err, "nil verifier")
}

// TestVerifyClaims checks that Verify returns the claims that were signed.
func TestVerifyClaims(t *testing.T) {
	f := getFixture(t)
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			want := validClaims()
			want.Audience = []string{"other", testAud}
			raw, err := token.Sign(f.key(alg), want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.verifier().Verify(raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Issuer != want.Issuer || got.Subject != want.Subject || got.ID != want.ID || got.SessionID != want.SessionID ||
				strings.Join(got.Audience, " ") != strings.Join(want.Audience, " ") ||
				!got.IssuedAt.Equal(want.IssuedAt) || !got.NotBefore.Equal(want.NotBefore) || !got.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("Verify = %+v, want %+v", got, want)
			}
		})
	}
}

// TestVerifyConcurrent runs one Verifier from many goroutines (run with -race).
func TestVerifyConcurrent(t *testing.T) {
	f := getFixture(t)
	v := f.verifier()
	done := make(chan error)
	for i := range 8 {
		go func() {
			var err error
			for j := range 50 {
				raw := f.valid[algorithms[(i+j)%len(algorithms)]]
				if _, e := v.Verify(raw); e != nil {
					err = e
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
}

// TestVerifySharedVerifier runs every case through one Verifier, right
// after a valid token, so that the header of the last token it parsed is
// reused whenever a case's header has the same bytes: that reuse must never
// change a verdict (a forged signature or payload under a known header, a
// look-alike header, a header with another alg or typ for the same kid).
func TestVerifySharedVerifier(t *testing.T) {
	f := getFixture(t)
	v := f.verifier()
	valid := f.valid[token.EdDSA]
	for _, g := range verifyGroups {
		for _, c := range g.cases(t, f) {
			if c.v != nil {
				continue
			}
			if _, err := v.Verify(valid); err != nil {
				t.Fatalf("%s: the valid token before it: %v", g.id, err)
			}
			_, err := v.Verify(c.raw)
			if (err == nil) != c.ok {
				t.Errorf("%s/%s: shared verifier says %v, want accepted=%v", g.id, c.name, err, c.ok)
			}
			if err != nil && c.reason != "" && !g.claims && !strings.Contains(err.Error(), c.reason) {
				t.Errorf("%s/%s: %v, want the reason %q", g.id, c.name, err, c.reason)
			}
		}
	}
}
