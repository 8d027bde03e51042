package token

import (
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of an access token. Verify returns exactly these;
// any other claim in a token is ignored.
type Claims struct {
	Issuer    string // iss
	Subject   string // sub: the user id
	ID        string // jti: unique per token, see NewID
	SessionID string // sid: the login session, for per-request revocation checks
	Audience  []string
	IssuedAt  time.Time
	NotBefore time.Time // the zero time means IssuedAt when signing, absent when verified
	ExpiresAt time.Time
}

// maxNumericDate is 9999-12-31T23:59:59Z, the last second this package signs
// or accepts. It keeps every time claim far inside the range where float64
// seconds convert to int64 exactly (B-07: golang-jwt's int64(float) of 1e20
// differs between CPUs).
const maxNumericDate = 253402300799

// methods maps each supported algorithm to its golang-jwt signing method.
var methods = map[string]jwt.SigningMethod{
	EdDSA: jwt.SigningMethodEdDSA,
	ES256: jwt.SigningMethodES256,
	RS256: jwt.SigningMethodRS256,
	HS256: jwt.SigningMethodHS256,
}

// Sign returns the compact JWS of c signed with k. The header is exactly
// {"alg","kid","typ":"at+jwt"}; the claims are exactly iss, sub, aud (a
// string when there is one audience), exp, iat, nbf, jti and sid, times in
// whole seconds. Sign refuses claims that Verify would reject for their
// shape: an empty iss, sub, jti, sid or audience, or exp not after iat.
func Sign(k *Key, c Claims) (string, error) {
	if k == nil {
		return "", errors.New("token: sign: nil key")
	}
	if k.Private == nil {
		return "", fmt.Errorf("token: sign: key %s has no private part", k.ID)
	}
	signer, err := privateKey(k.Algorithm, k.Private)
	if err != nil {
		return "", fmt.Errorf("token: sign: key %s: %w", k.ID, err)
	}
	if k.ID == "" {
		return "", errors.New("token: sign: key has no kid")
	}
	claims, err := wireClaims(c)
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(methods[k.Algorithm], claims)
	t.Header = map[string]any{"alg": k.Algorithm, "typ": Type, "kid": k.ID}
	s, err := t.SignedString(signer)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	if k.Algorithm == ES256 {
		return lowS(s)
	}
	return s, nil
}

// wireClaims checks c and returns it as the JSON claims set.
func wireClaims(c Claims) (jwt.MapClaims, error) {
	switch {
	case c.Issuer == "":
		return nil, errors.New("token: sign: empty issuer")
	case c.Subject == "":
		return nil, errors.New("token: sign: empty subject")
	case c.ID == "":
		return nil, errors.New("token: sign: empty jti")
	case c.SessionID == "":
		return nil, errors.New("token: sign: empty sid")
	case len(c.Audience) == 0:
		return nil, errors.New("token: sign: no audience")
	}
	for _, a := range c.Audience {
		if a == "" {
			return nil, errors.New("token: sign: empty audience")
		}
	}
	nbf := c.NotBefore
	if nbf.IsZero() {
		nbf = c.IssuedAt
	}
	iat, exp := c.IssuedAt.Unix(), c.ExpiresAt.Unix()
	for _, t := range []struct {
		name string
		secs int64
	}{{"iat", iat}, {"nbf", nbf.Unix()}, {"exp", exp}} {
		if t.secs <= 0 || t.secs > maxNumericDate {
			return nil, fmt.Errorf("token: sign: %s %d out of range", t.name, t.secs)
		}
	}
	if exp <= iat {
		return nil, errors.New("token: sign: exp not after iat")
	}
	var aud any = c.Audience[0]
	if len(c.Audience) > 1 {
		aud = append([]string(nil), c.Audience...)
	}
	return jwt.MapClaims{
		"iss": c.Issuer, "sub": c.Subject, "aud": aud,
		"exp": exp, "iat": iat, "nbf": nbf.Unix(),
		"jti": c.ID, "sid": c.SessionID,
	}, nil
}

// p256HalfOrder is (n-1)/2 for the P-256 group order n, as 32 big-endian bytes.
var p256HalfOrder = new(big.Int).Rsh(elliptic.P256().Params().N, 1).FillBytes(make([]byte, 32))

// lowS rewrites an ES256 signature (r, s) with s > n/2 to the equally valid
// (r, n-s). ECDSA signatures are malleable; with only low-S accepted (see
// Verify) every token has exactly one valid encoding, so a denylist or log
// keyed on the raw token cannot be sidestepped by re-encoding it.
func lowS(tok string) (string, error) {
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil || len(sig) != 64 {
		return "", errors.New("token: sign: malformed ES256 signature")
	}
	if !highS(sig) {
		return tok, nil
	}
	n := elliptic.P256().Params().N
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(n, s).FillBytes(sig[32:])
	return tok[:dot+1] + base64.RawURLEncoding.EncodeToString(sig), nil
}

// highS reports whether the s half of a 64-byte ES256 signature exceeds n/2.
func highS(sig []byte) bool {
	s := sig[32:]
	for i := range s {
		if s[i] != p256HalfOrder[i] {
			return s[i] > p256HalfOrder[i]
		}
	}
	return false
}
