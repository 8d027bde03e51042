package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Authenticator verifies an access token. *gatehouse.Service is one.
type Authenticator interface {
	Authenticate(ctx context.Context, accessToken string) (*gatehouse.Principal, error)
}

// RequireAuth is middleware that lets a request through only when its
// __Host-access cookie holds a valid access token of a live session, and
// puts the principal in the request context (see Principal). Any other
// request gets 401 with a problem body that does not say what was wrong.
func RequireAuth(a Authenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := AccessToken(r)
			if !ok {
				writeProblem(w, probUnauthenticated)
				return
			}
			p, err := a.Authenticate(r.Context(), tok)
			if err != nil {
				if errors.Is(err, gatehouse.ErrUnauthenticated) {
					writeProblem(w, probUnauthenticated)
				} else {
					writeProblem(w, problem("unavailable", "Service temporarily unavailable", http.StatusServiceUnavailable))
				}
				return
			}
			next.ServeHTTP(w, r.WithContext(gatehouse.NewContextWithPrincipal(r.Context(), p)))
		})
	}
}

// Principal returns the authenticated caller of a request that passed RequireAuth.
func Principal(r *http.Request) (*gatehouse.Principal, bool) {
	return gatehouse.PrincipalFromContext(r.Context())
}

// securityHeaders sets the headers every response carries. The API serves
// no HTML, so its CSP forbids everything, including being framed.
//
// The values are slices shared by every response, assigned under their
// canonical keys: Header.Set would allocate a slice per header per request.
// That is safe because nothing changes a header value in place (Set and Del
// replace the slice, Add appends to a full one, which copies).
func (s *server) securityHeaders(next http.Handler) http.Handler {
	hsts := []string{s.hsts}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = hdrNosniff
		h["Referrer-Policy"] = hdrNoReferrer
		h["Content-Security-Policy"] = hdrAPICSP
		h["Cross-Origin-Resource-Policy"] = hdrSameOrigin
		h["Cross-Origin-Opener-Policy"] = hdrSameOrigin
		h["X-Frame-Options"] = hdrDeny
		if s.hsts != "" && s.isHTTPS(r) {
			h["Strict-Transport-Security"] = hsts
		}
		if strings.HasPrefix(r.URL.Path, "/auth/") || strings.HasPrefix(r.URL.Path, "/api/") {
			// Auth responses set or describe credentials: no cache may keep them.
			h["Cache-Control"] = hdrNoStore
		}
		next.ServeHTTP(w, r)
	})
}

// Header values shared by every response (see securityHeaders).
var (
	hdrNosniff    = []string{"nosniff"}
	hdrNoReferrer = []string{"no-referrer"}
	hdrAPICSP     = []string{"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"}
	hdrSameOrigin = []string{"same-origin"}
	hdrDeny       = []string{"DENY"}
	hdrNoStore    = []string{"no-store"}
	hdrJSON       = []string{"application/json; charset=utf-8"}
)

// recoverPanics turns a panic into a generic 500: the client sees no stack
// and the request is never treated as authenticated.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", slog.String("path", r.URL.Path), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				writeProblem(w, probInternal)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// csrf rejects cross-origin state-changing requests. http.CrossOriginProtection
// does the work (Sec-Fetch-Site, then Origin against Host); on top of it an
// Origin must not carry userinfo (golang/go#78563: "https://evil@host" passes
// the Host comparison) and must match the request's scheme and host exactly
// unless it is a trusted origin. Requests with neither header come from
// non-browser clients, which carry no ambient cookies to abuse.
func (s *server) csrf(next http.Handler) http.Handler {
	deny := func(w http.ResponseWriter) {
		writeProblem(w, problem("cross-origin", "Cross-origin request refused", http.StatusForbidden))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if err := s.cop.Check(r); err != nil {
			deny(w)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !slices.Contains(s.trustedOrigins, origin) {
			u, err := url.Parse(origin)
			want := fmt.Sprintf("%s://%s", s.scheme(r), r.Host)
			if err != nil || u.User != nil || u.Scheme+"://"+u.Host != want || (u.Path != "" && u.Path != "/") {
				deny(w)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) isHTTPS(r *http.Request) bool {
	return r.TLS != nil || forwardedHTTPS(r, s.trustedProxies)
}

func (s *server) scheme(r *http.Request) string {
	if s.isHTTPS(r) {
		return "https"
	}
	return "http"
}

// requireSecureTransport refuses a request that crossed a network in clear:
// one without TLS, from an address that is neither loopback nor a trusted
// proxy vouching (X-Forwarded-Proto: https) that the client used https.
// Credentials sent that way are never processed (J-03), and the answer is a
// plain 403, not a redirect a client would follow with its body again.
func (s *server) requireSecureTransport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probe := r.URL.Path == "/healthz" || r.URL.Path == "/readyz"
		if !probe && r.TLS == nil && !forwardedHTTPS(r, s.trustedProxies) && !remoteLoopback(r) {
			writeProblem(w, problem("https-required", "HTTPS required", http.StatusForbidden))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func remoteLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// RedirectToHTTPS is the handler of the optional plain-HTTP listener: it
// sends browsers navigating to a page to the https origin and answers
// everything else, API routes included, with 403. It never reads or sets a
// cookie.
func RedirectToHTTPS(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		api := strings.HasPrefix(r.URL.Path, "/auth/") || strings.HasPrefix(r.URL.Path, "/api/")
		if api || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			writeProblem(w, problem("https-required", "HTTPS required", http.StatusForbidden))
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if strings.ContainsAny(host, "/\\@?#") || host == "" {
			writeProblem(w, problem("invalid-input", "Bad Host header", http.StatusBadRequest))
			return
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if httpsPort != "443" && httpsPort != "" {
			host += ":" + httpsPort
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}
