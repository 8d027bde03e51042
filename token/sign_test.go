package token_test

import (
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/token"
)

// TestSignVerifyRoundTrip is the positive control for each algorithm: a
// token from Sign verifies, the JWK is published for asymmetric keys only,
// and a verify-only copy of the key (what a JWKS consumer holds) suffices.
func TestSignVerifyRoundTrip(t *testing.T) {
	f := getFixture(t)
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			k := f.key(alg)
			raw, err := token.Sign(k, validClaims())
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if _, err := f.verifier().Verify(raw); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			_, hasJWK := k.JWK()
			if want := alg != token.HS256; hasJWK != want {
				t.Errorf("JWK() ok = %v, want %v", hasJWK, want)
			}
			v := f.verifier()
			v.Keys = keySet{k.ID: {ID: k.ID, Algorithm: alg, Public: k.Public}}
			if _, err := v.Verify(raw); err != nil {
				t.Errorf("Verify with a verify-only key: %v", err)
			}
		})
	}
}

// TestSign covers B-17: what Sign puts in a token, and nothing more.
func TestSign(t *testing.T) {
	f := getFixture(t)
	for _, alg := range algorithms {
		t.Run("B-17_issued_token_hygiene/"+alg, func(t *testing.T) {
			k := f.key(alg)
			raw, err := token.Sign(k, validClaims())
			if err != nil {
				t.Fatal(err)
			}
			h, p, _ := parts(t, raw)
			hdr := decodeJSON(t, h)
			if got := keys(hdr); got != "alg kid typ" {
				t.Errorf("header parameters %q, want %q", got, "alg kid typ")
			}
			if hdr["typ"] != token.Type || hdr["alg"] != alg || hdr["kid"] != k.ID {
				t.Errorf("header %v, want typ %q alg %q kid %q", hdr, token.Type, alg, k.ID)
			}
			claims := decodeJSON(t, p)
			if got, want := keys(claims), "aud exp iat iss jti nbf sid sub"; got != want {
				t.Errorf("claims %q, want exactly %q (no PII, no secrets)", got, want)
			}
			if aud, ok := claims["aud"].(string); !ok || aud != testAud {
				t.Errorf("aud = %#v, want the single string %q", claims["aud"], testAud)
			}
			iat, exp := seconds(t, claims["iat"]), seconds(t, claims["exp"])
			if time.Duration(exp-iat)*time.Second != testTTL {
				t.Errorf("exp - iat = %ds, want %v", exp-iat, testTTL)
			}
			if nbf := seconds(t, claims["nbf"]); nbf != iat {
				t.Errorf("nbf = %d, want iat %d", nbf, iat)
			}
		})
	}
	t.Run("B-17_issued_token_hygiene/several_audiences_are_an_array", func(t *testing.T) {
		c := validClaims()
		c.Audience = []string{testAud, "billing"}
		raw, err := token.Sign(f.ed, c)
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := parts(t, raw)
		aud, ok := decodeJSON(t, p)["aud"].([]any)
		if !ok || len(aud) != 2 || aud[0] != testAud || aud[1] != "billing" {
			t.Errorf("aud = %#v, want [%q, \"billing\"]", aud, testAud)
		}
	})
	t.Run("B-17_issued_token_hygiene/zero_nbf_means_iat_and_times_are_whole_seconds", func(t *testing.T) {
		c := validClaims()
		c.NotBefore = time.Time{}
		c.IssuedAt = c.IssuedAt.Add(900 * time.Millisecond)
		c.ExpiresAt = c.ExpiresAt.Add(900 * time.Millisecond)
		raw, err := token.Sign(f.ed, c)
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := parts(t, raw)
		claims := decodeJSON(t, p)
		for _, name := range []string{"iat", "nbf", "exp"} {
			if n := claims[name].(json.Number); strings.ContainsAny(string(n), ".eE") {
				t.Errorf("%s = %s, want whole seconds", name, n)
			}
		}
		if claims["nbf"] != claims["iat"] {
			t.Errorf("nbf = %v, want iat %v", claims["nbf"], claims["iat"])
		}
	})
}

func TestSignRejects(t *testing.T) {
	f := getFixture(t)
	edit := func(fn func(*token.Claims)) token.Claims {
		c := validClaims()
		fn(&c)
		return c
	}
	short := []byte("short")
	for _, c := range []struct {
		name   string
		key    *token.Key
		claims token.Claims
	}{
		{"nil key", nil, validClaims()},
		{"verify-only key", &token.Key{ID: f.ed.ID, Algorithm: token.EdDSA, Public: f.ed.Public}, validClaims()},
		{"key without kid", &token.Key{Algorithm: token.EdDSA, Private: f.ed.Private}, validClaims()},
		{"key with alg none", &token.Key{ID: "n", Algorithm: "none", Private: f.ed.Private}, validClaims()},
		{"key with mismatched alg", &token.Key{ID: "n", Algorithm: token.RS256, Private: f.ed.Private}, validClaims()},
		{"A-06 short HS256 secret", &token.Key{ID: "n", Algorithm: token.HS256, Private: short, Public: short}, validClaims()},
		{"empty issuer", f.ed, edit(func(c *token.Claims) { c.Issuer = "" })},
		{"empty subject", f.ed, edit(func(c *token.Claims) { c.Subject = "" })},
		{"empty jti", f.ed, edit(func(c *token.Claims) { c.ID = "" })},
		{"empty sid", f.ed, edit(func(c *token.Claims) { c.SessionID = "" })},
		{"no audience", f.ed, edit(func(c *token.Claims) { c.Audience = nil })},
		{"empty audience", f.ed, edit(func(c *token.Claims) { c.Audience = []string{testAud, ""} })},
		{"zero iat", f.ed, edit(func(c *token.Claims) { c.IssuedAt = time.Time{} })},
		{"zero exp", f.ed, edit(func(c *token.Claims) { c.ExpiresAt = time.Time{} })},
		{"exp equals iat", f.ed, edit(func(c *token.Claims) { c.ExpiresAt = c.IssuedAt })},
		{"exp before iat", f.ed, edit(func(c *token.Claims) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) })},
		{"exp after year 9999", f.ed, edit(func(c *token.Claims) { c.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })},
	} {
		t.Run(c.name, func(t *testing.T) {
			if raw, err := token.Sign(c.key, c.claims); err == nil {
				t.Errorf("Sign = %q, want an error", raw)
			}
		})
	}
}

// TestNewID covers B-14: jti values are distinct and carry 128 random bits.
func TestNewID(t *testing.T) {
	t.Run("B-14_jti_unique", func(t *testing.T) {
		seen := make(map[string]bool)
		for range 1000 {
			id := token.NewID()
			b, err := base64.RawURLEncoding.Strict().DecodeString(id)
			if err != nil || len(b) < 16 {
				t.Fatalf("NewID() = %q: %d bytes (%v), want >= 16 bytes (128 bits) base64url", id, len(b), err)
			}
			if seen[id] {
				t.Fatalf("NewID() repeated %q", id)
			}
			seen[id] = true
		}
	})
}

func keys(m map[string]any) string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

func seconds(tb testing.TB, v any) int64 {
	tb.Helper()
	n, ok := v.(json.Number)
	if !ok {
		tb.Fatalf("%#v is not a JSON number", v)
	}
	i, err := n.Int64()
	if err != nil {
		tb.Fatalf("%s is not whole seconds: %v", n, err)
	}
	return i
}
