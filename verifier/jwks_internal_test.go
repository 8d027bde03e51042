package verifier

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/token"
)

func jwkOf(t *testing.T, alg string) map[string]any {
	t.Helper()
	k, err := token.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	j, ok := k.JWK()
	if !ok {
		t.Fatalf("no JWK for %s", alg)
	}
	return j
}

func parse(t *testing.T, m map[string]any) (*token.Key, error) {
	t.Helper()
	b, _ := json.Marshal(m)
	var raw map[string]json.RawMessage
	json.Unmarshal(b, &raw)
	return parseJWK(raw)
}

func TestParseJWK(t *testing.T) {
	for _, alg := range []string{token.EdDSA, token.ES256, token.RS256} {
		k, err := parse(t, jwkOf(t, alg))
		if err != nil || k.Algorithm != alg || k.Private != nil {
			t.Errorf("%s: key %+v, err %v; want a verify-only %s key", alg, k, err, alg)
		}
	}
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	b64 := base64.RawURLEncoding.EncodeToString
	bad := map[string]func() map[string]any{
		"private d":     func() map[string]any { j := jwkOf(t, token.EdDSA); j["d"] = "AAAA"; return j },
		"rsa private p": func() map[string]any { j := jwkOf(t, token.RS256); j["p"] = "AAAA"; return j },
		"oct": func() map[string]any {
			return map[string]any{"kty": "oct", "kid": "h", "alg": "HS256", "k": b64(make([]byte, 32))}
		},
		"alg swapped":     func() map[string]any { j := jwkOf(t, token.EdDSA); j["alg"] = "ES256"; return j },
		"no alg":          func() map[string]any { j := jwkOf(t, token.ES256); delete(j, "alg"); return j },
		"use enc":         func() map[string]any { j := jwkOf(t, token.EdDSA); j["use"] = "enc"; return j },
		"no kid":          func() map[string]any { j := jwkOf(t, token.EdDSA); delete(j, "kid"); return j },
		"P-384":           func() map[string]any { j := jwkOf(t, token.ES256); j["crv"] = "P-384"; return j },
		"point off curve": func() map[string]any { j := jwkOf(t, token.ES256); j["y"] = b64(make([]byte, 32)); return j },
		"short x":         func() map[string]any { j := jwkOf(t, token.EdDSA); j["x"] = b64(make([]byte, 31)); return j },
		"padded x":        func() map[string]any { j := jwkOf(t, token.EdDSA); j["x"] = j["x"].(string) + "="; return j },
		"rsa 1024": func() map[string]any {
			return map[string]any{"kty": "RSA", "kid": "w", "alg": "RS256", "n": b64(weak.N.Bytes()), "e": b64(big.NewInt(int64(weak.E)).Bytes())}
		},
		"rsa even e": func() map[string]any { j := jwkOf(t, token.RS256); j["e"] = b64([]byte{2}); return j },
		"kid number": func() map[string]any { j := jwkOf(t, token.EdDSA); j["kid"] = 7; return j },
	}
	for name, mk := range bad {
		if k, err := parse(t, mk()); err == nil {
			t.Errorf("%s: accepted as %+v", name, k)
		}
	}
}

func TestParseJWKSDuplicateKid(t *testing.T) {
	a, b := jwkOf(t, token.EdDSA), jwkOf(t, token.EdDSA)
	b["kid"] = a["kid"]
	c := jwkOf(t, token.ES256)
	doc, _ := json.Marshal(map[string]any{"keys": []any{a, b, c}})
	keys, err := parseJWKS(doc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[c["kid"].(string)] == nil {
		t.Fatalf("keys = %v, want only the unambiguous one", keys)
	}
	if _, err := parseJWKS([]byte(`{"keys":[`+strings.Repeat(`{},`, maxJWKs)+`{}]}`), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("an oversized JWKS was accepted")
	}
}
