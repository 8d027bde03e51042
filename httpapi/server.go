// Package httpapi adapts the Gatehouse service to HTTP: the JSON API under
// /auth/, the cookies that carry the tokens, CSRF defence, security headers,
// forward-auth for reverse proxies, the browser pages of package web, and
// RequireAuth, the middleware any net/http API can use to protect its own
// routes.
package httpapi

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/web"
)

// Config is what NewServer needs.
type Config struct {
	Service *gatehouse.Service
	// Ready reports whether the stores answer, for /readyz.
	Ready func(ctx context.Context) error
	// JWKS returns the public keys to publish.
	JWKS func() []map[string]any
	// JWKSMaxAge is the Cache-Control max-age of the JWKS; default
	// DefaultJWKSMaxAge. A next key must be published at least this long
	// before it signs (gatehouse.KeySchedule.PublishLead).
	JWKSMaxAge time.Duration
	// FeedTokenSHA256 are the SHA-256 hashes of the bearer tokens that may
	// read the revocation feed, GET /auth/revocations. With none the feed
	// is off and answers 404.
	FeedTokenSHA256 [][sha256.Size]byte
	// FeedHeartbeat is how often a quiet revocation stream sends a
	// heartbeat; default 15s.
	FeedHeartbeat time.Duration
	// Done, when closed, ends the long-lived revocation streams, so that a
	// graceful shutdown does not wait for them (http.Server.RegisterOnShutdown).
	Done <-chan struct{}
	// SameSite is the access cookie's SameSite mode: lax (default), strict,
	// or none (the policy check demands a stated reason for it; CSRF
	// protection does not depend on it). The refresh cookie is always strict.
	SameSite http.SameSite
	// TrustedOrigins may make cross-origin state-changing requests.
	TrustedOrigins []string
	// TrustedProxies are the addresses whose X-Forwarded-* headers are believed.
	TrustedProxies []netip.Prefix
	// ForwardAuth configures GET /auth/verify for reverse proxies.
	ForwardAuth ForwardAuth
	// HSTSMaxAge is sent in Strict-Transport-Security on HTTPS responses.
	HSTSMaxAge time.Duration
	// HSTSIncludeSubdomains adds includeSubDomains to the HSTS header.
	HSTSIncludeSubdomains bool
	Logger                *slog.Logger
	Now                   func() time.Time
}

type server struct {
	svc            *gatehouse.Service
	ready          func(context.Context) error
	jwks           func() []map[string]any
	jwksMaxAge     time.Duration
	feedHashes     [][sha256.Size]byte
	feedHeartbeat  time.Duration
	done           <-chan struct{}
	sameSite       http.SameSite
	trustedOrigins []string
	trustedProxies []netip.Prefix
	cop            *http.CrossOriginProtection
	hsts           string
	forward        ForwardAuth
	site           *web.Site
	log            *slog.Logger
	now            func() time.Time
}

// DefaultJWKSMaxAge is how long verifiers may cache the JWKS by default.
const DefaultJWKSMaxAge = 5 * time.Minute

// NewServer returns the Gatehouse HTTP API.
func NewServer(cfg Config) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, fmt.Errorf("httpapi: Config.Service is required")
	}
	s := &server{
		svc: cfg.Service, ready: cfg.Ready, jwks: cfg.JWKS, jwksMaxAge: cfg.JWKSMaxAge,
		feedHashes: cfg.FeedTokenSHA256, feedHeartbeat: cfg.FeedHeartbeat, done: cfg.Done,
		sameSite: cfg.SameSite, trustedOrigins: cfg.TrustedOrigins, trustedProxies: cfg.TrustedProxies,
		cop: http.NewCrossOriginProtection(), log: cfg.Logger, now: cfg.Now,
	}
	switch s.sameSite {
	case 0, http.SameSiteDefaultMode:
		s.sameSite = http.SameSiteLaxMode
	}
	var err error
	if s.forward, err = cfg.ForwardAuth.withDefaults(); err != nil {
		return nil, err
	}
	if s.site, err = web.New(); err != nil {
		return nil, err
	}
	for _, o := range cfg.TrustedOrigins {
		if err := s.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("httpapi: trusted origin %q: %w", o, err)
		}
	}
	if cfg.HSTSMaxAge > 0 {
		s.hsts = "max-age=" + strconv.Itoa(int(cfg.HSTSMaxAge/time.Second))
		if cfg.HSTSIncludeSubdomains {
			s.hsts += "; includeSubDomains"
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ready == nil {
		s.ready = func(context.Context) error { return nil }
	}
	if s.jwks == nil {
		s.jwks = func() []map[string]any { return nil }
	}
	if s.jwksMaxAge <= 0 {
		s.jwksMaxAge = DefaultJWKSMaxAge
	}
	if s.feedHeartbeat <= 0 {
		s.feedHeartbeat = 15 * time.Second
	}
	mux := http.NewServeMux()
	s.routes(mux)
	var h http.Handler = problemFallback(mux)
	h = s.csrf(h)
	h = s.requireSecureTransport(h)
	h = s.securityHeaders(h)
	h = s.recoverPanics(h)
	return h, nil
}

// NewHTTPServer returns an http.Server with the limits a public listener
// needs: Go's zero values mean no timeouts and 1 MiB of headers, which let
// slow or oversized clients hold connections and memory (I-02, I-06).
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}

// problemFallback makes the mux's own 404 and 405 answers problem+json
// like every other error, keeping the Allow header of a 405.
//
// An API path that is not canonical (an empty, "." or ".." segment) is not
// found, where the mux would redirect to its clean form: an API client
// would re-send its method, body and cookies to a route it never named
// ("DELETE /auth/sessions/x/../id"), and when the clean path matched no
// route the answer was a problem body with a 307 status.
func problemFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.EscapedPath(); !canonicalPath(p) && (isAPIPath(p) || isAPIPath(path.Clean(p)+"/")) {
			writeProblem(w, probNotFound)
			return
		}
		h, pattern := mux.Handler(r)
		switch {
		case pattern == "":
			h.ServeHTTP(&fallbackWriter{ResponseWriter: w}, r)
		case strings.Contains(pattern, "{") || r.RequestURI == "*":
			mux.ServeHTTP(w, r) // sets the path values
		default:
			// A pattern without wildcards has no path values to set, so
			// the handler found is called directly instead of having the
			// mux match the request a second time.
			r.Pattern = pattern
			h.ServeHTTP(w, r)
		}
	})
}

func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/auth/") || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/.well-known/")
}

// canonicalPath reports whether p is its own clean form, as ServeMux
// cleans it: no empty, "." or ".." segments, a trailing slash kept.
func canonicalPath(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

type fallbackWriter struct {
	http.ResponseWriter
	wrote bool
}

func (f *fallbackWriter) WriteHeader(code int) {
	if f.wrote {
		return
	}
	f.wrote = true
	p := probNotFound
	switch code {
	case http.StatusMethodNotAllowed:
		p = problem("method-not-allowed", "Method not allowed", code)
	case http.StatusNotFound:
	default:
		p = problem("error", http.StatusText(code), code)
	}
	writeProblem(f.ResponseWriter, p)
}

func (f *fallbackWriter) Write(b []byte) (int, error) {
	if !f.wrote {
		f.WriteHeader(http.StatusOK)
	}
	return len(b), nil
}
