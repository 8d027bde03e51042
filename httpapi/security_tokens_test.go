package httpapi_test

// Token forgery, claims and JOSE header cases of SECURITY-CASES.md groups A,
// B and C, played over HTTP against the routes that read the access cookie.
// The token package has unit tests for the same cases; these prove that the
// server as deployed (keyring, session check, middleware, error mapping)
// gives the REJECT verdict of §0.3 for each, and the regression control of
// §0.3a proves every 401 came from the token and not from a broken session.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"log/slog"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/token"
)

// --- tokens written by hand ---

// joseMember is one member of a hand-written JSON object: a name and its raw
// JSON value.
type joseMember struct{ name, raw string }

// joseObject is a JSON object written by hand, in order, so that a test can say
// what no encoder would: a missing exp, aud as a number, a crit list.
type joseObject []joseMember

// set returns a copy of o with name's value replaced, or appended when absent.
func (o joseObject) set(name, raw string) joseObject {
	out := slices.Clone(o)
	for i := range out {
		if out[i].name == name {
			out[i].raw = raw
			return out
		}
	}
	return append(out, joseMember{name, raw})
}

// del returns a copy of o without name.
func (o joseObject) del(name string) joseObject {
	return slices.DeleteFunc(slices.Clone(o), func(f joseMember) bool { return f.name == name })
}

func (o joseObject) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(joseStr(f.name))
		b.WriteByte(':')
		b.WriteString(f.raw)
	}
	b.WriteByte('}')
	return b.String()
}

// joseStr returns s as a JSON string.
func joseStr(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// joseTime returns t as a NumericDate in whole seconds.
func joseTime(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// joseB64 is base64url without padding (RFC 7515 §2).
func joseB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwsSigner signs a JWS signing input.
type jwsSigner func(input []byte) []byte

// forgeJWS returns the compact JWS joseB64(hdr).joseB64(pl).joseB64(sig).
func forgeJWS(hdr, pl string, sign jwsSigner) string {
	in := joseB64([]byte(hdr)) + "." + joseB64([]byte(pl))
	return in + "." + joseB64(sign([]byte(in)))
}

func edSigner(k ed25519.PrivateKey) jwsSigner {
	return func(in []byte) []byte { return ed25519.Sign(k, in) }
}

func hmacSigner(h func() hash.Hash, key []byte) jwsSigner {
	return func(in []byte) []byte {
		m := hmac.New(h, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

func rsaSigner(k *rsa.PrivateKey, h crypto.Hash, pss bool) jwsSigner {
	return func(in []byte) []byte {
		d := h.New()
		d.Write(in)
		var sig []byte
		var err error
		if pss {
			sig, err = rsa.SignPSS(rand.Reader, k, h, d.Sum(nil), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, h, d.Sum(nil))
		}
		if err != nil {
			panic(err)
		}
		return sig
	}
}

// ecSigner makes the JWS form of an ECDSA signature: r || s, each padded to
// the size of the curve order (RFC 7518 §3.4).
func ecSigner(k *ecdsa.PrivateKey, h crypto.Hash) jwsSigner {
	return func(in []byte) []byte {
		d := h.New()
		d.Write(in)
		r, s, err := ecdsa.Sign(rand.Reader, k, d.Sum(nil))
		if err != nil {
			panic(err)
		}
		n := (k.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
		return sig
	}
}

// joseParts splits a compact JWS into its three segments.
func joseParts(t *testing.T, tok string) (h, p, s string) {
	t.Helper()
	ps := strings.Split(tok, ".")
	if len(ps) != 3 {
		t.Fatalf("token has %d segments, want 3", len(ps))
	}
	return ps[0], ps[1], ps[2]
}

// joseSegment decodes one segment of a compact JWS as a JSON object.
func joseSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q: %v", seg, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("segment %s: %v", b, err)
	}
	return m
}

// joseClaims returns the decoded payload of an access token, unverified.
func joseClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	_, p, _ := joseParts(t, tok)
	return joseSegment(t, p)
}

// attackerKeys are keys an attacker makes; the server trusts none of them.
var attackerKeys = sync.OnceValue(func() (k struct {
	ed               ed25519.PrivateKey
	rsa              *rsa.PrivateKey
	p256, p384, p521 *ecdsa.PrivateKey
	hmac             []byte
	edKid            string
}) {
	var err error
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	for _, c := range []struct {
		dst   **ecdsa.PrivateKey
		curve elliptic.Curve
	}{{&k.p256, elliptic.P256()}, {&k.p384, elliptic.P384()}, {&k.p521, elliptic.P521()}} {
		if *c.dst, err = ecdsa.GenerateKey(c.curve, rand.Reader); err != nil {
			panic(err)
		}
	}
	k.hmac = make([]byte, 64)
	rand.Read(k.hmac)
	k.edKid = token.NewID()
	return k
})

// --- the server's view ---

// joseSID returns the sid of u's access token.
func joseSID(t *testing.T, u *user) string {
	t.Helper()
	sid, _ := joseClaims(t, u.access)["sid"].(string)
	if sid == "" {
		t.Fatal("access token has no sid")
	}
	return sid
}

// claimsOf returns claims the server accepts for u's session, as a
// hand-written object: iss, sub, aud, exp, iat, nbf, jti, sid.
func (e *env) claimsOf(t *testing.T, u *user) joseObject {
	t.Helper()
	now := e.clock.Now()
	return joseObject{
		{"iss", joseStr(testIssuer)}, {"sub", joseStr(u.id)}, {"aud", joseStr(testAudience)},
		{"exp", joseTime(now.Add(5 * time.Minute))}, {"iat", joseTime(now)}, {"nbf", joseTime(now)},
		{"jti", joseStr(token.NewID())}, {"sid", joseStr(joseSID(t, u))},
	}
}

// testHeader is the header the server accepts from the test key K_test.
func (e *env) testHeader() joseObject {
	return joseObject{{"alg", joseStr(token.EdDSA)}, {"typ", joseStr(token.Type)}, {"kid", joseStr(e.testKey.ID)}}
}

// signTestKey signs a hand-written header and payload with K_test.
func (e *env) signTestKey(hdr, pl joseObject) string {
	return forgeJWS(hdr.String(), pl.String(), edSigner(e.testKey.Private.(ed25519.PrivateKey)))
}

// activeKid is the kid of the key the server signs with (not K_test).
func (e *env) activeKid(t *testing.T) string {
	t.Helper()
	k := e.keys.SigningKey()
	if k == nil || k.ID == e.testKey.ID {
		t.Fatal("no active signing key apart from the test key")
	}
	return k.ID
}

// tokenProbes are the routes that read the access cookie.
var tokenProbes = []string{"/auth/me", "/api/protected", "/auth/verify"}

// wantTokenRejected sends tok as the access cookie to every probe and checks
// the REJECT verdict (§0.3): 401, a body byte-identical to that of a request
// with no cookie at all, no identity header and no credential cookie. Then
// it runs the regression control (§0.3a): ctl's untouched token still works.
func (e *env) wantTokenRejected(t *testing.T, tok string, ctl *user) {
	t.Helper()
	generic := e.unauthenticatedBody(t)
	for _, path := range tokenProbes {
		r := e.get(path, httpapi.AccessCookie+"="+tok)
		wantRejected(t, r)
		if !bytes.Equal(r.body, generic) {
			t.Fatalf("GET %s: body %q, want the generic %q", path, r.body, generic)
		}
		if id := r.Header.Get("X-Auth-User-Id"); id != "" {
			t.Fatalf("GET %s: rejected token yields X-Auth-User-Id %q", path, id)
		}
	}
	if ctl != nil {
		r := e.get("/auth/me", ctl.accessCookie())
		wantStatus(t, r, http.StatusOK)
		if got := r.json(t)["user"].(map[string]any)["id"]; got != ctl.id {
			t.Fatalf("control token authenticates as %v, want %s", got, ctl.id)
		}
	}
}

// genericBodies caches, per env, the body of a request with no credentials.
var genericBodies sync.Map

// unauthenticatedBody is the body of GET /auth/me without a cookie: the one
// answer every token failure must give.
func (e *env) unauthenticatedBody(t *testing.T) []byte {
	t.Helper()
	if b, ok := genericBodies.Load(e); ok {
		return b.([]byte)
	}
	r := e.get("/auth/me", "")
	wantRejected(t, r)
	genericBodies.Store(e, r.body)
	return r.body
}

// wantTokenAccepted checks that tok authenticates as u on every probe.
func (e *env) wantTokenAccepted(t *testing.T, tok string, u *user) {
	t.Helper()
	for _, path := range tokenProbes {
		r := e.get(path, httpapi.AccessCookie+"="+tok)
		wantStatus(t, r, http.StatusOK)
		var got string
		switch path {
		case "/auth/me":
			got, _ = r.json(t)["user"].(map[string]any)["id"].(string)
		default:
			got, _ = r.json(t)["user_id"].(string)
		}
		if got != u.id {
			t.Fatalf("GET %s: authenticated as %q, want %q", path, got, u.id)
		}
	}
}

// victimAndAttacker registers a victim and an attacker.
func victimAndAttacker(e *env) (victim, attacker *user) {
	return e.register("victim@example.org"), e.register("attacker@example.org")
}

// --- A. Token forgery and signature validation ---

// TestA01UnverifiedSignature: a payload edited without re-signing.
func TestA01UnverifiedSignature(t *testing.T) {
	e := newEnv(t)
	v, a := victimAndAttacker(e)
	h, p, s := joseParts(t, v.access)
	claims := joseSegment(t, p)
	for _, tt := range []struct {
		name string
		edit func(map[string]any)
	}{
		{"sub swapped", func(m map[string]any) { m["sub"] = a.id }},
		{"sub swapped and role admin", func(m map[string]any) { m["sub"], m["role"] = a.id, "admin" }},
		{"role admin only", func(m map[string]any) { m["role"] = "admin" }},
		{"exp extended", func(m map[string]any) { m["exp"] = e.clock.Now().Add(9 * time.Minute).Unix() }},
	} {
		t.Run("A-01/"+tt.name, func(t *testing.T) {
			m := maps.Clone(claims)
			tt.edit(m)
			pl, _ := json.Marshal(m)
			e.wantTokenRejected(t, h+"."+joseB64(pl)+"."+s, v)
		})
	}
}

// TestA02AlgNone: alg none in every case variant, with an empty signature
// and with the original one left in place, with and without a trusted kid.
func TestA02AlgNone(t *testing.T) {
	e := newEnv(t)
	v, a := victimAndAttacker(e)
	_, p, s := joseParts(t, v.access)
	asAttacker := joseSegmentWith(t, p, "sub", a.id)
	for _, alg := range []string{"none", "None", "NONE", "nOnE", "noNE"} {
		for _, kid := range []string{"", e.activeKid(t), e.testKey.ID} {
			hdr := joseObject{{"alg", joseStr(alg)}, {"typ", joseStr(token.Type)}}
			if kid != "" {
				hdr = hdr.set("kid", joseStr(kid))
			}
			h := joseB64([]byte(hdr.String()))
			for _, pl := range []struct{ name, seg string }{{"own claims", p}, {"sub swapped", asAttacker}} {
				for _, sig := range []struct{ name, seg string }{{"empty", ""}, {"original", s}} {
					name := "A-02/" + alg + "/kid=" + strconv.Quote(kid) + "/" + pl.name + "/signature " + sig.name
					t.Run(name, func(t *testing.T) {
						e.wantTokenRejected(t, h+"."+pl.seg+"."+sig.seg, v)
					})
				}
			}
		}
	}
}

// joseSegmentWith re-encodes a payload segment with one member changed.
func joseSegmentWith(t *testing.T, seg, name string, value any) string {
	t.Helper()
	m := joseSegment(t, seg)
	m[name] = value
	b, _ := json.Marshal(m)
	return joseB64(b)
}

// TestA04BrokenSignature: truncated, bit-flipped and borrowed signatures.
func TestA04BrokenSignature(t *testing.T) {
	e := newEnv(t)
	v, a := victimAndAttacker(e)
	h, p, s := joseParts(t, v.access)
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(sig)
	flipped[len(flipped)/2] ^= 0x10
	_, _, other := joseParts(t, a.access)
	// Another token of the victim itself, from a second login.
	v2, _ := e.login(v.email, testPassword)
	_, _, own := joseParts(t, v2.access)
	for _, tt := range []struct{ name, sig string }{
		{"(a) last 4 characters dropped", s[:len(s)-4]},
		{"(a) last character dropped", s[:len(s)-1]},
		{"(b) middle bit flipped", joseB64(flipped)},
		{"(b) first bit flipped", joseB64(append([]byte{sig[0] ^ 0x80}, sig[1:]...))},
		{"(c) another user's signature", other},
		{"(c) the victim's other token's signature", own},
		{"zero signature", joseB64(make([]byte, len(sig)))},
		{"signature doubled", s + s},
	} {
		t.Run("A-04/"+tt.name, func(t *testing.T) {
			e.wantTokenRejected(t, h+"."+p+"."+tt.sig, v)
		})
	}
}

// publishedKey is one key of the JWKS document as served.
type publishedKey struct {
	kid  string
	raw  []byte          // the Ed25519 public key
	json json.RawMessage // the JWK exactly as served
}

func (e *env) publishedKeys(t *testing.T) []publishedKey {
	t.Helper()
	r := e.get("/.well-known/jwks.json", "")
	wantStatus(t, r, http.StatusOK)
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	var out []publishedKey
	for _, k := range doc.Keys {
		var jwk struct{ Kid, X string }
		if err := json.Unmarshal(k, &jwk); err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(jwk.X)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			t.Fatalf("jwk x %q is not an Ed25519 key", jwk.X)
		}
		out = append(out, publishedKey{kid: jwk.Kid, raw: raw, json: k})
	}
	if len(out) == 0 {
		t.Fatal("JWKS publishes no key")
	}
	return out
}

// hmacAlgs are the HS algorithms with their hashes.
var hmacAlgs = []struct {
	alg string
	h   func() hash.Hash
}{{"HS256", sha256.New}, {"HS384", sha512.New384}, {"HS512", sha512.New}}

// TestA05AlgorithmConfusion: the published Ed25519 keys used as HMAC
// secrets in every form an attacker might try.
func TestA05AlgorithmConfusion(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	pl := e.claimsOf(t, v).String()
	for _, k := range e.publishedKeys(t) {
		der, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(k.raw))
		if err != nil {
			t.Fatal(err)
		}
		pemText := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		var asMap map[string]any
		json.Unmarshal(k.json, &asMap)
		reencoded, _ := json.Marshal(asMap) // members sorted by name
		secrets := []struct {
			name string
			key  []byte
		}{
			{"raw 32 bytes", k.raw},
			{"DER", der},
			{"PEM", pemText},
			{"PEM without trailing newline", bytes.TrimSuffix(pemText, []byte("\n"))},
			{"JWK as served", k.json},
			{"JWK re-encoded", reencoded},
			{"x as text", []byte(joseB64(k.raw))},
		}
		for _, alg := range hmacAlgs {
			for _, sec := range secrets {
				for _, kid := range []string{k.kid, ""} {
					hdr := joseObject{{"alg", joseStr(alg.alg)}, {"typ", joseStr(token.Type)}}
					if kid != "" {
						hdr = hdr.set("kid", joseStr(kid))
					}
					name := "A-05/" + k.kid + "/" + alg.alg + "/" + sec.name + "/kid=" + strconv.Quote(kid)
					t.Run(name, func(t *testing.T) {
						e.wantTokenRejected(t, forgeJWS(hdr.String(), pl, hmacSigner(alg.h, sec.key)), v)
					})
				}
			}
		}
	}
}

// TestA06WeakHMACSecret: tokens re-signed with guessable secrets, and key
// material too short to be accepted at all. (Offline cracking does not
// apply: the tokens are EdDSA.)
func TestA06WeakHMACSecret(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	pl := e.claimsOf(t, v).String()
	for _, secret := range []string{"", "secret", "changeme", "gatehouse", "Gatehouse", "JWT_SECRET", "GATEHOUSE_JWT_SECRET", "\x00", "password"} {
		for _, kid := range []string{e.activeKid(t), e.testKey.ID, "", "hs-1"} {
			hdr := joseObject{{"alg", joseStr("HS256")}, {"typ", joseStr(token.Type)}}
			if kid != "" {
				hdr = hdr.set("kid", joseStr(kid))
			}
			t.Run("A-06/"+strconv.Quote(secret)+"/kid="+strconv.Quote(kid), func(t *testing.T) {
				e.wantTokenRejected(t, forgeJWS(hdr.String(), pl, hmacSigner(sha256.New, []byte(secret))), v)
			})
		}
	}
	// [GB] A keyring refuses a short or empty HMAC key, and the service a
	// short refresh key, so a deployment cannot start with one.
	t.Run("A-06/GB short keys refused", func(t *testing.T) {
		for _, secret := range [][]byte{nil, {}, []byte("secret"), bytes.Repeat([]byte{1}, 31)} {
			k := &token.Key{ID: "weak-" + strconv.Itoa(len(secret)), Algorithm: token.HS256, Private: secret, Public: secret}
			if _, err := e.keys.Add(context.Background(), k, gatehouse.KeyRetired); err == nil {
				t.Errorf("keyring accepted an HS256 key of %d bytes", len(secret))
			}
			if _, ok := e.keys.VerificationKey(k.ID); ok {
				t.Errorf("weak key %s is in the keyring", k.ID)
			}
			cfg := e.cfg
			cfg.RefreshKey = secret
			if _, err := gatehouse.NewService(cfg); err == nil {
				t.Errorf("service started with a %d-byte refresh key", len(secret))
			}
		}
	})
	e.wantTokenAccepted(t, v.access, v)
}

// TestA07AlgorithmOutsideAllowlist: correctly signed tokens, each with the
// key type its alg needs, under the kid of a trusted EdDSA key.
func TestA07AlgorithmOutsideAllowlist(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	ak := attackerKeys()
	testPriv := e.testKey.Private.(ed25519.PrivateKey)
	signers := []struct {
		alg  string
		sign jwsSigner
	}{
		{"HS256", hmacSigner(sha256.New, ak.hmac)},
		{"HS384", hmacSigner(sha512.New384, ak.hmac)},
		{"HS512", hmacSigner(sha512.New, ak.hmac)},
		// [GB] HMAC keyed with K_test's own private and public bytes.
		{"HS256", hmacSigner(sha256.New, testPriv)},
		{"HS256", hmacSigner(sha256.New, testPriv.Seed())},
		{"HS512", hmacSigner(sha512.New, testPriv.Public().(ed25519.PublicKey))},
		{"RS256", rsaSigner(ak.rsa, crypto.SHA256, false)},
		{"RS384", rsaSigner(ak.rsa, crypto.SHA384, false)},
		{"RS512", rsaSigner(ak.rsa, crypto.SHA512, false)},
		{"PS256", rsaSigner(ak.rsa, crypto.SHA256, true)},
		{"PS384", rsaSigner(ak.rsa, crypto.SHA384, true)},
		{"PS512", rsaSigner(ak.rsa, crypto.SHA512, true)},
		{"ES256", ecSigner(ak.p256, crypto.SHA256)},
		{"ES384", ecSigner(ak.p384, crypto.SHA384)},
		{"ES512", ecSigner(ak.p521, crypto.SHA512)},
		{"EdDSA", edSigner(ak.ed)},
		{"Ed25519", edSigner(testPriv)},
		{"eddsa", edSigner(testPriv)},
	}
	pl := e.claimsOf(t, v).String()
	for i, s := range signers {
		for _, kid := range []string{e.testKey.ID, e.activeKid(t)} {
			hdr := joseObject{{"alg", joseStr(s.alg)}, {"typ", joseStr(token.Type)}, {"kid", joseStr(kid)}}
			t.Run("A-07/"+strconv.Itoa(i)+"-"+s.alg+"/kid="+kid, func(t *testing.T) {
				e.wantTokenRejected(t, forgeJWS(hdr.String(), pl, s.sign), v)
			})
		}
	}
	// The positive control: the one allowed algorithm with K_test verifies.
	e.wantTokenAccepted(t, e.signTestKey(e.testHeader(), e.claimsOf(t, v)), v)
}

// TestA09JWE: five-segment JWE compact serialisations.
func TestA09JWE(t *testing.T) {
	e := newEnv(t)
	v, a := victimAndAttacker(e)
	_, p, _ := joseParts(t, v.access)
	inner := joseB64([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + joseSegmentWith(t, p, "sub", a.id) + "."
	random := func(n int) string {
		b := make([]byte, n)
		rand.Read(b)
		return joseB64(b)
	}
	for _, tt := range []struct{ name, tok string }{
		{"RSA-OAEP-256 wrapping alg none", joseB64([]byte(`{"alg":"RSA-OAEP-256","enc":"A256GCM","typ":"at+jwt"}`)) + "." + random(256) + "." + random(12) + "." + joseB64([]byte(inner)) + "." + random(16)},
		{"dir wrapping alg none", joseB64([]byte(`{"alg":"dir","enc":"A256GCM","cty":"JWT"}`)) + ".." + random(12) + "." + joseB64([]byte(inner)) + "." + random(16)},
		{"dir with the victim's token inside", joseB64([]byte(`{"alg":"dir","enc":"A256GCM","cty":"JWT"}`)) + "." + random(32) + "." + random(12) + "." + joseB64([]byte(v.access)) + "." + random(16)},
		{"five random segments", random(30) + "." + random(40) + "." + random(12) + "." + random(100) + "." + random(16)},
	} {
		t.Run("A-09/"+tt.name, func(t *testing.T) {
			start := time.Now()
			e.wantTokenRejected(t, tt.tok, v)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("rejecting a JWE took %v", d)
			}
		})
	}
}

// TestA10NestedJWT: a JWT carried inside another, never validated on one
// layer only.
func TestA10NestedJWT(t *testing.T) {
	e := newEnv(t)
	v, a := victimAndAttacker(e)
	_, p, _ := joseParts(t, v.access)
	noneForAdmin := joseB64([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + joseSegmentWith(t, p, "sub", "admin") + "."
	nested := e.testHeader().set("cty", joseStr("JWT"))
	for _, tt := range []struct{ name, tok string }{
		{"GB outer K_test, cty JWT, payload a JSON string of alg none", forgeJWS(nested.String(), joseStr(noneForAdmin), edSigner(e.testKey.Private.(ed25519.PrivateKey)))},
		{"GB outer K_test, cty JWT, payload the raw inner token", forgeJWS(nested.String(), noneForAdmin, edSigner(e.testKey.Private.(ed25519.PrivateKey)))},
		{"GB outer K_test, cty JWT, payload the attacker's real token", forgeJWS(nested.String(), a.access, edSigner(e.testKey.Private.(ed25519.PrivateKey)))},
		{"GB outer K_test, cty JWT, valid claims", e.signTestKey(nested, e.claimsOf(t, v))},
		{"BB outer alg none wrapping another user's token", joseB64([]byte(`{"alg":"none","typ":"at+jwt","cty":"JWT"}`)) + "." + joseB64([]byte(a.access)) + "."},
		{"BB outer alg none wrapping another user's token, its signature kept", joseB64([]byte(`{"alg":"none","typ":"at+jwt","cty":"JWT"}`)) + "." + joseB64([]byte(a.access)) + "." + strings.Split(a.access, ".")[2]},
	} {
		t.Run("A-10/"+tt.name, func(t *testing.T) { e.wantTokenRejected(t, tt.tok, v) })
	}
}

// TestA12SegmentCount: the wrong number of segments, or empty ones.
func TestA12SegmentCount(t *testing.T) {
	log := &auditLog{}
	e := newEnv(t, log.install)
	v, _ := victimAndAttacker(e)
	h, p, s := joseParts(t, v.access)
	for _, tt := range []struct{ name, tok string }{
		{"a.b", "a.b"},
		{"a.b.c.d", "a.b.c.d"},
		{"..", ".."},
		{".", "."},
		{"empty", ""},
		{"header..sig", h + ".." + s},
		{".payload.sig", "." + p + "." + s},
		{"header.payload.", h + "." + p + "."},
		{"two segments of A_v", h + "." + p},
		{"four segments of A_v", h + "." + p + "." + s + "." + s},
		{"trailing dot", v.access + "."},
		{"leading dot", "." + v.access},
		{"padded", h + "=." + p + "." + s},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(v.access) + "+/"},
		{"quoted", `"` + v.access + `"`},
		{"with a space", h + "." + p + " ." + s},
		{"Bearer prefix", "Bearer%20" + v.access},
	} {
		t.Run("A-12/"+tt.name, func(t *testing.T) { e.wantTokenRejected(t, tt.tok, v) })
	}
	if got := log.since(0); strings.Contains(got, "panic") {
		t.Fatalf("the log shows a panic:\n%s", got)
	}
}

// TestA14ExpiredAndForged: the attacker's own expired token with sub
// swapped to the victim (CVE-2024-51744 class).
func TestA14ExpiredAndForged(t *testing.T) {
	e := newEnv(t)
	a := e.register("attacker@example.org")
	e.clock.Advance(e.cfg.AccessTTL + e.cfg.Leeway + time.Minute)
	v := e.register("victim@example.org")
	h, p, s := joseParts(t, a.access)
	forged := h + "." + joseSegmentWith(t, p, "sub", v.id) + "." + s

	t.Run("A-14/(1) GET /auth/me", func(t *testing.T) {
		e.wantTokenRejected(t, forged, v)
		// Merely expired and expired-and-forged look the same: no oracle.
		expired := e.get("/auth/me", a.accessCookie())
		wantRejected(t, expired)
		forgedRes := e.get("/auth/me", httpapi.AccessCookie+"="+forged)
		if !bytes.Equal(expired.body, forgedRes.body) {
			t.Fatalf("expired body %q differs from forged body %q", expired.body, forgedRes.body)
		}
		if strings.Contains(strings.ToLower(string(forgedRes.body)), "expire") {
			t.Fatalf("body %q mentions expiry", forgedRes.body)
		}
	})
	t.Run("A-14/(2) POST /auth/refresh with the attacker's refresh cookie", func(t *testing.T) {
		r := e.do(req{method: "POST", path: "/auth/refresh", cookie: httpapi.AccessCookie + "=" + forged + "; " + a.refreshCookie()})
		wantStatus(t, r, http.StatusOK)
		next := &user{email: a.email, id: a.id}
		next.take(t, r)
		if next.access == "" || next.access == a.access {
			t.Fatal("refresh issued no new access token")
		}
		if sub := joseClaims(t, next.access)["sub"]; sub != a.id {
			t.Fatalf("new access token sub = %v, want the attacker %s (victim is %s)", sub, a.id, v.id)
		}
		me := e.get("/auth/me", next.accessCookie())
		wantStatus(t, me, http.StatusOK)
		if got := me.json(t)["user"].(map[string]any)["email"]; got != a.email {
			t.Fatalf("refreshed session belongs to %v, want %s", got, a.email)
		}
		if bytes.Contains(r.body, []byte(v.id)) || bytes.Contains(r.body, []byte(v.email)) {
			t.Fatalf("refresh body %s names the victim", r.body)
		}
		e.wantTokenAccepted(t, v.access, v)
	})
}

// auditLog captures an env's JSON log, safe to read while the server writes.
type auditLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *auditLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// install is an option for newEnv: the service and the HTTP layer log here.
func (l *auditLog) install(c *gatehouseConfig, h *httpapiConfig) {
	lg := slog.New(slog.NewJSONHandler(l, nil))
	c.Logger, h.Logger = lg, lg
}

// mark returns a position in the log for since.
func (l *auditLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// since returns what was logged after mark.
func (l *auditLog) since(mark int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()[mark:]
}

// events returns the names of the security events logged after mark.
func (l *auditLog) events(mark int) []string {
	var out []string
	for _, line := range strings.Split(l.since(mark), "\n") {
		var rec struct{ Msg, Event string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "security event" {
			out = append(out, rec.Event)
		}
	}
	return out
}

// storeSpy wraps the stores of an env: it counts the lookups that an
// unverified token must never cause, can make users vanish (a deleted
// account), and can panic on a lookup (J-06).
type storeSpy struct {
	gatehouse.UserStore
	gatehouse.SessionStore

	userLookups, sessionLookups atomic.Int64

	mu      sync.Mutex
	gone    map[string]bool
	panicOn string
}

// install is an option for newEnv.
func (s *storeSpy) install(c *gatehouseConfig, _ *httpapiConfig) {
	s.UserStore, s.SessionStore = c.Users, c.Sessions
	c.Users, c.Sessions = s, s
}

func (s *storeSpy) lookups() int64 { return s.userLookups.Load() + s.sessionLookups.Load() }

func (s *storeSpy) hide(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone == nil {
		s.gone = map[string]bool{}
	}
	s.gone[id] = true
}

func (s *storeSpy) panicFor(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.panicOn = id
}

func (s *storeSpy) UserByID(ctx context.Context, id string) (*gatehouse.User, error) {
	s.userLookups.Add(1)
	s.mu.Lock()
	gone, boom := s.gone[id], s.panicOn != "" && s.panicOn == id
	s.mu.Unlock()
	if boom {
		panic("storeSpy: lookup of " + id)
	}
	if gone {
		return nil, gatehouse.ErrNotFound
	}
	return s.UserStore.UserByID(ctx, id)
}

func (s *storeSpy) Session(ctx context.Context, id string) (*gatehouse.Session, error) {
	s.sessionLookups.Add(1)
	return s.SessionStore.Session(ctx, id)
}

// TestA15NoLookupBeforeVerification: tokens with a bad signature whose sub
// or kid name an existing, a missing or a hostile value all get the same
// answer, and none of them reaches the store.
func TestA15NoLookupBeforeVerification(t *testing.T) {
	spy, log := &storeSpy{}, &auditLog{}
	e := newEnv(t, spy.install, log.install)
	v, a := victimAndAttacker(e)
	h, p, s := joseParts(t, v.access)
	long := strings.Repeat("A", 10<<10)
	values := []struct{ name, value string }{
		{"(i) existing", a.id},
		{"(ii) non-existent", token.NewID()},
		{"(iii) SQL injection", "1' OR '1'='1"},
		{"(iv) 10 KB", long},
	}
	var ref resp
	check := func(t *testing.T, tok string) {
		t.Helper()
		before := spy.lookups()
		for range 5 {
			for _, path := range tokenProbes {
				r := e.get(path, httpapi.AccessCookie+"="+tok)
				wantRejected(t, r)
				if ref.Response == nil {
					ref = r
				}
				if !bytes.Equal(r.body, ref.body) || !sameHeadersButDate(r.Header, ref.Header) {
					t.Fatalf("response %d %q %v differs from %d %q %v", r.StatusCode, r.body, r.Header, ref.StatusCode, ref.body, ref.Header)
				}
				if low := strings.ToLower(string(r.body)); strings.Contains(low, "sql") || strings.Contains(low, "syntax") {
					t.Fatalf("body %q shows a database error", r.body)
				}
			}
		}
		if got := spy.lookups() - before; got != 0 {
			t.Fatalf("%d store lookups for a token with a bad signature, want 0", got)
		}
	}
	for _, val := range values {
		t.Run("A-15/sub "+val.name, func(t *testing.T) {
			check(t, h+"."+joseSegmentWith(t, p, "sub", val.value)+"."+s)
		})
		t.Run("A-15/kid "+val.name, func(t *testing.T) {
			hdr := joseSegmentWith(t, h, "kid", val.value)
			check(t, hdr+"."+p+"."+s)
		})
		t.Run("A-15/sid "+val.name, func(t *testing.T) {
			check(t, h+"."+joseSegmentWith(t, p, "sid", val.value)+"."+s)
		})
	}
	if got := log.since(0); strings.Contains(strings.ToLower(got), "sql") {
		t.Fatalf("the log shows a database error:\n%s", got)
	}
	e.wantTokenAccepted(t, v.access, v)
}

// sameHeadersButDate compares two header sets, ignoring Date.
func sameHeadersButDate(a, b http.Header) bool {
	a, b = a.Clone(), b.Clone()
	a.Del("Date")
	b.Del("Date")
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		if !slices.Equal(va, b[k]) {
			return false
		}
	}
	return true
}

// --- B. Claims validation ---

// claimCase is one token minted with K_test and the status the probes must give.
type claimCase struct {
	id, name string
	tok      string
	accept   bool
}

func (e *env) runClaimCases(t *testing.T, v *user, cases []claimCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.id+"/"+c.name, func(t *testing.T) {
			if c.accept {
				e.wantTokenAccepted(t, c.tok, v)
				return
			}
			e.wantTokenRejected(t, c.tok, v)
		})
	}
}

// TestBClaims covers B-01, B-02, B-03, B-05, B-07, B-09, B-10, B-11, B-12 and
// B-14 with tokens minted by K_test whose one odd claim is the only fault.
func TestBClaims(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	now := e.clock.Now()
	leeway := e.cfg.Leeway
	base := e.claimsOf(t, v)
	mint := func(pl joseObject) string { return e.signTestKey(e.testHeader(), pl) }
	at := func(iat, exp time.Time) joseObject {
		return base.set("iat", joseTime(iat)).set("nbf", joseTime(iat)).set("exp", joseTime(exp))
	}
	cases := []claimCase{
		{"B-00", "control: valid claims from K_test", mint(base), true},

		{"B-01", "exp absent", mint(base.del("exp")), false},
		{"B-01", "exp null", mint(base.set("exp", "null")), false},

		{"B-02", "exp beyond the leeway", mint(at(now.Add(-5*time.Minute), now.Add(-leeway-5*time.Second))), false},
		{"B-02", "exp within the leeway", mint(at(now.Add(-5*time.Minute), now.Add(-leeway/2))), true},

		{"B-03", "exp 10 minutes ago", mint(at(now.Add(-15*time.Minute), now.Add(-10*time.Minute))), false},
		{"B-03", "nbf in 10 minutes", mint(base.set("nbf", joseTime(now.Add(10*time.Minute)))), false},

		{"B-05", "exp -1", mint(base.set("exp", "-1")), false},
		{"B-05", "exp 1e-9", mint(base.set("exp", "1e-9")), false},
		{"B-05", "exp -9.2e18", mint(base.set("exp", "-9.2e18")), false},
		{"B-05", "exp 0", mint(base.set("exp", "0")), false},
		{"B-06", "exp a string", mint(base.set("exp", joseStr(joseTime(now.Add(5*time.Minute))))), false},

		{"B-07", "exp year 10000", mint(base.set("exp", "253402300800")), false},
		{"B-07", "exp 1e20", mint(base.set("exp", "1e20")), false},
		{"B-07", "exp 1e300", mint(base.set("exp", "1e300")), false},
		{"B-07", "exp iat+30 days", mint(at(now, now.Add(30*24*time.Hour))), false},
		{"B-07", "exp just over the TTL", mint(at(now, now.Add(e.cfg.AccessTTL+time.Second))), false},
		{"B-07", "exp now+TTL with an old iat", mint(at(now.Add(-time.Hour), now.Add(e.cfg.AccessTTL))), false},

		{"B-09", "nbf beyond the leeway", mint(base.set("nbf", joseTime(now.Add(leeway+60*time.Second)))), false},

		{"B-10", "iat in an hour", mint(at(now.Add(time.Hour), now.Add(time.Hour+5*time.Minute))), false},
		{"B-10", "iat just beyond the leeway", mint(base.set("iat", joseTime(now.Add(leeway+5*time.Second)))), false},
		{"B-10", "iat absent", mint(base.del("iat")), false},

		{"B-11", "iss absent", mint(base.del("iss")), false},
		{"B-11", "iss of staging", mint(base.set("iss", joseStr("https://staging.auth.test"))), false},
		{"B-11", "iss upper case", mint(base.set("iss", joseStr(strings.ToUpper(testIssuer)))), false},
		{"B-11", "iss with a trailing slash", mint(base.set("iss", joseStr(testIssuer+"/"))), false},
		{"B-11", "iss as an array", mint(base.set("iss", "["+joseStr(testIssuer)+"]")), false},

		{"B-12", "aud absent", mint(base.del("aud")), false},
		{"B-12", "aud other-service", mint(base.set("aud", joseStr("other-service"))), false},
		{"B-12", "aud []", mint(base.set("aud", "[]")), false},
		{"B-12", `aud [""]`, mint(base.set("aud", `[""]`)), false},
		{"B-12", "aud 123", mint(base.set("aud", "123")), false},
		{"B-12", "aud null", mint(base.set("aud", "null")), false},
		{"B-12", "aud with a trailing space", mint(base.set("aud", "["+joseStr(testAudience+" ")+"]")), false},
		{"B-12", "aud upper case", mint(base.set("aud", joseStr(strings.ToUpper(testAudience)))), false},
		{"B-12", "aud [other, AUD] (control)", mint(base.set("aud", `["other",`+joseStr(testAudience)+"]")), true},

		{"B-14", "jti absent", mint(base.del("jti")), false},
		{"B-14", "jti empty", mint(base.set("jti", `""`)), false},
		{"B-14", "jti a number", mint(base.set("jti", "12345")), false},
	}
	e.runClaimCases(t, v, cases)

	t.Run("B-03/declared leeway at most 120s", func(t *testing.T) {
		if e.cfg.Leeway > 120*time.Second {
			t.Errorf("test deployment leeway %v, want <= 120s", e.cfg.Leeway)
		}
	})
}

// TestB02ExpiredAccessToken is the black-box variant of B-02: the issued
// token replayed after ACCESS_TTL + LEEWAY + 5s.
func TestB02ExpiredAccessToken(t *testing.T) {
	e := newEnv(t)
	v := e.register("victim@example.org")
	e.clock.Advance(e.cfg.AccessTTL + e.cfg.Leeway - time.Second)
	e.wantTokenAccepted(t, v.access, v) // just inside the leeway
	e.clock.Advance(6 * time.Second)
	r := e.do(req{method: "POST", path: "/auth/refresh", cookie: v.refreshCookie()})
	wantStatus(t, r, http.StatusOK)
	fresh := *v
	fresh.take(t, r)
	e.wantTokenRejected(t, v.access, &fresh)
}

// TestB13Subject: sub values that do not name a live subject of the session.
func TestB13Subject(t *testing.T) {
	spy := &storeSpy{}
	e := newEnv(t, spy.install)
	ctx := context.Background()
	v, a := victimAndAttacker(e)
	base := e.claimsOf(t, v)
	mint := func(pl joseObject) string { return e.signTestKey(e.testHeader(), pl) }
	// A second instance over the same store: sessions it starts are unknown
	// to the first one's memory, so the first must ask the store.
	other, err := gatehouse.NewService(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	remoteSession := func(email string) string {
		t.Helper()
		_, g, err := other.Login(ctx, email, testPassword, gatehouse.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		return g.Session.ID
	}

	deleted := e.register("deleted@example.org")
	deletedSID := remoteSession(deleted.email)
	spy.hide(deleted.id)

	disabled := e.register("disabled@example.org")
	disabledSID := remoteSession(disabled.email)
	if err := e.svc.DisableUser(ctx, disabled.id); err != nil {
		t.Fatal(err)
	}
	dbDisabled := e.register("dbdisabled@example.org")
	dbDisabledSID := remoteSession(dbDisabled.email)
	if err := e.db.SetUserDisabled(ctx, dbDisabled.id, true, e.clock.Now()); err != nil {
		t.Fatal(err)
	}

	t.Run("B-13/control: another instance's session, live user", func(t *testing.T) {
		e.wantTokenAccepted(t, mint(base.set("sub", joseStr(a.id)).set("sid", joseStr(remoteSession(a.email)))), a)
	})
	e.runClaimCases(t, v, []claimCase{
		{"B-13", "sub absent", mint(base.del("sub")), false},
		{"B-13", `sub ""`, mint(base.set("sub", `""`)), false},
		{"B-13", "sub 1", mint(base.set("sub", "1")), false},
		{"B-13", `sub ["admin"]`, mint(base.set("sub", `["admin"]`)), false},
		{"B-13", "sub null", mint(base.set("sub", "null")), false},
		{"B-13", "sub of another user, victim's session", mint(base.set("sub", joseStr(a.id))), false},
		{"B-13", "sub unknown, victim's session", mint(base.set("sub", joseStr(token.NewID()))), false},
		{"B-13", "sub and sid unknown", mint(base.set("sub", joseStr(token.NewID())).set("sid", joseStr(token.NewID()))), false},
		{"B-13", "sub victim, sid unknown", mint(base.set("sid", joseStr(token.NewID()))), false},
		{"B-13", "sid absent", mint(base.del("sid")), false},
		{"B-13", "deleted user", mint(base.set("sub", joseStr(deleted.id)).set("sid", joseStr(deletedSID))), false},
		{"B-13", "disabled user, its first session", mint(e.claimsOf(t, disabled)), false},
		{"B-13", "disabled user, another instance's session", mint(base.set("sub", joseStr(disabled.id)).set("sid", joseStr(disabledSID))), false},
		{"B-13", "user disabled in the store, another instance's session", mint(base.set("sub", joseStr(dbDisabled.id)).set("sid", joseStr(dbDisabledSID))), false},
	})
	// The disabled account's own token from registration is dead too.
	t.Run("B-13/disabled user, issued token", func(t *testing.T) { e.wantTokenRejected(t, disabled.access, v) })
}

// TestB14UniqueJTI: every issued token has its own unguessable jti.
func TestB14UniqueJTI(t *testing.T) {
	e := newEnv(t)
	u := e.register("many@example.org")
	seen := map[string]bool{}
	add := func(tok string) {
		t.Helper()
		jti, _ := joseClaims(t, tok)["jti"].(string)
		raw, err := base64.RawURLEncoding.DecodeString(jti)
		if err != nil || len(raw) < 16 {
			t.Fatalf("jti %q is not 128 bits of base64url", jti)
		}
		if seen[jti] {
			t.Fatalf("jti %q issued twice", jti)
		}
		seen[jti] = true
	}
	add(u.access)
	const logins = 40
	for range logins {
		l, r := e.login(u.email, testPassword)
		wantStatus(t, r, http.StatusOK)
		add(l.access)
	}
	for range 40 {
		r := e.do(req{method: "POST", path: "/auth/refresh", cookie: u.refreshCookie()})
		wantStatus(t, r, http.StatusOK)
		u.take(t, r)
		add(u.access)
	}
}

// TestB17IssuedTokenHygiene decodes a real token.
func TestB17IssuedTokenHygiene(t *testing.T) {
	e := newEnv(t)
	u := e.register("hygiene.check@example.org")
	h, p, _ := joseParts(t, u.access)
	hdr := joseSegment(t, h)
	if hdr["typ"] != token.Type || hdr["alg"] != token.EdDSA || hdr["kid"] != e.activeKid(t) || len(hdr) != 3 {
		t.Fatalf("B-17: header = %v, want exactly alg EdDSA, typ at+jwt and the active kid", hdr)
	}
	cl := joseSegment(t, p)
	for _, name := range []string{"iss", "aud", "sub", "exp", "iat", "jti", "sid"} {
		if _, ok := cl[name]; !ok {
			t.Errorf("B-17: claim %s missing from %v", name, cl)
		}
	}
	if cl["iss"] != testIssuer || cl["aud"] != testAudience || cl["sub"] != u.id {
		t.Errorf("B-17: iss, aud, sub = %v, %v, %v", cl["iss"], cl["aud"], cl["sub"])
	}
	exp, _ := cl["exp"].(json.Number).Int64()
	iat, _ := cl["iat"].(json.Number).Int64()
	if got := time.Duration(exp-iat) * time.Second; got != e.cfg.AccessTTL {
		t.Errorf("B-17: exp - iat = %v, want %v", got, e.cfg.AccessTTL)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(p)
	for _, secret := range []string{"@", "hygiene", "argon2", "$", "password", "email", "refresh"} {
		if bytes.Contains(bytes.ToLower(raw), []byte(secret)) {
			t.Errorf("B-17: payload %s contains %q", raw, secret)
		}
	}
}

// --- C. Keys and JOSE headers ---

// jwkOf returns the public JWK of an attacker key, as an attacker would embed it.
func jwkOf(pub any) string {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return `{"kty":"OKP","crv":"Ed25519","x":"` + joseB64(k) + `"}`
	case *ecdsa.PublicKey:
		b, _ := k.Bytes()
		return `{"kty":"EC","crv":"P-256","x":"` + joseB64(b[1:33]) + `","y":"` + joseB64(b[33:]) + `"}`
	case *rsa.PublicKey:
		return `{"kty":"RSA","n":"` + joseB64(k.N.Bytes()) + `","e":"` + joseB64(big.NewInt(int64(k.E)).Bytes()) + `"}`
	}
	panic("jwkOf: unsupported key")
}

// TestC01EmbeddedJWK: a self-signed key carried in the header.
func TestC01EmbeddedJWK(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	ak := attackerKeys()
	pl := e.claimsOf(t, v).String()
	for _, tt := range []struct {
		name, alg, jwk string
		sign           jwsSigner
	}{
		{"RSA", "RS256", jwkOf(&ak.rsa.PublicKey), rsaSigner(ak.rsa, crypto.SHA256, false)},
		{"EC P-256", "ES256", jwkOf(&ak.p256.PublicKey), ecSigner(ak.p256, crypto.SHA256)},
		{"Ed25519", "EdDSA", jwkOf(ak.ed.Public()), edSigner(ak.ed)},
		{"oct", "HS256", `{"kty":"oct","k":"` + joseB64([]byte("x")) + `"}`, hmacSigner(sha256.New, []byte("x"))},
	} {
		for _, kid := range []string{"", e.testKey.ID, e.activeKid(t)} {
			hdr := joseObject{{"alg", joseStr(tt.alg)}, {"typ", joseStr(token.Type)}, {"jwk", tt.jwk}}
			if kid != "" {
				hdr = hdr.set("kid", joseStr(kid))
			}
			t.Run("C-01/"+tt.name+"/kid="+strconv.Quote(kid), func(t *testing.T) {
				e.wantTokenRejected(t, forgeJWS(hdr.String(), pl, tt.sign), v)
			})
		}
	}
	// [GB] Even the trusted key's own signature fails once jwk is present.
	t.Run("C-01/GB jwk beside a valid K_test signature", func(t *testing.T) {
		e.wantTokenRejected(t, e.signTestKey(e.testHeader().set("jwk", jwkOf(e.testKey.Private.(ed25519.PrivateKey).Public())), e.claimsOf(t, v)), v)
	})
}

// keyListener counts requests, standing in for the attacker's jku/x5u host.
func keyListener(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"keys":[` + jwkOf(attackerKeys().ed.Public()) + `]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestC02JKU: jku pointing at an attacker JWKS, and SSRF targets.
func TestC02JKU(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	ak := attackerKeys()
	listener, hits := keyListener(t)
	pl := e.claimsOf(t, v).String()
	for _, jku := range []string{
		"https://attacker.example/jwks.json",
		"https://trusted.example@attacker.example/",
		"https://trusted.example.attacker.example/",
		listener.URL + "/jwks.json",
		strings.Replace(listener.URL, "127.0.0.1", "localhost", 1) + "/",
		"http://169.254.169.254/latest/meta-data/",
		"file:///etc/passwd",
	} {
		for _, kid := range []string{ak.edKid, e.testKey.ID} {
			hdr := joseObject{{"alg", joseStr(token.EdDSA)}, {"typ", joseStr(token.Type)}, {"kid", joseStr(kid)}, {"jku", joseStr(jku)}}
			t.Run("C-02/"+jku+"/kid="+kid, func(t *testing.T) {
				e.wantTokenRejected(t, forgeJWS(hdr.String(), pl, edSigner(ak.ed)), v)
			})
		}
	}
	t.Run("C-02/GB jku beside a valid K_test signature", func(t *testing.T) {
		e.wantTokenRejected(t, e.signTestKey(e.testHeader().set("jku", joseStr(listener.URL+"/jwks.json")), e.claimsOf(t, v)), v)
	})
	if n := hits.Load(); n != 0 {
		t.Fatalf("C-02: the server fetched the attacker's JWKS %d times", n)
	}
}

// TestC03X5 covers x5c (a self-signed certificate, with x5t) and x5u.
func TestC03X5(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	ak := attackerKeys()
	listener, hits := keyListener(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "auth.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ak.ed.Public(), ak.ed)
	if err != nil {
		t.Fatal(err)
	}
	sum1, sum256 := sha1.Sum(der), sha256.Sum256(der)
	x5c := `["` + base64.StdEncoding.EncodeToString(der) + `"]`
	pl := e.claimsOf(t, v).String()
	base := joseObject{{"alg", joseStr(token.EdDSA)}, {"typ", joseStr(token.Type)}}
	for _, tt := range []struct {
		name string
		hdr  joseObject
	}{
		{"x5c", base.set("x5c", x5c)},
		{"x5c and x5t", base.set("x5c", x5c).set("x5t", joseStr(joseB64(sum1[:])))},
		{"x5c and x5t#S256", base.set("x5c", x5c).set("x5t#S256", joseStr(joseB64(sum256[:])))},
		{"x5c with the test kid", base.set("kid", joseStr(e.testKey.ID)).set("x5c", x5c)},
		{"x5u", base.set("x5u", joseStr(listener.URL+"/cert.pem"))},
		{"x5u with the test kid", base.set("kid", joseStr(e.testKey.ID)).set("x5u", joseStr(listener.URL+"/cert.pem"))},
	} {
		t.Run("C-03/"+tt.name, func(t *testing.T) {
			e.wantTokenRejected(t, forgeJWS(tt.hdr.String(), pl, edSigner(ak.ed)), v)
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("C-03: the server fetched x5u %d times", n)
	}
}

// TestC04KidTraversal: kid values that name predictable files or inject SQL,
// with HMAC keys an attacker can predict.
func TestC04KidTraversal(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	pl := e.claimsOf(t, v).String()
	for _, kid := range []string{
		"../../../../../../dev/null", "/dev/null", "/invalid_path",
		"../../../../../../proc/sys/kernel/randomize_va_space",
		"' UNION SELECT 'key' -- ", "x' OR '1'='1", "|sleep 5", e.testKey.ID + "/../" + e.testKey.ID,
	} {
		for _, secret := range []string{"", "\x00", "2", "key"} {
			hdr := joseObject{{"alg", joseStr("HS256")}, {"typ", joseStr(token.Type)}, {"kid", joseStr(kid)}}
			t.Run("C-04/"+kid+"/secret "+strconv.Quote(secret), func(t *testing.T) {
				e.wantTokenRejected(t, forgeJWS(hdr.String(), pl, hmacSigner(sha256.New, []byte(secret))), v)
			})
		}
	}
}

// TestC06KidLifecycle: unknown, missing and retired kids, and keys the
// server never held.
func TestC06KidLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v, _ := victimAndAttacker(e)
	ak := attackerKeys()
	pl := e.claimsOf(t, v)
	for _, tt := range []struct{ name, tok string }{
		{"K_test signature, unknown kid", e.signTestKey(e.testHeader().set("kid", joseStr(token.NewID())), pl)},
		{"K_test signature, kid omitted", e.signTestKey(e.testHeader().del("kid"), pl)},
		{"K_test signature, kid empty", e.signTestKey(e.testHeader().set("kid", `""`), pl)},
		{"K_test signature, kid null", e.signTestKey(e.testHeader().set("kid", "null"), pl)},
		{"K_test signature, kid a number", e.signTestKey(e.testHeader().set("kid", "1"), pl)},
		{"K_test signature, kid in another case", e.signTestKey(e.testHeader().set("kid", joseStr(strings.ToUpper(e.testKey.ID))), pl)},
		{"foreign key, its own kid", forgeJWS(e.testHeader().set("kid", joseStr(ak.edKid)).String(), pl.String(), edSigner(ak.ed))},
		{"foreign key, K_test's kid", forgeJWS(e.testHeader().String(), pl.String(), edSigner(ak.ed))},
		{"foreign key, no kid", forgeJWS(e.testHeader().del("kid").String(), pl.String(), edSigner(ak.ed))},
	} {
		t.Run("C-06/"+tt.name, func(t *testing.T) { e.wantTokenRejected(t, tt.tok, v) })
	}
	t.Run("C-06/signed by a key that is not in the keyring", func(t *testing.T) {
		k, err := token.GenerateKey(token.EdDSA)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := token.Sign(k, e.validClaims(v))
		if err != nil {
			t.Fatal(err)
		}
		e.wantTokenRejected(t, tok, v)
	})
	t.Run("C-06/key removed by rotation", func(t *testing.T) {
		k, err := token.GenerateKey(token.EdDSA)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.keys.Add(ctx, k, gatehouse.KeyRetired); err != nil {
			t.Fatal(err)
		}
		tok, err := token.Sign(k, e.validClaims(v))
		if err != nil {
			t.Fatal(err)
		}
		e.wantTokenAccepted(t, tok, v) // control: held, it verifies
		if err := e.db.DeleteKey(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.keys.Load(ctx); err != nil {
			t.Fatal(err)
		}
		e.wantTokenRejected(t, tok, v)
	})
}

// TestC07AlgKeyBinding: the kid of one key with an alg or a signature that
// belongs to another.
func TestC07AlgKeyBinding(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	pl := e.claimsOf(t, v)
	active := e.activeKid(t)
	var activeRaw []byte
	for _, k := range e.publishedKeys(t) {
		if k.kid == active {
			activeRaw = k.raw
		}
	}
	if activeRaw == nil {
		t.Fatal("the active key is not published")
	}
	for _, tt := range []struct{ name, tok string }{
		{"BB active kid, HS256 keyed with its public bytes", forgeJWS(e.testHeader().set("alg", joseStr("HS256")).set("kid", joseStr(active)).String(), pl.String(), hmacSigner(sha256.New, activeRaw))},
		{"GB active kid, signed by K_test", e.signTestKey(e.testHeader().set("kid", joseStr(active)), pl)},
		{"GB K_test kid, ES256 alg with an EdDSA signature", e.signTestKey(e.testHeader().set("alg", joseStr("ES256")), pl)},
	} {
		t.Run("C-07/"+tt.name, func(t *testing.T) { e.wantTokenRejected(t, tt.tok, v) })
	}
}

// TestC08ExplicitTyping: only at+jwt and application/at+jwt, in any case.
func TestC08ExplicitTyping(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	pl := e.claimsOf(t, v)
	var cases []claimCase
	for _, typ := range []string{"JWT", "jwt", "secevent+jwt", "logout+jwt", "id_token+jwt", "rt+jwt", "at+jwt;charset=x", "at+jwt ", " at+jwt", "application/jwt", "application/at+jwt; charset=utf-8", "", "at+jwt\x00", "аt+jwt"} {
		cases = append(cases, claimCase{"C-08", "typ " + strconv.Quote(typ), e.signTestKey(e.testHeader().set("typ", joseStr(typ)), pl), false})
	}
	cases = append(cases,
		claimCase{"C-08", "typ absent", e.signTestKey(e.testHeader().del("typ"), pl), false},
		claimCase{"C-08", "typ null", e.signTestKey(e.testHeader().set("typ", "null"), pl), false},
		claimCase{"C-08", "typ an array", e.signTestKey(e.testHeader().set("typ", `["at+jwt"]`), pl), false},
		claimCase{"C-08", "typ AT+JWT (control)", e.signTestKey(e.testHeader().set("typ", joseStr("AT+JWT")), pl), true},
		claimCase{"C-08", "typ application/at+jwt (control)", e.signTestKey(e.testHeader().set("typ", joseStr("application/at+jwt")), pl), true},
		claimCase{"C-08", "typ Application/AT+JWT (control)", e.signTestKey(e.testHeader().set("typ", joseStr("Application/AT+JWT")), pl), true},
	)
	e.runClaimCases(t, v, cases)
}

// TestC09CrossJWTSubstitution: other tokens the same keys or the same
// system could produce, presented as the access token.
func TestC09CrossJWTSubstitution(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	pl := e.claimsOf(t, v)
	other, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	idToken := pl.set("aud", joseStr("gatehouse-web")).set("email", joseStr(v.email)).set("nonce", joseStr("n-0S6_WzA2Mj"))
	for _, tt := range []struct{ name, tok string }{
		{"ID token (typ JWT, client audience)", e.signTestKey(e.testHeader().set("typ", joseStr("JWT")), idToken)},
		{"ID token with at+jwt typing but a client audience", e.signTestKey(e.testHeader(), idToken)},
		{"password reset token", e.signTestKey(e.testHeader().set("typ", joseStr("reset+jwt")), pl.set("aud", joseStr("gatehouse-reset")))},
		{"logout token", e.signTestKey(e.testHeader().set("typ", joseStr("logout+jwt")), pl.set("events", `{"http://schemas.openid.net/event/backchannel-logout":{}}`))},
		{"another environment's token", forgeJWS(joseObject{{"alg", joseStr(token.EdDSA)}, {"typ", joseStr(token.Type)}, {"kid", joseStr(other.ID)}}.String(), pl.set("iss", joseStr("https://auth.staging.test")).String(), edSigner(other.Private.(ed25519.PrivateKey)))},
		{"the refresh token", v.refresh},
		{"the JWKS document", joseB64(e.get("/.well-known/jwks.json", "").body)},
	} {
		t.Run("C-09/"+tt.name, func(t *testing.T) { e.wantTokenRejected(t, tt.tok, v) })
	}
	t.Run("C-09/the access token as the refresh token", func(t *testing.T) {
		wantRejected(t, e.do(req{method: "POST", path: "/auth/refresh", cookie: httpapi.RefreshCookie + "=" + v.access}))
		e.wantTokenAccepted(t, v.access, v)
	})
}

// TestC10Crit: crit, which golang-jwt does not implement.
func TestC10Crit(t *testing.T) {
	e := newEnv(t)
	v, _ := victimAndAttacker(e)
	pl := e.claimsOf(t, v)
	h := e.testHeader()
	for _, tt := range []struct {
		name string
		hdr  joseObject
	}{
		{`["x-unknown"]`, h.set("crit", `["x-unknown"]`).set("x-unknown", "true")},
		{"[]", h.set("crit", "[]")},
		{`["exp"]`, h.set("crit", `["exp"]`)},
		{`"b64" (not an array)`, h.set("crit", `"b64"`)},
		{`["b64"] with b64 false`, h.set("crit", `["b64"]`).set("b64", "false")},
		{"b64 false without crit", h.set("b64", "false")},
		{"zip DEF", h.set("zip", joseStr("DEF"))},
	} {
		t.Run("C-10/crit "+tt.name, func(t *testing.T) { e.wantTokenRejected(t, e.signTestKey(tt.hdr, pl), v) })
	}
}
