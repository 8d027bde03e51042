package verifier

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/token"
)

const (
	jwksPath     = "/.well-known/jwks.json"
	maxJWKSBytes = 1 << 20
	maxJWKs      = 100
	// maxRSABits bounds the work one JWK can cost a verification.
	maxRSABits = 8192
	// The scheduled refresh happens every max-age, but at least every
	// maxScheduled and at most every MinRefetchInterval.
	maxScheduled = time.Hour
	// minBackoff is the first wait after a failed refresh.
	minBackoff = 10 * time.Second
)

// keySet is the token.KeySet of a Verifier: the keys of the last JWKS
// fetched, looked up by kid.
type keySet struct {
	v    *Verifier
	keys atomic.Pointer[map[string]*token.Key]

	mu          sync.Mutex
	lastAttempt time.Time     // of any fetch
	inflight    chan struct{} // closed when the running fetch ends
	maxAge      time.Duration // from the last answer's Cache-Control
}

func newKeySet(v *Verifier) *keySet {
	ks := &keySet{v: v}
	ks.keys.Store(&map[string]*token.Key{})
	return ks
}

// VerificationKey returns the key for kid. An unknown kid makes the set
// refetch the JWKS, unless it fetched within MinRefetchInterval: a flood of
// tokens with made-up kids costs Gatehouse at most one request per
// interval, and callers arriving during a fetch wait for that one fetch.
func (ks *keySet) VerificationKey(kid string) (*token.Key, bool) {
	if k, ok := (*ks.keys.Load())[kid]; ok {
		return k, true
	}
	ks.refresh(context.Background())
	k, ok := (*ks.keys.Load())[kid]
	return k, ok
}

// refresh fetches the JWKS unless a fetch ran within MinRefetchInterval;
// concurrent callers share one fetch.
func (ks *keySet) refresh(ctx context.Context) {
	ks.mu.Lock()
	if ch := ks.inflight; ch != nil {
		ks.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		return
	}
	if !ks.lastAttempt.IsZero() && time.Since(ks.lastAttempt) < ks.v.opts.MinRefetchInterval {
		ks.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	ks.inflight = ch
	ks.mu.Unlock()

	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := ks.fetch(fctx); err != nil {
		ks.v.log.Warn("verifier: fetch JWKS", slog.Any("error", err))
	}
	cancel()
	ks.mu.Lock()
	ks.inflight = nil
	ks.mu.Unlock()
	close(ch)
}

// fetch loads the JWKS and replaces the keys. A key Gatehouse no longer
// publishes (deleted after retirement) stops verifying here too.
func (ks *keySet) fetch(ctx context.Context) error {
	ks.mu.Lock()
	ks.lastAttempt = time.Now()
	ks.mu.Unlock()
	body, h, err := ks.v.get(ctx, jwksPath, false, maxJWKSBytes)
	if err != nil {
		return err
	}
	keys, err := parseJWKS(body, ks.v.log)
	if err != nil {
		return err
	}
	ks.keys.Store(&keys)
	ks.mu.Lock()
	ks.maxAge = maxAge(h)
	ks.mu.Unlock()
	return nil
}

// run refreshes the keys every max-age until ctx ends, retrying failures
// with backoff.
func (ks *keySet) run(ctx context.Context) {
	backoff := minBackoff
	for {
		ks.mu.Lock()
		wait := min(max(ks.maxAge, ks.v.opts.MinRefetchInterval), maxScheduled) - time.Since(ks.lastAttempt)
		ks.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := ks.fetch(fctx)
		cancel()
		if err == nil {
			backoff = minBackoff
			continue
		}
		if ctx.Err() != nil {
			return
		}
		ks.v.log.Warn("verifier: refresh JWKS", slog.Any("error", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Minute)
	}
}

// maxAge reads max-age from Cache-Control; 0 when absent.
func maxAge(h http.Header) time.Duration {
	for part := range strings.SplitSeq(h.Get("Cache-Control"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

// parseJWKS returns the usable keys of a JWKS document by kid. A key that
// is not usable (unsupported type or curve, weak, malformed, carrying
// private members, or a kid that appears twice) is left out and logged;
// the document as a whole must be well-formed.
func parseJWKS(body []byte, log *slog.Logger) (map[string]*token.Key, error) {
	var doc struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("JWKS is not JSON: %w", err)
	}
	if len(doc.Keys) > maxJWKs {
		return nil, fmt.Errorf("JWKS has %d keys, more than %d", len(doc.Keys), maxJWKs)
	}
	keys := make(map[string]*token.Key, len(doc.Keys))
	dup := map[string]bool{}
	for i, m := range doc.Keys {
		k, err := parseJWK(m)
		if err != nil {
			log.Warn("verifier: JWK ignored", slog.Int("index", i), slog.Any("error", err))
			continue
		}
		if _, seen := keys[k.ID]; seen || dup[k.ID] {
			// Two keys under one kid: neither can be trusted to be the one.
			log.Warn("verifier: JWK ignored: duplicate kid", slog.String("kid", k.ID))
			delete(keys, k.ID)
			dup[k.ID] = true
			continue
		}
		keys[k.ID] = k
	}
	return keys, nil
}

// privateMembers are the JWK members that hold private or secret key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4). A public JWKS never has them.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// parseJWK builds a verify-only key from a public JWK. The algorithm comes
// from the JWK's alg and must fit its kty and crv; the key is then bound to
// exactly that algorithm.
func parseJWK(m map[string]json.RawMessage) (*token.Key, error) {
	for _, p := range privateMembers {
		if _, ok := m[p]; ok {
			return nil, fmt.Errorf("JWK has the private member %q", p)
		}
	}
	for _, name := range []string{"kid", "alg", "kty", "use", "crv", "x", "y", "n", "e"} {
		if raw, ok := m[name]; ok && (len(raw) == 0 || raw[0] != '"') {
			return nil, fmt.Errorf("JWK member %s is not a string", name)
		}
	}
	str := func(name string) string {
		var s string
		json.Unmarshal(m[name], &s)
		return s
	}
	kid, alg, kty := str("kid"), str("alg"), str("kty")
	if kid == "" || len(kid) > 256 {
		return nil, errors.New("JWK has no usable kid")
	}
	if use := str("use"); use != "" && use != "sig" {
		return nil, fmt.Errorf("JWK %s: use %q is not sig", kid, use)
	}
	b := func(name string, size int) ([]byte, error) {
		v, err := base64.RawURLEncoding.Strict().DecodeString(str(name))
		if err != nil || len(v) == 0 || (size > 0 && len(v) != size) {
			return nil, fmt.Errorf("JWK %s: bad %s", kid, name)
		}
		return v, nil
	}
	key := &token.Key{ID: kid, Algorithm: alg}
	switch {
	case kty == "OKP" && str("crv") == "Ed25519" && alg == token.EdDSA:
		x, err := b("x", ed25519.PublicKeySize)
		if err != nil {
			return nil, err
		}
		key.Public = ed25519.PublicKey(x)
	case kty == "EC" && str("crv") == "P-256" && alg == token.ES256:
		x, err := b("x", 32)
		if err != nil {
			return nil, err
		}
		y, err := b("y", 32)
		if err != nil {
			return nil, err
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("JWK %s: not a P-256 point", kid)
		}
		key.Public = pub
	case kty == "RSA" && alg == token.RS256:
		n, err := b("n", 0)
		if err != nil {
			return nil, err
		}
		e, err := b("e", 0)
		if err != nil {
			return nil, err
		}
		nn, ee := new(big.Int).SetBytes(n), new(big.Int).SetBytes(e)
		if nn.BitLen() > maxRSABits || !ee.IsInt64() || ee.Int64() > 1<<31-1 {
			return nil, fmt.Errorf("JWK %s: RSA parameters out of range", kid)
		}
		key.Public = &rsa.PublicKey{N: nn, E: int(ee.Int64())}
	default:
		// HS256 ("oct") keys included: a secret anyone can fetch is no secret.
		return nil, fmt.Errorf("JWK %s: kty %q with alg %q is not accepted", kid, kty, alg)
	}
	if err := key.Validate(); err != nil { // RSA size and exponent, among others
		return nil, err
	}
	return key, nil
}
