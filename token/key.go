package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

const (
	// MinRSABits is the smallest RSA modulus accepted, for signing and for
	// verification (RFC 7518 §3.3, NIST SP 800-57).
	MinRSABits = 2048
	// MinHMACBytes is the shortest HS256 secret accepted: as long as the
	// SHA-256 output (RFC 8725 §3.5). A short or empty secret turns every
	// token into an offline cracking exercise.
	MinHMACBytes = 32

	// rsaGenerateBits is the modulus size of keys made by GenerateKey:
	// 3072 bits, NIST's size for use beyond 2030.
	rsaGenerateBits = 3072
)

// Key is a signing or verification key. Each key is bound to exactly one
// algorithm, so a token can never choose how its own signature is checked
// (RFC 8725bis: "each key MUST be used with exactly one algorithm").
type Key struct {
	ID        string // kid
	Algorithm string // EdDSA, ES256, RS256 or HS256
	// Private is an ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey or,
	// for HS256, the []byte secret. It is nil for a verify-only key.
	Private any
	// Public is an ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey or,
	// for HS256, the same []byte secret. It may be nil when Private is set.
	Public any
}

// GenerateKey returns a new key for alg with a random kid: Ed25519, P-256,
// 3072-bit RSA, or a 32-byte HS256 secret, all from crypto/rand.
func GenerateKey(alg string) (*Key, error) {
	k := &Key{ID: NewKeyID(), Algorithm: alg}
	switch alg {
	case EdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("token: generate %s key: %w", alg, err)
		}
		k.Private, k.Public = priv, pub
	case ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("token: generate %s key: %w", alg, err)
		}
		k.Private, k.Public = priv, &priv.PublicKey
	case RS256:
		priv, err := rsa.GenerateKey(rand.Reader, rsaGenerateBits)
		if err != nil {
			return nil, fmt.Errorf("token: generate %s key: %w", alg, err)
		}
		k.Private, k.Public = priv, &priv.PublicKey
	case HS256:
		secret := make([]byte, MinHMACBytes)
		_, _ = rand.Read(secret) // never fails since Go 1.24
		k.Private, k.Public = secret, secret
	default:
		return nil, fmt.Errorf("token: unsupported algorithm %q", alg)
	}
	return k, nil
}

// Validate reports whether k is usable: a kid, a supported algorithm, key
// material of the type that algorithm needs (RSA at least MinRSABits, HS256
// at least MinHMACBytes, ECDSA on P-256), and a public key that matches the
// private one when both are set. Call it once when a key is loaded, so that
// a bad key stops the server at start-up instead of failing at login.
func (k *Key) Validate() error {
	if k == nil {
		return errors.New("token: nil key")
	}
	if k.ID == "" {
		return errors.New("token: key has no kid")
	}
	if !knownAlgorithm(k.Algorithm) {
		return fmt.Errorf("token: key %s: unsupported algorithm %q", k.ID, k.Algorithm)
	}
	if k.Private == nil && k.Public == nil {
		return fmt.Errorf("token: key %s: no key material", k.ID)
	}
	var fromPrivate, fromPublic any
	if k.Private != nil {
		signer, err := privateKey(k.Algorithm, k.Private)
		if err != nil {
			return fmt.Errorf("token: key %s: %w", k.ID, err)
		}
		if err := checkPrivateDeep(signer); err != nil {
			return fmt.Errorf("token: key %s: %w", k.ID, err)
		}
		fromPrivate = publicOf(signer)
	}
	if k.Public != nil {
		pub, err := publicKey(k.Algorithm, k.Public)
		if err != nil {
			return fmt.Errorf("token: key %s: %w", k.ID, err)
		}
		if ec, ok := pub.(*ecdsa.PublicKey); ok {
			if _, err := ec.Bytes(); err != nil { // not a point on the curve
				return fmt.Errorf("token: key %s: invalid P-256 public key: %w", k.ID, err)
			}
		}
		fromPublic = pub
	}
	if fromPrivate != nil && fromPublic != nil && !samePublic(fromPrivate, fromPublic) {
		return fmt.Errorf("token: key %s: public key does not match private key", k.ID)
	}
	return nil
}

func knownAlgorithm(alg string) bool {
	switch alg {
	case EdDSA, ES256, RS256, HS256:
		return true
	}
	return false
}

// privateKey returns priv typed for alg, after the cheap checks that signing
// needs (type, curve, size). Validate adds the expensive consistency checks.
func privateKey(alg string, priv any) (any, error) {
	switch alg {
	case EdDSA:
		p, ok := priv.(ed25519.PrivateKey)
		if !ok || len(p) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("%s needs an ed25519.PrivateKey, got %T", alg, priv)
		}
		return p, nil
	case ES256:
		p, ok := priv.(*ecdsa.PrivateKey)
		if !ok || p == nil || p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%s needs a P-256 *ecdsa.PrivateKey, got %s", alg, describe(priv))
		}
		return p, nil
	case RS256:
		p, ok := priv.(*rsa.PrivateKey)
		if !ok || p == nil || p.N == nil {
			return nil, fmt.Errorf("%s needs an *rsa.PrivateKey, got %T", alg, priv)
		}
		if p.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("%s key is %d bits, want at least %d", alg, p.N.BitLen(), MinRSABits)
		}
		return p, nil
	case HS256:
		return hmacSecret(priv)
	}
	return nil, fmt.Errorf("unsupported algorithm %q", alg)
}

// publicKey returns pub typed for alg. It is what the verifier hands to
// golang-jwt: raw bytes only ever for an HS256 key, so an asymmetric public
// key can never become an HMAC secret (algorithm confusion, A-05).
func publicKey(alg string, pub any) (any, error) {
	switch alg {
	case EdDSA:
		p, ok := pub.(ed25519.PublicKey)
		if !ok || len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%s needs an ed25519.PublicKey, got %T", alg, pub)
		}
		return pub, nil // already an ed25519.PublicKey; returning p would box it again
	case ES256:
		p, ok := pub.(*ecdsa.PublicKey)
		if !ok || p == nil || p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%s needs a P-256 *ecdsa.PublicKey, got %s", alg, describe(pub))
		}
		return p, nil
	case RS256:
		p, ok := pub.(*rsa.PublicKey)
		if !ok || p == nil || p.N == nil {
			return nil, fmt.Errorf("%s needs an *rsa.PublicKey, got %T", alg, pub)
		}
		if p.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("%s key is %d bits, want at least %d", alg, p.N.BitLen(), MinRSABits)
		}
		if p.E < 3 || p.E%2 == 0 {
			return nil, fmt.Errorf("%s key has an invalid public exponent", alg)
		}
		return p, nil
	case HS256:
		return hmacSecret(pub)
	}
	return nil, fmt.Errorf("unsupported algorithm %q", alg)
}

func hmacSecret(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("%s needs a []byte secret, got %T", HS256, v)
	}
	if len(b) < MinHMACBytes {
		return nil, fmt.Errorf("%s secret is %d bytes, want at least %d", HS256, len(b), MinHMACBytes)
	}
	return b, nil
}

// checkPrivateDeep runs the consistency checks too costly for every Sign.
func checkPrivateDeep(priv any) error {
	switch p := priv.(type) {
	case ed25519.PrivateKey:
		// The second half of an ed25519.PrivateKey is a cached public key;
		// a mismatch would make every signature unverifiable.
		if !bytes.Equal(ed25519.NewKeyFromSeed(p.Seed()), p) {
			return errors.New("ed25519 private key is inconsistent")
		}
	case *ecdsa.PrivateKey:
		if _, err := p.Bytes(); err != nil {
			return fmt.Errorf("invalid P-256 private key: %w", err)
		}
	case *rsa.PrivateKey:
		if err := p.Validate(); err != nil {
			return fmt.Errorf("invalid RSA private key: %w", err)
		}
	}
	return nil
}

// publicOf returns the public half of a typed private key; an HS256 secret is
// its own public half.
func publicOf(priv any) any {
	switch p := priv.(type) {
	case ed25519.PrivateKey:
		return p.Public()
	case *ecdsa.PrivateKey:
		return &p.PublicKey
	case *rsa.PrivateKey:
		return &p.PublicKey
	}
	return priv
}

func samePublic(a, b any) bool {
	if x, ok := a.([]byte); ok {
		y, ok := b.([]byte)
		return ok && subtle.ConstantTimeCompare(x, y) == 1
	}
	x, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && x.Equal(b)
}

// verificationKey returns the typed key the signature of a token under k is
// checked with: Public, or the public half of Private for a key stored with
// its private part only.
func (k *Key) verificationKey() (any, error) {
	if k.Public != nil {
		return publicKey(k.Algorithm, k.Public)
	}
	if k.Private == nil {
		return nil, errors.New("no key material")
	}
	priv, err := privateKey(k.Algorithm, k.Private)
	if err != nil {
		return nil, err
	}
	return publicOf(priv), nil
}

// MarshalPrivate encodes k's private key for storage: PKCS#8 DER for the
// asymmetric algorithms, the raw secret for HS256. ParsePrivate reverses it.
// The result is secret; seal it before it touches disk.
func MarshalPrivate(k *Key) ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if k.Private == nil {
		return nil, fmt.Errorf("token: key %s has no private part", k.ID)
	}
	if k.Algorithm == HS256 {
		return bytes.Clone(k.Private.([]byte)), nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("token: key %s: %w", k.ID, err)
	}
	return der, nil
}

// ParsePrivate returns the key with id kid for alg from data as written by
// MarshalPrivate: PKCS#8 DER, or a PEM "PRIVATE KEY" block holding it, for
// the asymmetric algorithms; the raw secret for HS256. The key is validated,
// so a short HS256 secret or an RSA key under MinRSABits is an error.
func ParsePrivate(alg string, data []byte, kid string) (*Key, error) {
	if !knownAlgorithm(alg) {
		return nil, fmt.Errorf("token: unsupported algorithm %q", alg)
	}
	k := &Key{ID: kid, Algorithm: alg}
	if alg == HS256 {
		secret := bytes.Clone(data)
		k.Private, k.Public = secret, secret
	} else {
		der, err := unwrapPEM(data)
		if err != nil {
			return nil, err
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("token: key %s: %w", kid, err)
		}
		if _, err := privateKey(alg, priv); err != nil {
			return nil, fmt.Errorf("token: key %s: %w", kid, err)
		}
		k.Private, k.Public = priv, publicOf(priv)
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// unwrapPEM returns the DER inside a PEM "PRIVATE KEY" block, or data itself
// when it is not PEM.
func unwrapPEM(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
		return data, nil
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("token: malformed PEM")
	}
	if block.Type != "PRIVATE KEY" || len(block.Headers) != 0 {
		return nil, fmt.Errorf("token: PEM block is %q, want an unencrypted \"PRIVATE KEY\" (PKCS#8)", block.Type)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("token: data after the PEM block")
	}
	return block.Bytes, nil
}

// JWK returns k's public key as a JSON Web Key (RFC 7517) for a JWKS
// document: kty with crv/x/y or n/e, and kid, alg and use "sig". It returns
// false for HS256, whose secret must never be published, and for a key that
// does not validate.
func (k *Key) JWK() (map[string]any, bool) {
	if k == nil || k.Algorithm == HS256 || !knownAlgorithm(k.Algorithm) {
		return nil, false
	}
	pub, err := k.verificationKey()
	if err != nil {
		return nil, false
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwk := map[string]any{"kid": k.ID, "alg": k.Algorithm, "use": "sig"}
	switch p := pub.(type) {
	case ed25519.PublicKey:
		jwk["kty"], jwk["crv"], jwk["x"] = "OKP", "Ed25519", b64(p)
	case *ecdsa.PublicKey:
		point, err := p.Bytes() // 0x04 || X || Y, 32 bytes each
		if err != nil {
			return nil, false
		}
		jwk["kty"], jwk["crv"] = "EC", "P-256"
		jwk["x"], jwk["y"] = b64(point[1:33]), b64(point[33:])
	case *rsa.PublicKey:
		jwk["kty"], jwk["n"] = "RSA", b64(p.N.Bytes())
		jwk["e"] = b64(big.NewInt(int64(p.E)).Bytes())
	default:
		return nil, false
	}
	return jwk, true
}

func describe(v any) string {
	switch p := v.(type) {
	case *ecdsa.PrivateKey:
		if p != nil && p.Curve != nil {
			return "a " + p.Curve.Params().Name + " key"
		}
	case *ecdsa.PublicKey:
		if p != nil && p.Curve != nil {
			return "a " + p.Curve.Params().Name + " key"
		}
	}
	return fmt.Sprintf("%T", v)
}
