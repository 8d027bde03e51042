package token_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/token"
)

// The policy the tests verify against. Now is injected, so every case is
// deterministic whatever the wall clock says.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testIss    = "https://auth.gatehouse.test"
	testAud    = "gatehouse-api"
	testTTL    = 10 * time.Minute
	testLeeway = 30 * time.Second
)

// keySet is a KeySet over a map, the way a keyring looks keys up: by kid only.
type keySet map[string]*token.Key

func (s keySet) VerificationKey(kid string) (*token.Key, bool) {
	k, ok := s[kid]
	return k, ok
}

// fixture holds the trusted keys (one per algorithm plus a second Ed25519
// key), the attacker's keys, and a valid token per algorithm made by Sign.
type fixture struct {
	ed, ed2, es, rs, hs *token.Key
	keys                keySet
	valid               map[string]string // algorithm -> token from Sign

	atkEd                     ed25519.PrivateKey
	atkRSA                    *rsa.PrivateKey
	atkP256, atkP384, atkP521 *ecdsa.PrivateKey
	atkHMAC                   []byte
}

var algorithms = []string{token.EdDSA, token.ES256, token.RS256, token.HS256}

var loadFixture = sync.OnceValues(func() (*fixture, error) {
	f := &fixture{keys: keySet{}, valid: map[string]string{}}
	for _, k := range []struct {
		dst **token.Key
		alg string
		kid string
	}{
		{&f.ed, token.EdDSA, "ed-1"},
		{&f.ed2, token.EdDSA, "ed-2"},
		{&f.es, token.ES256, "es-1"},
		{&f.rs, token.RS256, "rs-1"},
		{&f.hs, token.HS256, "hs-1"},
	} {
		key, err := token.GenerateKey(k.alg)
		if err != nil {
			return nil, err
		}
		key.ID = k.kid
		*k.dst = key
		f.keys[k.kid] = key
	}
	var err error
	if _, f.atkEd, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	if f.atkRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		dst   **ecdsa.PrivateKey
		curve elliptic.Curve
	}{{&f.atkP256, elliptic.P256()}, {&f.atkP384, elliptic.P384()}, {&f.atkP521, elliptic.P521()}} {
		if *c.dst, err = ecdsa.GenerateKey(c.curve, rand.Reader); err != nil {
			return nil, err
		}
	}
	f.atkHMAC = make([]byte, 64)
	rand.Read(f.atkHMAC)
	for _, alg := range algorithms {
		if f.valid[alg], err = token.Sign(f.key(alg), validClaims()); err != nil {
			return nil, err
		}
	}
	return f, nil
})

func getFixture(tb testing.TB) *fixture {
	tb.Helper()
	f, err := loadFixture()
	if err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	return f
}

// key returns the trusted key for alg.
func (f *fixture) key(alg string) *token.Key {
	return map[string]*token.Key{token.EdDSA: f.ed, token.ES256: f.es, token.RS256: f.rs, token.HS256: f.hs}[alg]
}

// verifier returns the verifier under test, trusting every fixture key.
func (f *fixture) verifier() *token.Verifier {
	return &token.Verifier{
		Keys:     f.keys,
		Issuer:   testIss,
		Audience: testAud,
		MaxTTL:   testTTL,
		Leeway:   testLeeway,
		Now:      func() time.Time { return testNow },
	}
}

// validClaims are the claims of a token issued a minute ago.
func validClaims() token.Claims {
	iat := testNow.Add(-time.Minute)
	return token.Claims{
		Issuer:    testIss,
		Subject:   "user-victim",
		ID:        "jti-valid",
		SessionID: "sid-1",
		Audience:  []string{testAud},
		IssuedAt:  iat,
		NotBefore: iat,
		ExpiresAt: iat.Add(testTTL),
	}
}

// --- hand-written JSON, so that odd headers and claims can be expressed ---

// member is one member of a JSON object: a name and its raw JSON value. A
// name that starts with a double quote is written as is, so that escaped
// names such as "\u0065xp" can be expressed.
type member struct{ name, raw string }

// edit changes the member list of a hand-written object.
type edit func([]member) []member

// set replaces the value of name, or appends it when absent.
func set(name, raw string) edit {
	return func(ms []member) []member {
		for i := range ms {
			if ms[i].name == name {
				ms[i].raw = raw
				return ms
			}
		}
		return append(ms, member{name, raw})
	}
}

// del removes name.
func del(name string) edit {
	return func(ms []member) []member {
		out := ms[:0]
		for _, m := range ms {
			if m.name != name {
				out = append(out, m)
			}
		}
		return out
	}
}

// add appends name even when present, to make duplicates.
func add(name, raw string) edit {
	return func(ms []member) []member { return append(ms, member{name, raw}) }
}

// times sets iat, nbf and exp.
func times(iat, exp time.Time) edit {
	return func(ms []member) []member {
		ms = set("iat", num(iat))(ms)
		ms = set("nbf", num(iat))(ms)
		return set("exp", num(exp))(ms)
	}
}

func object(ms []member, edits ...edit) string {
	for _, e := range edits {
		ms = e(ms)
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		if strings.HasPrefix(m.name, `"`) {
			b.WriteString(m.name) // already a JSON string, escapes and all
		} else {
			b.WriteString(q(m.name))
		}
		b.WriteByte(':')
		b.WriteString(m.raw)
	}
	b.WriteByte('}')
	return b.String()
}

// payload returns the JSON of valid claims with edits applied.
func payload(edits ...edit) string {
	iat := testNow.Add(-time.Minute)
	return object([]member{
		{"iss", q(testIss)},
		{"sub", q("user-victim")},
		{"aud", q(testAud)},
		{"exp", num(iat.Add(testTTL))},
		{"iat", num(iat)},
		{"nbf", num(iat)},
		{"jti", q("jti-forged")},
		{"sid", q("sid-1")},
	}, edits...)
}

// header returns the JSON of a header with alg, typ at+jwt and kid.
func header(alg, kid string, edits ...edit) string {
	return object([]member{{"alg", q(alg)}, {"typ", q(token.Type)}, {"kid", q(kid)}}, edits...)
}

// q returns s as a JSON string.
func q(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func num(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func b64b(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64decode(s string) ([]byte, error) { return base64.RawURLEncoding.Strict().DecodeString(s) }

// forge signs the hand-written header and payload with method and key,
// whatever they say. ES256 signatures are made low-S, as Sign makes them.
func forge(tb testing.TB, m jwt.SigningMethod, key any, hdr, pl string) string {
	tb.Helper()
	in := b64(hdr) + "." + b64(pl)
	sig, err := m.Sign(in, key)
	if err != nil {
		tb.Fatalf("forge %s: %v", m.Alg(), err)
	}
	if m == jwt.SigningMethodES256 {
		n := elliptic.P256().Params().N
		s := new(big.Int).SetBytes(sig[32:])
		if s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
			s.Sub(n, s).FillBytes(sig[32:])
		}
	}
	return in + "." + b64b(sig)
}

// ed signs pl under the default header with the trusted Ed25519 key ed-1:
// a token that verifies unless pl itself is wrong.
func (f *fixture) edToken(tb testing.TB, pl string) string {
	tb.Helper()
	return forge(tb, jwt.SigningMethodEdDSA, f.ed.Private, header(token.EdDSA, f.ed.ID), pl)
}

// edHeader signs hdr and valid claims with ed-1.
func (f *fixture) edHeader(tb testing.TB, hdr string) string {
	tb.Helper()
	return forge(tb, jwt.SigningMethodEdDSA, f.ed.Private, hdr, payload())
}

// parts splits a compact token into its three segments.
func parts(tb testing.TB, raw string) (h, p, s string) {
	tb.Helper()
	ps := strings.Split(raw, ".")
	if len(ps) != 3 {
		tb.Fatalf("parts: %d segments", len(ps))
	}
	return ps[0], ps[1], ps[2]
}

// decodeJSON decodes one segment into a map, keeping numbers exact.
func decodeJSON(tb testing.TB, seg string) map[string]any {
	tb.Helper()
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		tb.Fatalf("decode segment: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		tb.Fatalf("decode JSON %s: %v", b, err)
	}
	return m
}

// jwtSentinels are golang-jwt's errors. None may be matchable through a
// Verify error, so no caller can tell expired from forged.
var jwtSentinels = []error{
	jwt.ErrTokenExpired, jwt.ErrTokenSignatureInvalid, jwt.ErrTokenMalformed,
	jwt.ErrTokenUnverifiable, jwt.ErrTokenInvalidClaims, jwt.ErrTokenNotValidYet,
	jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer,
	jwt.ErrTokenRequiredClaimMissing, jwt.ErrSignatureInvalid, jwt.ErrInvalidKeyType,
}

// checkRejected fails unless err is a proper verification failure.
func checkRejected(tb testing.TB, err error, reason string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("Verify accepted the token, want rejection")
	}
	if !errors.Is(err, token.ErrInvalid) {
		tb.Errorf("errors.Is(%v, ErrInvalid) = false, want true", err)
	}
	if !strings.HasPrefix(err.Error(), "token: invalid: ") {
		tb.Errorf("error %q lacks the prefix %q", err, "token: invalid: ")
	}
	if reason != "" && !strings.Contains(err.Error(), reason) {
		tb.Errorf("error %q, want it to say %q", err, reason)
	}
	for _, s := range jwtSentinels {
		if errors.Is(err, s) {
			tb.Errorf("errors.Is(%v, jwt %v) = true, want library errors hidden", err, s)
		}
	}
}
