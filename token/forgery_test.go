package token_test

// Cases of section A of SECURITY-CASES.md: token forgery and signature
// validation, plus the positive controls every negative case is measured by.

import (
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/token"
)

func casesPositive(tb testing.TB, f *fixture) []vcase {
	cs := []vcase{accept("hand-written baseline", f.edToken(tb, payload()))}
	for _, alg := range algorithms {
		cs = append(cs, accept("Sign "+alg, f.valid[alg]))
	}
	return cs
}

func casesA01(tb testing.TB, f *fixture) []vcase {
	var cs []vcase
	for _, alg := range algorithms {
		h, _, s := parts(tb, f.valid[alg])
		admin := b64(payload(set("sub", q("user-admin")), add("role", q("admin"))))
		cs = append(cs, reject(alg+" sub=admin role=admin, signature kept", h+"."+admin+"."+s, "signature is invalid"))
	}
	return cs
}

func casesA02(tb testing.TB, f *fixture) []vcase {
	_, _, sig := parts(tb, f.valid[token.EdDSA])
	admin := b64(payload(set("sub", q("user-admin"))))
	var cs []vcase
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		h := b64(header(alg, f.ed.ID))
		cs = append(cs,
			reject(alg+" empty signature", h+"."+admin+".", "empty segment"),
			reject(alg+" original signature", h+"."+admin+"."+sig, "does not match"),
		)
	}
	noKid := b64(header("none", "", del("kid")))
	cs = append(cs, reject("none without kid", noKid+"."+admin+"."+sig, "kid missing"))
	return cs
}

func casesA04(tb testing.TB, f *fixture) []vcase {
	var cs []vcase
	other := validClaims()
	other.ID, other.Subject = "jti-other", "user-other"
	for _, alg := range algorithms {
		raw := f.valid[alg]
		h, p, s := parts(tb, raw)
		sig, _ := b64decode(s)
		flipped := append([]byte(nil), sig...)
		flipped[len(flipped)/2] ^= 0x10
		otherTok, err := token.Sign(f.key(alg), other)
		if err != nil {
			tb.Fatal(err)
		}
		_, _, otherSig := parts(tb, otherTok)
		cs = append(cs,
			reject(alg+" last 4 characters dropped", raw[:len(raw)-4], ""),
			reject(alg+" bit flipped in middle byte", h+"."+p+"."+b64b(flipped), ""),
			reject(alg+" signature of another token", h+"."+p+"."+otherSig, "signature is invalid"),
		)
		if len(sig)%3 != 0 { // the last character carries unused bits
			cs = append(cs, reject(alg+" non-canonical base64 of the same signature", h+"."+p+"."+nonCanonical(s), "base64"))
		}
	}
	// ECDSA is malleable: (r, n-s) verifies wherever (r, s) does. Only the
	// low-S form is accepted, so a token has exactly one valid encoding.
	h, p, s := parts(tb, f.valid[token.ES256])
	sig, _ := b64decode(s)
	n := elliptic.P256().Params().N
	hs := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:]))
	twin := append(append([]byte(nil), sig[:32]...), hs.FillBytes(make([]byte, 32))...)
	twinTok := h + "." + p + "." + b64b(twin)
	if _, err := jwt.Parse(twinTok, func(*jwt.Token) (any, error) { return f.es.Public, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(func() time.Time { return testNow })); err != nil {
		tb.Fatalf("high-S twin does not verify in golang-jwt (%v): the case tests nothing", err)
	}
	return append(cs, reject("ES256 high-S twin of a valid signature", twinTok, "low-S"))
}

// nonCanonical re-encodes s with a non-zero trailing bit, which lax base64
// decoders ignore.
func nonCanonical(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last|1])
}

func casesA05(tb testing.TB, f *fixture) []vcase {
	var cs []vcase
	methods := []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512}
	for _, k := range []*token.Key{f.ed, f.es, f.rs} {
		der, err := x509.MarshalPKIXPublicKey(k.Public)
		if err != nil {
			tb.Fatal(err)
		}
		pemText := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		jwk, _ := k.JWK()
		jwkText, _ := json.Marshal(jwk)
		secrets := []struct {
			name string
			b    []byte
		}{
			{"PEM with trailing newline", pemText},
			{"PEM without trailing newline", []byte(strings.TrimSuffix(string(pemText), "\n"))},
			{"DER", der},
			{"JWK JSON", jwkText},
		}
		if pub, ok := k.Public.(ed25519.PublicKey); ok {
			secrets = append(secrets, struct {
				name string
				b    []byte
			}{"raw 32 bytes", pub})
		}
		for _, m := range methods {
			for _, s := range secrets {
				raw := forge(tb, m, s.b, header(m.Alg(), k.ID), payload(set("sub", q("user-admin"))))
				cs = append(cs, reject(fmt.Sprintf("%s kid %s keyed with %s", m.Alg(), k.ID, s.name), raw, "does not match"))
			}
		}
	}
	return cs
}

func casesA06(tb testing.TB, f *fixture) []vcase {
	var cs []vcase
	for _, secret := range []string{"", "secret", "gatehouse", "changeme", "JWT_SECRET", "your-256-bit-secret"} {
		raw := forge(tb, jwt.SigningMethodHS256, []byte(secret), header(token.HS256, f.hs.ID), payload())
		cs = append(cs, reject(fmt.Sprintf("re-signed with %q", secret), raw, "signature is invalid"))
	}
	// A key set holding a short secret (loaded around Validate) still must
	// not verify anything: the verifier re-checks every key it is handed.
	for _, secret := range []string{"", "0123456789abcdef", strings.Repeat("k", token.MinHMACBytes-1)} {
		weak := &token.Key{ID: "weak", Algorithm: token.HS256, Private: []byte(secret), Public: []byte(secret)}
		v := getFixture(tb).verifier()
		v.Keys = keySet{"weak": weak}
		raw := forge(tb, jwt.SigningMethodHS256, []byte(secret), header(token.HS256, "weak"), payload())
		cs = append(cs, vcase{name: fmt.Sprintf("key set with %d-byte secret", len(secret)), raw: raw, v: v, reason: "unusable"})
	}
	return cs
}

func casesA07(tb testing.TB, f *fixture) []vcase {
	type signer struct {
		m   jwt.SigningMethod
		key any
	}
	foreign := []signer{
		{jwt.SigningMethodHS256, f.atkHMAC}, {jwt.SigningMethodHS384, f.atkHMAC}, {jwt.SigningMethodHS512, f.atkHMAC},
		{jwt.SigningMethodRS256, f.atkRSA}, {jwt.SigningMethodRS384, f.atkRSA}, {jwt.SigningMethodRS512, f.atkRSA},
		{jwt.SigningMethodPS256, f.atkRSA}, {jwt.SigningMethodPS384, f.atkRSA}, {jwt.SigningMethodPS512, f.atkRSA},
		{jwt.SigningMethodES256, f.atkP256}, {jwt.SigningMethodES384, f.atkP384}, {jwt.SigningMethodES512, f.atkP521},
		{jwt.SigningMethodEdDSA, f.atkEd},
	}
	var cs []vcase
	for _, k := range []*token.Key{f.ed, f.es, f.rs, f.hs} {
		for _, s := range foreign {
			if s.m.Alg() == k.Algorithm {
				continue
			}
			raw := forge(tb, s.m, s.key, header(s.m.Alg(), k.ID), payload())
			cs = append(cs, reject(fmt.Sprintf("%s on %s key %s", s.m.Alg(), k.Algorithm, k.ID), raw, "does not match"))
		}
	}
	// The trusted key itself used with a sibling algorithm.
	for _, s := range []struct {
		m   jwt.SigningMethod
		key *token.Key
	}{
		{jwt.SigningMethodPS256, f.rs}, {jwt.SigningMethodRS384, f.rs}, {jwt.SigningMethodRS512, f.rs},
		{jwt.SigningMethodHS384, f.hs}, {jwt.SigningMethodHS512, f.hs},
	} {
		raw := forge(tb, s.m, s.key.Private, header(s.m.Alg(), s.key.ID), payload())
		cs = append(cs, reject(fmt.Sprintf("%s with the %s key itself", s.m.Alg(), s.key.Algorithm), raw, "does not match"))
	}
	return cs
}

func casesA09(tb testing.TB, f *fixture) []vcase {
	inner := b64(header("none", f.ed.ID)) + "." + b64(payload(set("sub", q("user-admin")))) + "."
	rnd := func() string {
		b := make([]byte, 24)
		rand.Read(b)
		return b64b(b)
	}
	jweRSA := b64(`{"alg":"RSA-OAEP-256","enc":"A256GCM"}`)
	jweDir := b64(`{"alg":"dir","enc":"A256GCM"}`)
	return []vcase{
		reject("RSA-OAEP-256 JWE wrapping an alg none JWT", jweRSA+"."+rnd()+"."+rnd()+"."+b64(inner)+"."+rnd(), "three segments"),
		reject("dir JWE with empty key segment", jweDir+".."+rnd()+"."+b64(inner)+"."+rnd(), "three segments"),
		reject("5 random segments", rnd()+"."+rnd()+"."+rnd()+"."+rnd()+"."+rnd(), "three segments"),
		reject("JWS carrying enc", f.edHeader(tb, header(token.EdDSA, f.ed.ID, set("enc", q("A256GCM")))), `"enc" not allowed`),
		reject("JWS carrying zip", f.edHeader(tb, header(token.EdDSA, f.ed.ID, set("zip", q("DEF")))), `"zip" not allowed`),
	}
}

func casesA10(tb testing.TB, f *fixture) []vcase {
	none := b64(header("none", f.ed.ID)) + "." + b64(payload(set("sub", q("user-admin")))) + "."
	cty := header(token.EdDSA, f.ed.ID, set("cty", q("JWT")))
	outerNone := b64(header("none", f.ed.ID, set("cty", q("JWT")))) + "." + b64(q(f.valid[token.EdDSA])) + "."
	return []vcase{
		reject("cty JWT, signed, wrapping alg none", forge(tb, jwt.SigningMethodEdDSA, f.ed.Private, cty, q(none)), `"cty" not allowed`),
		reject("cty JWT, signed, ordinary claims", forge(tb, jwt.SigningMethodEdDSA, f.ed.Private, cty, payload()), `"cty" not allowed`),
		reject("outer alg none wrapping a valid token", outerNone, "empty segment"),
		reject("payload is a JWT string, no cty", f.edToken(tb, q(f.valid[token.EdDSA])), "JSON"),
	}
}

func casesA12(tb testing.TB, f *fixture) []vcase {
	h, p, s := parts(tb, f.valid[token.EdDSA])
	return []vcase{
		reject("a.b", "a.b", "three segments"),
		reject("a.b.c.d", "a.b.c.d", "three segments"),
		reject("..", "..", "empty segment"),
		reject(".", ".", "three segments"),
		reject("empty string", "", "three segments"),
		reject("header..sig", h+".."+s, "empty segment"),
		reject(".payload.sig", "."+p+"."+s, "empty segment"),
		reject("header.payload.", h+"."+p+".", "empty segment"),
		reject("2 segments of a valid token", h+"."+p, "three segments"),
		reject("4 segments of a valid token", h+"."+p+"."+s+"."+s, "three segments"),
		reject("valid token with trailing dot", h+"."+p+"."+s+".", "three segments"),
		reject("padding", h+"."+p+"."+s+"==", "base64url alphabet"),
		reject("standard base64 characters", h+"."+p+"+/."+s, "base64url alphabet"),
		reject("whitespace", h+"."+p+"."+s+" ", "base64url alphabet"),
		reject("newline", h+".\n"+p+"."+s, "base64url alphabet"),
		reject("NUL byte", h+"."+p+"\x00."+s, "base64url alphabet"),
		reject("header not JSON", b64("not json")+"."+p+"."+s, "not a JSON object"),
		reject("header a JSON array", b64(`["alg"]`)+"."+p+"."+s, "not a JSON object"),
		reject("header with trailing data", b64(header(token.EdDSA, f.ed.ID)+"{}")+"."+p+"."+s, "data after"),
		reject("header with invalid UTF-8", b64(header(token.EdDSA, f.ed.ID, set("typ", "\"at+jwt\xff\"")))+"."+p+"."+s, "UTF-8"),
	}
}

func casesA14(tb testing.TB, f *fixture) []vcase {
	exp := testNow.Add(-time.Hour)
	expired := f.edToken(tb, payload(times(exp.Add(-testTTL), exp), set("sub", q("user-attacker"))))
	h, _, s := parts(tb, expired)
	forged := b64(payload(times(exp.Add(-testTTL), exp), set("sub", q("user-victim"))))
	return []vcase{
		reject("expired own token", expired, "exp"),
		reject("expired token with sub swapped, signature kept", h+"."+forged+"."+s, "signature is invalid"),
	}
}
