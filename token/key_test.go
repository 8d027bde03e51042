package token_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/token"
)

// rsa1024 is a key below MinRSABits, generated once.
var rsa1024 = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return k
})

func TestGenerateKey(t *testing.T) {
	f := getFixture(t)
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			k := f.key(alg)
			if err := k.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if k.Algorithm != alg {
				t.Errorf("Algorithm = %q, want %q", k.Algorithm, alg)
			}
			fresh, err := token.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			id, err := base64.RawURLEncoding.Strict().DecodeString(fresh.ID)
			if err != nil || len(id) != 16 {
				t.Errorf("kid %q: %d bytes (%v), want 16 random bytes base64url", fresh.ID, len(id), err)
			}
			if alg == token.RS256 {
				if bits := fresh.Private.(*rsa.PrivateKey).N.BitLen(); bits < 3072 {
					t.Errorf("generated RSA key has %d bits, want >= 3072", bits)
				}
			}
			if alg == token.HS256 {
				if n := len(fresh.Private.([]byte)); n < token.MinHMACBytes {
					t.Errorf("generated secret has %d bytes, want >= %d", n, token.MinHMACBytes)
				}
			}
		})
	}
	for _, alg := range []string{"", "none", "None", "eddsa", "ES384", "RS512", "PS256", "HS384", "HS512", "Ed25519"} {
		if _, err := token.GenerateKey(alg); err == nil {
			t.Errorf("GenerateKey(%q) succeeded, want an error", alg)
		}
	}
}

func TestKeyValidate(t *testing.T) {
	f := getFixture(t)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	otherEdPub, _, _ := ed25519.GenerateKey(rand.Reader)
	tampered := append(ed25519.PrivateKey(nil), edPriv...)
	copy(tampered[32:], otherEdPub) // cached public half does not match the seed
	p384 := f.atkP384
	secret31 := bytes.Repeat([]byte{7}, token.MinHMACBytes-1)
	secret32 := bytes.Repeat([]byte{7}, token.MinHMACBytes)
	offCurve := &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}
	weakRSA := rsa1024()

	for _, c := range []struct {
		name string
		key  *token.Key
		ok   bool
	}{
		{"EdDSA verify-only", &token.Key{ID: "a", Algorithm: token.EdDSA, Public: edPub}, true},
		{"EdDSA private only", &token.Key{ID: "a", Algorithm: token.EdDSA, Private: edPriv}, true},
		{"HS256 32 bytes", &token.Key{ID: "a", Algorithm: token.HS256, Private: secret32, Public: secret32}, true},
		{"nil key", nil, false},
		{"no kid", &token.Key{Algorithm: token.EdDSA, Public: edPub}, false},
		{"no key material", &token.Key{ID: "a", Algorithm: token.EdDSA}, false},
		{"alg none", &token.Key{ID: "a", Algorithm: "none", Public: edPub}, false},
		{"alg lower case", &token.Key{ID: "a", Algorithm: "eddsa", Public: edPub}, false},
		{"alg empty", &token.Key{ID: "a", Algorithm: "", Public: edPub}, false},
		{"alg HS384", &token.Key{ID: "a", Algorithm: "HS384", Private: secret32}, false},
		{"Ed25519 key labelled ES256", &token.Key{ID: "a", Algorithm: token.ES256, Private: edPriv, Public: edPub}, false},
		{"RSA key labelled EdDSA", &token.Key{ID: "a", Algorithm: token.EdDSA, Private: f.rs.Private}, false},
		{"EdDSA public mismatch", &token.Key{ID: "a", Algorithm: token.EdDSA, Private: edPriv, Public: otherEdPub}, false},
		{"EdDSA tampered private", &token.Key{ID: "a", Algorithm: token.EdDSA, Private: tampered}, false},
		{"EdDSA pointer type", &token.Key{ID: "a", Algorithm: token.EdDSA, Public: &edPub}, false},
		{"EdDSA short public", &token.Key{ID: "a", Algorithm: token.EdDSA, Public: edPub[:31]}, false},
		{"ES256 with P-384", &token.Key{ID: "a", Algorithm: token.ES256, Private: p384, Public: &p384.PublicKey}, false},
		{"ES256 public off the curve", &token.Key{ID: "a", Algorithm: token.ES256, Public: offCurve}, false},
		{"ES256 public mismatch", &token.Key{ID: "a", Algorithm: token.ES256, Private: f.es.Private, Public: &f.atkP256.PublicKey}, false},
		{"ES256 nil public pointer", &token.Key{ID: "a", Algorithm: token.ES256, Public: (*ecdsa.PublicKey)(nil)}, false},
		{"RS256 1024-bit", &token.Key{ID: "a", Algorithm: token.RS256, Private: weakRSA, Public: &weakRSA.PublicKey}, false},
		{"RS256 1024-bit verify-only", &token.Key{ID: "a", Algorithm: token.RS256, Public: &weakRSA.PublicKey}, false},
		{"RS256 2048-bit", &token.Key{ID: "a", Algorithm: token.RS256, Private: f.atkRSA, Public: &f.atkRSA.PublicKey}, true},
		{"RS256 public mismatch", &token.Key{ID: "a", Algorithm: token.RS256, Private: f.rs.Private, Public: &f.atkRSA.PublicKey}, false},
		{"RS256 public exponent 1", &token.Key{ID: "a", Algorithm: token.RS256, Public: &rsa.PublicKey{N: f.atkRSA.N, E: 1}}, false},
		// a short or empty HMAC secret is refused outright.
		{"A-06 HS256 31 bytes", &token.Key{ID: "a", Algorithm: token.HS256, Private: secret31, Public: secret31}, false},
		{"A-06 HS256 empty", &token.Key{ID: "a", Algorithm: token.HS256, Private: []byte{}, Public: []byte{}}, false},
		{"A-06 HS256 string", &token.Key{ID: "a", Algorithm: token.HS256, Private: string(secret32)}, false},
		{"HS256 public differs from private", &token.Key{ID: "a", Algorithm: token.HS256, Private: secret32, Public: f.atkHMAC}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.key.Validate()
			if c.ok && err != nil {
				t.Errorf("Validate: %v, want nil", err)
			}
			if !c.ok && err == nil {
				t.Errorf("Validate succeeded, want an error")
			}
		})
	}
}

func TestMarshalParsePrivate(t *testing.T) {
	f := getFixture(t)
	v := f.verifier()
	for _, alg := range algorithms {
		k := f.key(alg)
		der, err := token.MarshalPrivate(k)
		if err != nil {
			t.Fatalf("%s: MarshalPrivate: %v", alg, err)
		}
		encodings := map[string][]byte{"raw": der}
		if alg != token.HS256 {
			pemText := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
			encodings["PEM"] = pemText
			encodings["PEM without trailing newline"] = bytes.TrimSuffix(pemText, []byte("\n"))
		}
		for name, data := range encodings {
			t.Run(alg+"/"+name, func(t *testing.T) {
				got, err := token.ParsePrivate(alg, data, k.ID)
				if err != nil {
					t.Fatalf("ParsePrivate: %v", err)
				}
				if got.ID != k.ID || got.Algorithm != alg {
					t.Errorf("ParsePrivate = kid %q alg %q, want %q %q", got.ID, got.Algorithm, k.ID, alg)
				}
				raw, err := token.Sign(got, validClaims())
				if err != nil {
					t.Fatalf("Sign with parsed key: %v", err)
				}
				if _, err := v.Verify(raw); err != nil {
					t.Errorf("Verify with the original key: %v", err)
				}
				again, err := token.MarshalPrivate(got)
				if err != nil || !bytes.Equal(again, der) {
					t.Errorf("MarshalPrivate(ParsePrivate(x)) != x (err %v)", err)
				}
			})
		}
	}
	if _, err := token.MarshalPrivate(&token.Key{ID: "v", Algorithm: token.EdDSA, Public: f.ed.Public}); err == nil {
		t.Errorf("MarshalPrivate of a verify-only key succeeded, want an error")
	}
}

func TestParsePrivateRejects(t *testing.T) {
	f := getFixture(t)
	derOf := func(priv any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	edDER := derOf(f.ed.Private)
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	for _, c := range []struct {
		name, alg, kid string
		data           []byte
	}{
		{"A-06 HS256 31 bytes", token.HS256, "k", bytes.Repeat([]byte{1}, token.MinHMACBytes-1)},
		{"A-06 HS256 16 bytes", token.HS256, "k", bytes.Repeat([]byte{1}, 16)},
		{"A-06 HS256 empty", token.HS256, "k", nil},
		{"A-06 HS256 'secret'", token.HS256, "k", []byte("secret")},
		{"unknown algorithm", "PS256", "k", edDER},
		{"alg none", "none", "k", edDER},
		{"empty kid", token.EdDSA, "", edDER},
		{"garbage", token.EdDSA, "k", []byte("not a key")},
		{"Ed25519 DER as ES256", token.ES256, "k", edDER},
		{"Ed25519 DER as RS256", token.RS256, "k", edDER},
		{"P-256 DER as EdDSA", token.EdDSA, "k", derOf(f.es.Private)},
		{"P-384 DER as ES256", token.ES256, "k", derOf(f.atkP384)},
		{"RSA 1024 DER", token.RS256, "k", derOf(rsa1024())},
		{"PKCS#1 RSA PEM", token.RS256, "k", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.atkRSA))},
		{"PUBLIC KEY PEM", token.EdDSA, "k", pemOf("PUBLIC KEY", edDER)},
		{"PEM with trailing data", token.EdDSA, "k", append(pemOf("PRIVATE KEY", edDER), "junk"...)},
		{"two PEM blocks", token.EdDSA, "k", append(pemOf("PRIVATE KEY", edDER), pemOf("PRIVATE KEY", edDER)...)},
		{"encrypted PEM headers", token.EdDSA, "k", pem.EncodeToMemory(&pem.Block{
			Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: edDER})},
		{"broken PEM", token.EdDSA, "k", []byte("-----BEGIN PRIVATE KEY-----\n!!!\n")},
	} {
		t.Run(c.name, func(t *testing.T) {
			if k, err := token.ParsePrivate(c.alg, c.data, c.kid); err == nil {
				t.Errorf("ParsePrivate = %+v, want an error", k)
			}
		})
	}
}

// TestJWK is the JWKS half of the positive controls: asymmetric keys publish
// exactly their public parameters, HS256 publishes nothing.
func TestJWK(t *testing.T) {
	f := getFixture(t)
	b64dec := base64.RawURLEncoding.Strict().DecodeString
	for _, c := range []struct {
		alg    string
		fields string
	}{
		{token.EdDSA, "alg crv kid kty use x"},
		{token.ES256, "alg crv kid kty use x y"},
		{token.RS256, "alg e kid kty n use"},
	} {
		t.Run(c.alg, func(t *testing.T) {
			k := f.key(c.alg)
			jwk, ok := k.JWK()
			if !ok {
				t.Fatalf("JWK() ok = false, want true")
			}
			var names []string
			for n := range jwk {
				names = append(names, n)
			}
			sort.Strings(names)
			if got := strings.Join(names, " "); got != c.fields {
				t.Errorf("JWK fields %q, want %q (no private parameters)", got, c.fields)
			}
			if jwk["kid"] != k.ID || jwk["alg"] != c.alg || jwk["use"] != "sig" {
				t.Errorf("JWK kid/alg/use = %v/%v/%v", jwk["kid"], jwk["alg"], jwk["use"])
			}
			switch c.alg {
			case token.EdDSA:
				x, _ := b64dec(jwk["x"].(string))
				if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" || !bytes.Equal(x, k.Public.(ed25519.PublicKey)) {
					t.Errorf("Ed25519 JWK %v does not match the key", jwk)
				}
			case token.ES256:
				x, _ := b64dec(jwk["x"].(string))
				y, _ := b64dec(jwk["y"].(string))
				if len(x) != 32 || len(y) != 32 {
					t.Fatalf("x, y are %d and %d bytes, want 32 each", len(x), len(y))
				}
				pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
				if err != nil || jwk["kty"] != "EC" || jwk["crv"] != "P-256" || !pub.Equal(k.Public) {
					t.Errorf("P-256 JWK %v does not match the key (%v)", jwk, err)
				}
			case token.RS256:
				n, _ := b64dec(jwk["n"].(string))
				e, _ := b64dec(jwk["e"].(string))
				pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
				if jwk["kty"] != "RSA" || !pub.Equal(k.Public) || jwk["e"] != "AQAB" {
					t.Errorf("RSA JWK %v does not match the key", jwk)
				}
			}
			// The same JWK from a verify-only key and from a private-only key.
			for _, partial := range []*token.Key{
				{ID: k.ID, Algorithm: k.Algorithm, Public: k.Public},
				{ID: k.ID, Algorithm: k.Algorithm, Private: k.Private},
			} {
				other, ok := partial.JWK()
				if !ok || other["x"] != jwk["x"] || other["n"] != jwk["n"] {
					t.Errorf("JWK of a partial key = %v, %v; want %v", other, ok, jwk)
				}
			}
		})
	}
	t.Run(token.HS256, func(t *testing.T) {
		if jwk, ok := f.hs.JWK(); ok || jwk != nil {
			t.Errorf("HS256 JWK() = %v, %v; want nil, false (never publish a secret)", jwk, ok)
		}
	})
	t.Run("mistyped key", func(t *testing.T) {
		bad := &token.Key{ID: "x", Algorithm: token.EdDSA, Public: []byte(f.ed.Public.(ed25519.PublicKey))}
		if jwk, ok := bad.JWK(); ok {
			t.Errorf("JWK() of a mistyped key = %v, want false", jwk)
		}
	})
}

// A kid that starts with "-" reads as a flag on a command line (gatehouse
// keys retire KID); one random id in 64 did.
func TestKeyIDNeverLooksLikeAFlag(t *testing.T) {
	for range 2000 {
		if id := token.NewKeyID(); id[0] == '-' || len(id) != 22 {
			t.Fatalf("key id %q", id)
		}
	}
	k, err := token.GenerateKey(token.HS256)
	if err != nil || k.ID[0] == '-' {
		t.Fatalf("GenerateKey: kid %q, %v", k.ID, err)
	}
}
