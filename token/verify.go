package token

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// KeySet returns the verification key for a kid. It is the only way Verify
// finds a key: never by trying every key, never by fetching anything.
type KeySet interface {
	// VerificationKey returns the key with id kid, or false when there is
	// none (unknown or retired).
	VerificationKey(kid string) (*Key, bool)
}

// Verifier checks access tokens. Its zero value rejects everything: Keys,
// Issuer, Audience and MaxTTL must be set. A Verifier is safe for concurrent
// use as long as its fields are not changed.
type Verifier struct {
	Keys      KeySet
	Issuer    string        // iss must equal this exactly
	Audience  string        // aud must contain this exactly
	MaxTTL    time.Duration // exp - iat must not exceed this
	Leeway    time.Duration // clock skew allowed on exp, iat and nbf
	MaxLength int           // longest accepted token; 0 means DefaultMaxLength
	Now       func() time.Time

	parsers sync.Map // algorithm -> *libParser

	// lastHeader is the header segment most recently parsed without error
	// and what it parsed to. Every token one key signs has the same header
	// bytes, so a first-seen token usually skips the header's decoding; the
	// comparison is of the exact bytes, so nothing else gets through.
	lastHeader atomic.Pointer[parsedHeader]
}

type parsedHeader struct {
	seg string
	h   header
}

// Verify checks raw and returns its claims. Every failure satisfies
// errors.Is(err, ErrInvalid); the text of the error names the reason, for
// the log only. In order, raw must:
//
//  1. have the shape of a compact JWS: at most MaxLength bytes, exactly three
//     non-empty segments, only the unpadded base64url alphabet;
//  2. have a header of strict JSON with exactly the parameters alg, typ and
//     kid, where typ is at+jwt or application/at+jwt (any case), kid names a
//     key in Keys, and alg is exactly that key's algorithm;
//  3. pass golang-jwt v5 with that one algorithm and key (signature, exp, iat,
//     nbf, iss, aud);
//  4. have a payload of strict JSON with no duplicate or case-variant claim
//     names, non-empty string iss, sub, jti and sid, an aud that contains
//     Audience, numeric exp and iat (and nbf if present) within the leeway of
//     now, and a lifetime of at most MaxTTL.
func (v *Verifier) Verify(raw string) (Claims, error) {
	c, _, err := v.verify(raw)
	return c, err
}

// verify is Verify that also returns the kid of the key that verified raw.
func (v *Verifier) verify(raw string) (Claims, string, error) {
	if err := v.configError(); err != nil {
		return Claims{}, "", err
	}
	dot1, dot2, err := checkShape(raw, v.maxLength())
	if err != nil {
		return Claims{}, "", err
	}
	return v.verifyShaped(raw, dot1, dot2)
}

// verifyShaped is verify after the shape check, which found the dots of raw
// at dot1 and dot2.
func (v *Verifier) verifyShaped(raw string, dot1, dot2 int) (Claims, string, error) {
	h, err := v.header(raw[:dot1])
	if err != nil {
		return Claims{}, "", err
	}
	key, vk, err := v.key(h)
	if err != nil {
		return Claims{}, "", err
	}
	if key.Algorithm == ES256 {
		if sig, err := strictB64.DecodeString(raw[dot2+1:]); err == nil && len(sig) == 64 && highS(sig) {
			return Claims{}, "", invalid("ES256 signature is not in low-S form")
		}
	}
	var lc libClaims
	if err := v.library(raw, key, vk, h.kid, &lc); err != nil {
		return Claims{}, "", err
	}
	if !lc.decoded {
		// golang-jwt accepted a payload it never handed to the strict
		// reader (JSON null leaves a claims object untouched); the
		// validator's required exp makes that unreachable today.
		return Claims{}, "", invalid("payload was not decoded")
	}
	if err := v.checkClaims(&lc.c, lc.hasAud, lc.hasExp, lc.hasIat, v.now()); err != nil {
		return Claims{}, "", err
	}
	return lc.c, h.kid, nil
}

func (v *Verifier) maxLength() int {
	if v.MaxLength == 0 {
		return DefaultMaxLength
	}
	return v.MaxLength
}

// configError makes a half-configured Verifier fail closed: without an
// issuer or audience to compare with, or a lifetime cap, it would accept
// tokens meant for someone else or valid forever.
func (v *Verifier) configError() error {
	switch {
	case v == nil:
		return invalid("nil verifier")
	case v.Keys == nil:
		return invalid("verifier misconfigured: no Keys")
	case v.Issuer == "":
		return invalid("verifier misconfigured: no Issuer")
	case v.Audience == "":
		return invalid("verifier misconfigured: no Audience")
	case v.MaxTTL <= 0:
		return invalid("verifier misconfigured: MaxTTL not positive")
	case v.Leeway < 0:
		return invalid("verifier misconfigured: negative Leeway")
	case v.MaxLength < 0:
		return invalid("verifier misconfigured: negative MaxLength")
	}
	return nil
}

// header is a JOSE header with the only three parameters Verify understands.
type header struct {
	alg, typ, kid          string
	hasAlg, hasTyp, hasKid bool
}

// parseHeader decodes and checks the header. Any parameter other than alg,
// typ and kid is rejected, because each one is an attack when honoured and
// a silent gap when ignored: jwk, jku, x5u and x5c name the key to trust
// (C-01..C-03), crit demands extensions nobody here implements (C-10), cty
// nests tokens, enc and zip make a JWE, b64 changes what is
// signed (RFC 7797).
func parseHeader(seg string) (header, error) {
	var h header
	b, err := strictB64.DecodeString(seg)
	if err != nil {
		return h, invalid("header is not strict base64url")
	}
	err = decodeObject(string(b), func(name, v string) error {
		var ok bool
		switch name {
		case "alg":
			h.alg, ok = jsonString(v)
			h.hasAlg = true
		case "typ":
			h.typ, ok = jsonString(v)
			h.hasTyp = true
		case "kid":
			h.kid, ok = jsonString(v)
			h.hasKid = true
		default:
			return fmt.Errorf("parameter %s not allowed", quote(name))
		}
		if !ok {
			return fmt.Errorf("parameter %s is not a string", name)
		}
		return nil
	})
	if err != nil {
		return h, invalid("header: " + err.Error())
	}
	switch {
	case !h.hasTyp:
		return h, invalid("typ missing")
	case !equalFoldASCII(h.typ, Type) && !equalFoldASCII(h.typ, "application/"+Type):
		// RFC 9068 §4: explicit typing stops an ID token, a reset token or
		// any other JWT from the same key being used as an access token.
		return h, invalid("typ " + quote(h.typ) + " not accepted")
	case !h.hasAlg:
		return h, invalid("alg missing")
	case !h.hasKid || h.kid == "":
		return h, invalid("kid missing")
	}
	return h, nil
}

// header is parseHeader, answered from lastHeader when seg is the same
// bytes as the header parsed last.
func (v *Verifier) header(seg string) (header, error) {
	if last := v.lastHeader.Load(); last != nil && last.seg == seg {
		return last.h, nil
	}
	h, err := parseHeader(seg)
	if err != nil {
		return h, err
	}
	// A copy: seg may point into a request's header buffer.
	v.lastHeader.Store(&parsedHeader{seg: strings.Clone(seg), h: h})
	return h, nil
}

// key returns the key h.kid names and its typed verification key, after
// checking that h.alg is exactly the algorithm bound to that key. Comparing
// with the key's algorithm, case-sensitively, rejects none, None, nOnE and
// every algorithm swap (A-02, A-05, A-07, C-07) without a blocklist.
func (v *Verifier) key(h header) (*Key, any, error) {
	key, ok := v.Keys.VerificationKey(h.kid)
	if !ok || key == nil {
		return nil, nil, invalid("unknown kid " + quote(h.kid))
	}
	if key.ID != h.kid {
		return nil, nil, invalid("key set returned key " + quote(key.ID) + " for kid " + quote(h.kid))
	}
	if h.alg != key.Algorithm {
		return nil, nil, invalid("alg " + quote(h.alg) + " does not match the " + key.Algorithm + " key " + quote(h.kid))
	}
	vk, err := key.verificationKey()
	if err != nil {
		// A weak or mistyped key in the set (say an empty HS256 secret) must
		// not verify anything.
		return nil, nil, invalid("key " + quote(h.kid) + " unusable: " + err.Error())
	}
	return key, vk, nil
}

// library runs golang-jwt over raw with the one algorithm and key already
// chosen, so the signature and the standard claims are checked by the
// library too. Only err == nil together with Valid counts: branching on
// particular errors such as ErrTokenExpired is how CVE-2024-51744 happened.
// The library's errors are reduced to text so that no caller can branch on
// them either.
//
// The claims object handed to the library is lc, whose UnmarshalJSON is the
// strict payload reader (see libClaims): encoding/json first checks that the
// payload is one well-formed JSON value, then the strict reader decodes it,
// then the library's validator checks exp, iat, nbf, iss and aud, and
// verify checks the claims once more with checkClaims.
func (v *Verifier) library(raw string, key *Key, vk any, kid string, lc *libClaims) error {
	keyfunc := func(t *jwt.Token) (any, error) {
		// The header was already checked; make sure the library read the
		// same one before handing over the key.
		if t.Method == nil || t.Method.Alg() != key.Algorithm {
			return nil, errors.New("algorithm changed")
		}
		if k, _ := t.Header["kid"].(string); k != kid {
			return nil, errors.New("kid changed")
		}
		return vk, nil
	}
	t, err := v.parser(key.Algorithm).ParseWithClaims(raw, lc, keyfunc)
	if err != nil {
		return invalid(err.Error())
	}
	if t == nil || !t.Valid {
		return invalid("not valid")
	}
	return nil
}

// libParser is a golang-jwt Parser with the strict options for one
// algorithm and the issuer, audience and leeway it was built with.
type libParser struct {
	alg, iss, aud string
	leeway        time.Duration
	p             *jwt.Parser
}

// parser returns the golang-jwt Parser for alg: WithValidMethods of alg
// alone, the issuer, the audience, exp required, iat checked, the leeway,
// strict base64 and v's clock. A Parser is safe for concurrent use, so one
// per algorithm is built and kept; building it for every token cost a
// dozen allocations. It is rebuilt if the fields it was built from change.
func (v *Verifier) parser(alg string) *jwt.Parser {
	if c, ok := v.parsers.Load(alg); ok {
		lp := c.(*libParser)
		if lp.iss == v.Issuer && lp.aud == v.Audience && lp.leeway == v.Leeway {
			return lp.p
		}
	}
	lp := &libParser{alg: alg, iss: v.Issuer, aud: v.Audience, leeway: v.Leeway}
	lp.p = jwt.NewParser(
		jwt.WithValidMethods([]string{alg}),
		jwt.WithIssuer(v.Issuer),
		jwt.WithAudience(v.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(v.now),
	)
	v.parsers.Store(alg, lp)
	return lp.p
}

// now is v.Now, or time.Now when it is nil.
func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// registered are the claim names Verify reads. encoding/json matches struct
// fields case-insensitively (even "ſub" for "sub"), so any other spelling of
// these names is rejected rather than risk a second parser reading it (B-15).
var registered = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid"}

// claims decodes the payload segment strictly and applies the checks
// golang-jwt does not make or makes loosely, without the library: tests use
// it to show that this layer rejects on its own.
func (v *Verifier) claims(seg string, now time.Time) (Claims, error) {
	b, err := strictB64.DecodeString(seg)
	if err != nil {
		return Claims{}, invalid("payload is not strict base64url")
	}
	var lc libClaims
	if err := lc.decode(string(b)); err != nil {
		return Claims{}, err
	}
	if err := v.checkClaims(&lc.c, lc.hasAud, lc.hasExp, lc.hasIat, now); err != nil {
		return Claims{}, err
	}
	return lc.c, nil
}

// libClaims is the claims object Verify hands to golang-jwt. Its
// UnmarshalJSON is the strict payload reader, so the payload is decoded
// once, by a reader that rejects duplicate and case-variant claim names and
// mistyped values (B-06, B-15), after encoding/json has checked its syntax;
// golang-jwt's validator then reads exp, iat, nbf, iss and aud from it.
// The library's default MapClaims decoded the payload a second time into a
// map, a quarter of the cost of a first-seen token on top of the signature.
type libClaims struct {
	c                      Claims
	hasAud, hasExp, hasIat bool
	decoded                bool
	exp, iat, nbf          jwt.NumericDate // what the Get methods point to
}

var _ jwt.Claims = (*libClaims)(nil)

// UnmarshalJSON implements json.Unmarshaler with the strict reader.
func (lc *libClaims) UnmarshalJSON(b []byte) error {
	return lc.decode(string(b))
}

// GetExpirationTime, GetIssuedAt, GetNotBefore, GetIssuer, GetSubject and
// GetAudience implement jwt.Claims. A claim that is absent is nil or empty,
// as with the library's own claims types, so that its required-claim
// checks see it missing.
func (lc *libClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return numericDatePtr(lc.hasExp, &lc.exp, lc.c.ExpiresAt), nil
}

func (lc *libClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return numericDatePtr(lc.hasIat, &lc.iat, lc.c.IssuedAt), nil
}

func (lc *libClaims) GetNotBefore() (*jwt.NumericDate, error) {
	return numericDatePtr(!lc.c.NotBefore.IsZero(), &lc.nbf, lc.c.NotBefore), nil
}

func (lc *libClaims) GetIssuer() (string, error)  { return lc.c.Issuer, nil }
func (lc *libClaims) GetSubject() (string, error) { return lc.c.Subject, nil }
func (lc *libClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings(lc.c.Audience), nil
}

// numericDatePtr returns nil for an absent claim, else d set to t (d is a
// field of the libClaims, which is on the heap anyway).
func numericDatePtr(present bool, d *jwt.NumericDate, t time.Time) *jwt.NumericDate {
	if !present {
		return nil
	}
	d.Time = t
	return d
}

// decode reads a payload strictly into lc. Every failure is ErrInvalid.
func (lc *libClaims) decode(payload string) error {
	var c Claims
	var hasAud, hasExp, hasIat bool
	// The claims' strings are substrings of this one copy of the payload.
	err := decodeObject(payload, func(name, val string) error {
		var ok bool
		switch name {
		case "iss":
			c.Issuer, ok = nonEmptyString(val)
		case "sub":
			c.Subject, ok = nonEmptyString(val)
		case "jti":
			c.ID, ok = nonEmptyString(val)
		case "sid":
			c.SessionID, ok = nonEmptyString(val)
		case "aud":
			c.Audience, ok = audience(val)
			hasAud = true
		case "exp":
			c.ExpiresAt, ok = numericDate(val)
			hasExp = true
		case "iat":
			c.IssuedAt, ok = numericDate(val)
			hasIat = true
		case "nbf":
			c.NotBefore, ok = numericDate(val)
		default:
			for _, r := range registered {
				if strings.EqualFold(name, r) {
					return fmt.Errorf("claim %s is a case variant of %s", quote(name), r)
				}
			}
			return nil
		}
		if !ok {
			return fmt.Errorf("claim %s has an invalid value", name)
		}
		return nil
	})
	if err != nil {
		return invalid("payload: " + err.Error())
	}
	*lc = libClaims{c: c, hasAud: hasAud, hasExp: hasExp, hasIat: hasIat, decoded: true}
	return nil
}

func (v *Verifier) checkClaims(c *Claims, hasAud, hasExp, hasIat bool, now time.Time) error {
	switch {
	case c.Issuer != v.Issuer:
		return invalid("iss " + quote(c.Issuer) + " is not the expected issuer")
	case c.Subject == "":
		return invalid("sub missing")
	case c.ID == "":
		return invalid("jti missing")
	case c.SessionID == "":
		return invalid("sid missing")
	case !hasAud:
		return invalid("aud missing")
	case !hasExp:
		return invalid("exp missing")
	case !hasIat:
		return invalid("iat missing")
	}
	found := false
	for _, a := range c.Audience {
		found = found || a == v.Audience
	}
	if !found {
		return invalid("aud does not contain the expected audience")
	}
	late, early := now.Add(v.Leeway), now.Add(-v.Leeway)
	switch {
	case c.IssuedAt.After(late):
		return invalid("iat is in the future")
	case !c.NotBefore.IsZero() && c.NotBefore.After(late):
		return invalid("nbf is in the future")
	case !c.ExpiresAt.After(early):
		return invalid("exp is in the past")
	case !c.ExpiresAt.After(c.IssuedAt):
		return invalid("exp is not after iat")
	case c.ExpiresAt.Sub(c.IssuedAt) > v.MaxTTL:
		return invalid("lifetime exp - iat exceeds MaxTTL")
	case c.ExpiresAt.After(late.Add(v.MaxTTL)):
		// Implied by the iat and lifetime checks above; kept as the
		// absolute bound (B-07) should either of them ever change.
		return invalid("exp is further ahead than MaxTTL")
	}
	return nil
}

func nonEmptyString(v string) (string, bool) {
	s, ok := jsonString(v)
	return s, ok && s != ""
}

// audience accepts a non-empty string or a non-empty array of non-empty
// strings; null, numbers, [] and [""] are all invalid (CVE-2020-26160, B-12).
func audience(v string) ([]string, bool) {
	if s, ok := nonEmptyString(v); ok {
		return []string{s}, true
	}
	var aud []string
	ok := forEachElement(v, func(elem string) bool {
		s, ok := nonEmptyString(elem)
		aud = append(aud, s)
		return ok
	})
	return aud, ok && len(aud) > 0
}
