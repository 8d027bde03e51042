package token_test

// Cases of section C of SECURITY-CASES.md: keys and JOSE headers.

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/token"
)

// jwkOf returns the public JWK JSON of an attacker key.
func jwkOf(tb testing.TB, alg string, priv, pub any) string {
	tb.Helper()
	k := &token.Key{ID: "attacker", Algorithm: alg, Private: priv, Public: pub}
	jwk, ok := k.JWK()
	if !ok {
		tb.Fatalf("JWK of attacker %s key", alg)
	}
	b, _ := json.Marshal(jwk)
	return string(b)
}

func casesC01(tb testing.TB, f *fixture) []vcase {
	admin := payload(set("sub", q("user-admin")))
	type atk struct {
		m       jwt.SigningMethod
		priv    any
		jwkJSON string
	}
	rsaPriv := f.atkRSA
	atks := []atk{
		{jwt.SigningMethodRS256, rsaPriv, jwkOf(tb, token.RS256, rsaPriv, &rsaPriv.PublicKey)},
		{jwt.SigningMethodES256, f.atkP256, jwkOf(tb, token.ES256, f.atkP256, &f.atkP256.PublicKey)},
		{jwt.SigningMethodEdDSA, f.atkEd, jwkOf(tb, token.EdDSA, f.atkEd, f.atkEd.Public())},
		{jwt.SigningMethodHS256, []byte("x"), `{"kty":"oct","k":"` + b64("x") + `"}`},
	}
	var cs []vcase
	for _, a := range atks {
		for _, kid := range []string{"attacker", f.ed.ID, f.key(a.m.Alg()).ID} {
			hdr := header(a.m.Alg(), kid, set("jwk", a.jwkJSON))
			cs = append(cs, reject(fmt.Sprintf("%s jwk, kid %s", a.m.Alg(), kid), forge(tb, a.m, a.priv, hdr, admin), `"jwk" not allowed`))
		}
		hdr := header(a.m.Alg(), "", del("kid"), set("jwk", a.jwkJSON))
		cs = append(cs, reject(a.m.Alg()+" jwk, no kid", forge(tb, a.m, a.priv, hdr, admin), `"jwk" not allowed`))
	}
	return cs
}

// listener counts requests, to prove that verification fetches nothing.
type listener struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func newListener(tb testing.TB) *listener {
	l := &listener{}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.hits.Add(1)
		http.Error(w, "no", http.StatusNotFound)
	}))
	tb.Cleanup(func() {
		l.srv.Close()
		if n := l.hits.Load(); n != 0 {
			tb.Errorf("listener got %d requests, want none: the verifier fetched a key URL", n)
		}
	})
	return l
}

func casesC02(tb testing.TB, f *fixture) []vcase {
	l := newListener(tb)
	var cs []vcase
	for _, u := range []string{
		"https://attacker.example/jwks.json",
		"https://trusted.example@attacker.example/",
		"https://trusted.example.attacker.example/",
		"http://127.0.0.1:1/",
		"http://169.254.169.254/latest/meta-data/",
		"file:///etc/passwd",
		l.srv.URL + "/jwks.json",
	} {
		hdr := header(token.EdDSA, "attacker", set("jku", q(u)))
		raw := forge(tb, jwt.SigningMethodEdDSA, f.atkEd, hdr, payload(set("sub", q("user-admin"))))
		cs = append(cs, reject("jku "+u, raw, `"jku" not allowed`))
	}
	return cs
}

func casesC03(tb testing.TB, f *fixture) []vcase {
	l := newListener(tb)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gatehouse"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, f.atkEd.Public(), f.atkEd)
	if err != nil {
		tb.Fatal(err)
	}
	x5c := `["` + base64Std(der) + `"]`
	admin := payload(set("sub", q("user-admin")))
	sign := func(hdr string) string { return forge(tb, jwt.SigningMethodEdDSA, f.atkEd, hdr, admin) }
	return []vcase{
		reject("x5c self-signed, kid ed-1", sign(header(token.EdDSA, f.ed.ID, set("x5c", x5c))), `"x5c" not allowed`),
		reject("x5c with x5t", sign(header(token.EdDSA, f.ed.ID, set("x5t", q(b64("thumb"))), set("x5c", x5c))), `"x5t" not allowed`),
		reject("x5t#S256", sign(header(token.EdDSA, f.ed.ID, set("x5t#S256", q(b64("thumb"))))), `"x5t#S256" not allowed`),
		reject("x5u to listener", sign(header(token.EdDSA, f.ed.ID, set("x5u", q(l.srv.URL+"/cert.pem")))), `"x5u" not allowed`),
		reject("x5u external", sign(header(token.EdDSA, "attacker", set("x5u", q("https://attacker.example/cert.pem")))), `"x5u" not allowed`),
	}
}

// base64Std is the standard base64 that x5c uses (RFC 7515 §4.1.6).
func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func casesC04(tb testing.TB, f *fixture) []vcase {
	var cs []vcase
	for _, kid := range []string{
		"../../../../../../dev/null", "/dev/null", "/invalid_path",
		"../../../../../../proc/sys/kernel/randomize_va_space", "hs-1/../hs-1", "hs-1\x00", "' OR '1'='1",
	} {
		for _, secret := range []string{"", "\x00", "2"} {
			raw := forge(tb, jwt.SigningMethodHS256, []byte(secret), header(token.HS256, kid), payload(set("sub", q("user-admin"))))
			cs = append(cs, reject(fmt.Sprintf("kid %q secret %q", kid, secret), raw, "unknown kid"))
		}
	}
	return cs
}

func casesC06(tb testing.TB, f *fixture) []vcase {
	sign := func(hdr string) string { return f.edHeader(tb, hdr) }
	retired := f.verifier()
	retired.Keys = keySet{f.ed.ID: f.ed} // ed-2 rotated out
	alias := f.verifier()
	alias.Keys = keySet{"alias": f.ed}
	return []vcase{
		reject("unknown kid, trusted key's signature", sign(header(token.EdDSA, "ed-9")), "unknown kid"),
		reject("kid omitted", sign(header(token.EdDSA, "", del("kid"))), "kid missing"),
		reject(`kid ""`, sign(header(token.EdDSA, "")), "kid missing"),
		reject("kid a number", sign(header(token.EdDSA, "", set("kid", "42"))), "not a string"),
		reject("kid null", sign(header(token.EdDSA, "", set("kid", "null"))), "not a string"),
		reject("kid an array", sign(header(token.EdDSA, "", set("kid", `["ed-1"]`))), "not a string"),
		{name: "retired kid", raw: forge(tb, jwt.SigningMethodEdDSA, f.ed2.Private, header(token.EdDSA, f.ed2.ID), payload()), v: retired, reason: "unknown kid"},
		{name: "key set returns a key with another kid", raw: sign(header(token.EdDSA, "alias")), v: alias, reason: "returned key"},
	}
}

func casesC07(tb testing.TB, f *fixture) []vcase {
	cs := []vcase{
		reject("kid ed-1 signed by ed-2", forge(tb, jwt.SigningMethodEdDSA, f.ed2.Private, header(token.EdDSA, f.ed.ID), payload()), "signature is invalid"),
		reject("kid ed-2 signed by ed-1", forge(tb, jwt.SigningMethodEdDSA, f.ed.Private, header(token.EdDSA, f.ed2.ID), payload()), "signature is invalid"),
		reject("kid es-1 signed by another P-256 key", forge(tb, jwt.SigningMethodES256, f.atkP256, header(token.ES256, f.es.ID), payload()), "signature is invalid"),
		reject("kid rs-1 signed by another RSA key", forge(tb, jwt.SigningMethodRS256, f.atkRSA, header(token.RS256, f.rs.ID), payload()), "signature is invalid"),
		reject("kid hs-1 signed by another secret", forge(tb, jwt.SigningMethodHS256, f.atkHMAC, header(token.HS256, f.hs.ID), payload()), "signature is invalid"),
		reject("HS256 on the EdDSA kid, keyed with its public bytes",
			forge(tb, jwt.SigningMethodHS256, []byte(f.ed.Public.(ed25519.PublicKey)), header(token.HS256, f.ed.ID), payload()), "does not match"),
		reject("HS256 on the EdDSA kid, keyed with the HS256 secret",
			forge(tb, jwt.SigningMethodHS256, f.hs.Private, header(token.HS256, f.ed.ID), payload()), "does not match"),
	}
	// alg must equal the key's algorithm exactly: no case folding, no aliases.
	_, p, s := parts(tb, f.valid[token.EdDSA])
	for _, alg := range []string{"eddsa", "EDDSA", "Ed25519", "EdDSA ", " EdDSA", "ED25519"} {
		cs = append(cs, reject(fmt.Sprintf("alg %q, original signature", alg), b64(header(alg, f.ed.ID))+"."+p+"."+s, "does not match"))
	}
	return cs
}

func casesC08(tb testing.TB, f *fixture) []vcase {
	var cs []vcase
	for _, typ := range []string{
		"JWT", "jwt", "secevent+jwt", "logout+jwt", "id_token+jwt", "rt+jwt", "at+jwt;charset=x",
		"at+jwt ", " at+jwt", "application/jwt", "application/at+jwt;charset=utf-8", "at+JWT\x00", "",
		"\u0430t+jwt", // Cyrillic a
	} {
		cs = append(cs, reject(fmt.Sprintf("typ %q", typ), f.edHeader(tb, header(token.EdDSA, f.ed.ID, set("typ", q(typ)))), "not accepted"))
	}
	cs = append(cs,
		reject("typ absent", f.edHeader(tb, header(token.EdDSA, f.ed.ID, del("typ"))), "typ missing"),
		reject("typ a number", f.edHeader(tb, header(token.EdDSA, f.ed.ID, set("typ", "1"))), "not a string"),
		reject("typ null", f.edHeader(tb, header(token.EdDSA, f.ed.ID, set("typ", "null"))), "not a string"),
	)
	for _, typ := range []string{"at+jwt", "AT+JWT", "At+Jwt", "application/at+jwt", "APPLICATION/AT+JWT"} {
		cs = append(cs, accept(fmt.Sprintf("typ %q", typ), f.edHeader(tb, header(token.EdDSA, f.ed.ID, set("typ", q(typ))))))
	}
	return cs
}

func casesC10(tb testing.TB, f *fixture) []vcase {
	var cs []vcase
	for _, c := range []struct {
		name  string
		edits []edit
	}{
		{"crit [x-unknown]", []edit{set("crit", `["x-unknown"]`), set("x-unknown", "true")}},
		{"crit []", []edit{set("crit", "[]")}},
		{"crit [exp]", []edit{set("crit", `["exp"]`)}},
		{"crit \"b64\" (not an array)", []edit{set("crit", q("b64"))}},
		{"crit [b64] with b64 false", []edit{set("crit", `["b64"]`), set("b64", "false")}},
		{"crit null", []edit{set("crit", "null")}},
	} {
		cs = append(cs, reject(c.name, f.edHeader(tb, header(token.EdDSA, f.ed.ID, c.edits...)), `"crit" not allowed`))
	}
	return append(cs, reject("b64 false alone", f.edHeader(tb, header(token.EdDSA, f.ed.ID, set("b64", "false"))), `"b64" not allowed`))
}
