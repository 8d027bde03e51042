package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/token"
	"github.com/golang-jwt/jwt/v5"
)

// runVerifyCost is target 2 counted in instructions rather than seconds:
// bench/run.sh runs it under valgrind's callgrind, whose instruction count
// is the same for the same binary and input whatever else the machine is
// doing. Every mode signs the same n distinct EdDSA tokens and decodes
// their signatures first; then "miss" verifies each through a token.Cache
// (each a first-seen token, as in BenchmarkVerifyMiss), "raw" checks each
// signature with ed25519.Verify alone, "library" has golang-jwt parse and
// check the signature with the strict options and nothing else (no claims
// decoded or validated: the least any use of its Parser costs), and "none"
// does nothing, so that (miss - none) / (raw - none) is the ratio of
// target 2 and (library - none) / (raw - none) the library's own floor.
func runVerifyCost(args []string) error {
	fs := flag.NewFlagSet("verifycost", flag.ExitOnError)
	mode := fs.String("mode", "miss", "miss, raw, library or none")
	n := fs.Int("n", 1000, "tokens")
	fs.Parse(args)

	key, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		return err
	}
	now := time.Now()
	v := &token.Verifier{
		Keys: oneKey{key}, Issuer: "https://auth.bench.test", Audience: "https://auth.bench.test",
		MaxTTL: 10 * time.Minute, Leeway: 30 * time.Second, Now: func() time.Time { return now },
	}
	type signed struct {
		raw      string
		msg, sig []byte
	}
	toks := make([]signed, *n)
	for i := range toks {
		raw, err := token.Sign(key, token.Claims{
			Issuer: v.Issuer, Audience: []string{v.Audience}, Subject: "0123456789abcdef0123456789abcdef",
			ID: token.NewID(), SessionID: "0123456789abcdef0123456789abcdef",
			IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		})
		if err != nil {
			return err
		}
		dot := strings.LastIndexByte(raw, '.')
		sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
		if err != nil {
			return err
		}
		toks[i] = signed{raw, []byte(raw[:dot]), sig}
	}
	pub := key.Public.(ed25519.PublicKey)
	// crypto/ed25519 builds a table on its first verification; every mode
	// pays it here, so that it cancels out of the differences.
	if len(toks) > 0 && !ed25519.Verify(pub, toks[0].msg, toks[0].sig) {
		return fmt.Errorf("signature rejected")
	}
	cache := token.NewCache(v, 2*len(toks)+1)
	lib := jwt.NewParser(jwt.WithValidMethods([]string{token.EdDSA}), jwt.WithStrictDecoding(), jwt.WithoutClaimsValidation())
	keyfunc := func(*jwt.Token) (any, error) { return pub, nil }
	for _, t := range toks {
		switch *mode {
		case "miss":
			if _, err := cache.Verify(t.raw); err != nil {
				return err
			}
		case "raw":
			if !ed25519.Verify(pub, t.msg, t.sig) {
				return fmt.Errorf("signature rejected")
			}
		case "library":
			if _, err := lib.ParseWithClaims(t.raw, &noClaims{}, keyfunc); err != nil {
				return err
			}
		case "none":
		default:
			return fmt.Errorf("unknown mode %q", *mode)
		}
	}
	return nil
}

// oneKey is a token.KeySet of one key.
type oneKey struct{ k *token.Key }

func (o oneKey) VerificationKey(kid string) (*token.Key, bool) {
	return o.k, kid == o.k.ID
}

// noClaims is the least a golang-jwt claims object can be: it decodes
// nothing and claims nothing. Mode "library" parses with it and with claims
// validation off, which is the cost of golang-jwt's parse alone.
type noClaims struct{}

func (noClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (noClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (noClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (noClaims) GetIssuer() (string, error)                   { return "", nil }
func (noClaims) GetSubject() (string, error)                  { return "", nil }
func (noClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }
func (*noClaims) UnmarshalJSON([]byte) error                  { return nil }
