// Package verifier lets any Go service check Gatehouse access tokens on its
// own, without calling Gatehouse on every request, and still honour logouts
// within a second.
//
// A Verifier fetches the public keys from Gatehouse's JWKS
// (BaseURL/.well-known/jwks.json), keeps them fresh (on the schedule the
// JWKS's Cache-Control max-age sets, and at once when a token names an
// unknown kid, at most once per MinRefetchInterval however many such
// tokens arrive), and checks each token with token.Verifier: the same
// strict profile Gatehouse applies (typ at+jwt, one algorithm per key
// taken from the JWK, required claims, lifetime cap). It also follows
// Gatehouse's revocation feed (BaseURL/auth/revocations, Server-Sent
// Events with a poll as fallback and safety net) and refuses tokens of
// ended sessions.
//
// Threat model: the JWKS and the feed come over HTTPS from the Gatehouse
// URL the operator configured; nothing in a token (jku, x5u, an embedded
// key) ever chooses where keys come from. Only Ed25519, P-256 and RSA keys
// of at least 2048 bits are accepted; an HMAC key in a JWKS is ignored,
// because anyone who can read the JWKS could then mint tokens. When the
// revocation feed has been silent for longer than StaleAfter, tokens are
// refused (503) rather than risk honouring a session that ended meanwhile.
//
// What the verifier cannot check without Gatehouse's database: that the
// session exists and belongs to the token's subject. Only a holder of a
// signing key can mint a token for which that matters.
//
// Middleware authenticates requests; it does not defend against CSRF. A
// service that accepts state-changing requests with the cookie must also
// use http.CrossOriginProtection (see examples/protected-service).
package verifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/token"
)

// Claims are the verified claims of an access token.
type Claims = token.Claims

// Errors Verify returns, besides those matching token.ErrInvalid.
var (
	// ErrRevoked is returned for a token whose session has ended.
	ErrRevoked = errors.New("verifier: session revoked")
	// ErrUnavailable is returned while the revocation feed is stale: the
	// verifier cannot tell whether the session is still alive.
	ErrUnavailable = errors.New("verifier: revocation feed unavailable")
)

// Options configure a Verifier. BaseURL, Issuer, Audience, MaxTTL and
// ServiceToken (or InsecureSkipRevocations) are required.
type Options struct {
	// BaseURL is the Gatehouse URL, such as https://auth.example.com. It
	// must be https, except on a loopback address.
	BaseURL string
	// Issuer and Audience must equal Gatehouse's issuer and audience
	// policy values.
	Issuer, Audience string
	// MaxTTL is Gatehouse's tokens.access_ttl: a longer-lived token is
	// refused. Leeway is its tokens.leeway.
	MaxTTL, Leeway time.Duration
	// HTTPClient fetches the JWKS and the feed; default a client with a
	// 10 s timeout. Redirects are never followed. The stream uses the
	// same Transport without the client's Timeout.
	HTTPClient *http.Client
	// AllowBearer accepts an Authorization: Bearer header as well as the
	// __Host-access cookie. A request carrying both is refused.
	AllowBearer bool
	// ServiceToken is the credential for the revocation feed: one of the
	// tokens whose SHA-256 is in Gatehouse's services.feed_token_sha256.
	ServiceToken string
	// InsecureSkipRevocations verifies tokens without the revocation feed:
	// a logged-out session stays usable until its token expires.
	InsecureSkipRevocations bool
	// MinRefetchInterval is the least time between two JWKS fetches
	// caused by unknown kids; default 10 s.
	MinRefetchInterval time.Duration
	// PollInterval is how often the feed is polled besides the stream, as
	// a safety net; default 30 s.
	PollInterval time.Duration
	// StaleAfter is how long the feed may be silent (no event, heartbeat
	// or successful poll) before tokens are refused; default 90 s.
	StaleAfter time.Duration
	// Now is the clock tokens are checked against; default time.Now.
	Now func() time.Time
	// Logger receives fetch and feed problems; default discards.
	Logger *slog.Logger
}

// Verifier checks Gatehouse access tokens. It is safe for concurrent use.
type Verifier struct {
	opts    Options
	base    *url.URL
	client  *http.Client // fetches; never follows redirects
	stream  *http.Client // the same without a timeout
	keys    *keySet
	revoked *revocations
	tv      *token.Verifier
	log     *slog.Logger
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New checks opts, fetches the JWKS and the current revocations (failing
// if either cannot be had), and starts keeping both fresh until Close. ctx
// bounds the first fetches only.
func New(ctx context.Context, opts Options) (*Verifier, error) {
	base, err := checkOptions(&opts)
	if err != nil {
		return nil, err
	}
	v := &Verifier{opts: opts, base: base, log: opts.Logger}
	hc := *opts.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v.client = &hc
	sc := hc
	sc.Timeout = 0
	v.stream = &sc
	v.keys = newKeySet(v)
	v.revoked = newRevocations(v)
	v.tv = &token.Verifier{Keys: v.keys, Issuer: opts.Issuer, Audience: opts.Audience, MaxTTL: opts.MaxTTL, Leeway: opts.Leeway, Now: opts.Now}
	if err := v.keys.fetch(ctx); err != nil {
		return nil, fmt.Errorf("verifier: fetch JWKS: %w", err)
	}
	if !opts.InsecureSkipRevocations {
		if err := v.revoked.poll(ctx); err != nil {
			return nil, fmt.Errorf("verifier: revocation feed: %w", err)
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	v.cancel = cancel
	v.wg.Go(func() { v.keys.run(runCtx) })
	if !opts.InsecureSkipRevocations {
		v.wg.Go(func() { v.revoked.stream(runCtx) })
		v.wg.Go(func() { v.revoked.pollLoop(runCtx) })
	}
	return v, nil
}

func checkOptions(o *Options) (*url.URL, error) {
	switch {
	case o.Issuer == "" || o.Audience == "":
		return nil, errors.New("verifier: Issuer and Audience are required")
	case o.MaxTTL <= 0:
		return nil, errors.New("verifier: MaxTTL must be positive (Gatehouse's tokens.access_ttl)")
	case o.Leeway < 0:
		return nil, errors.New("verifier: Leeway must not be negative")
	case o.ServiceToken == "" && !o.InsecureSkipRevocations:
		return nil, errors.New("verifier: ServiceToken is required to follow revocations (or set InsecureSkipRevocations)")
	}
	u, err := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("verifier: BaseURL %q is not a URL like https://auth.example.com", o.BaseURL)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
		// Keys fetched over plain HTTP could be anyone's keys.
		return nil, fmt.Errorf("verifier: BaseURL %q must use https (plain http only on a loopback address)", o.BaseURL)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.MinRefetchInterval <= 0 {
		o.MinRefetchInterval = 10 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 30 * time.Second
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 90 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Close stops keeping the keys and revocations fresh.
func (v *Verifier) Close() {
	v.cancel()
	v.wg.Wait()
}

// Verify checks an access token and that its session has not ended. A
// failure matches token.ErrInvalid or ErrRevoked (the token must be
// refused) or ErrUnavailable (the revocation feed is stale).
func (v *Verifier) Verify(raw string) (Claims, error) {
	c, err := v.tv.Verify(raw)
	if err != nil {
		return Claims{}, err
	}
	if v.opts.InsecureSkipRevocations {
		return c, nil
	}
	if !v.revoked.fresh() {
		return Claims{}, ErrUnavailable
	}
	if v.revoked.has(c.SessionID) {
		return Claims{}, ErrRevoked
	}
	return c, nil
}

// get fetches BaseURL+path with the feed credential when asked, and
// returns the body of a 200 answer, at most limit bytes.
func (v *Verifier) get(ctx context.Context, path string, auth bool, limit int64) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.base.String()+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if auth {
		req.Header.Set("Authorization", "Bearer "+v.opts.ServiceToken)
	}
	res, err := v.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
		return nil, nil, fmt.Errorf("GET %s: status %d", path, res.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(b)) > limit {
		return nil, nil, fmt.Errorf("GET %s: answer larger than %d bytes", path, limit)
	}
	return b, res.Header, nil
}
