package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/web"
)

// ForwardAuth configures GET /auth/verify, the endpoint a reverse proxy asks
// whether to let a request through to an application it protects: nginx
// auth_request, Traefik ForwardAuth or Caddy forward_auth (docs/PROXY.md).
type ForwardAuth struct {
	// UserHeader and EmailHeader name the response headers that carry the
	// caller's user id and email on a 200, for the proxy to copy onto the
	// request it forwards. Empty means X-Auth-User-Id and X-Auth-Email.
	UserHeader, EmailHeader string
	// NoLoginRedirect makes every unauthenticated request get 401. Without
	// it, a page load relayed by Traefik or Caddy (a GET or HEAD that
	// accepts text/html and carries X-Forwarded-Method, -Proto, -Host and
	// -Uri) gets a redirect to the login page instead, which brings the
	// person back to the page afterwards.
	NoLoginRedirect bool
}

// Default identity header names.
const (
	DefaultUserHeader  = "X-Auth-User-Id"
	DefaultEmailHeader = "X-Auth-Email"
)

// reservedHeaders may not carry the identity: a proxy gives them meaning of
// its own, or the browser-facing response already uses them.
var reservedHeaders = []string{
	"Accept", "Authorization", "Cache-Control", "Connection", "Cookie", "Date", "Forwarded", "Host",
	"Keep-Alive", "Location", "Set-Cookie", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Via", "Www-Authenticate", "X-Real-Ip", "Strict-Transport-Security", "Content-Security-Policy",
	"Referrer-Policy", "X-Frame-Options", "X-Content-Type-Options", "Clear-Site-Data", "Retry-After",
}

func (f ForwardAuth) withDefaults() (ForwardAuth, error) {
	if f.UserHeader == "" {
		f.UserHeader = DefaultUserHeader
	}
	if f.EmailHeader == "" {
		f.EmailHeader = DefaultEmailHeader
	}
	for _, h := range []*string{&f.UserHeader, &f.EmailHeader} {
		if err := checkHeaderName(*h); err != nil {
			return f, fmt.Errorf("httpapi: forward-auth header %q: %w", *h, err)
		}
		*h = http.CanonicalHeaderKey(*h)
	}
	if f.UserHeader == f.EmailHeader {
		return f, fmt.Errorf("httpapi: forward-auth user and email headers are both %q", f.UserHeader)
	}
	return f, nil
}

// checkHeaderName accepts names made of letters, digits and hyphens, the
// subset of RFC 9110 tokens every proxy handles the same way, that are not
// reserved.
func checkHeaderName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("must be 1 to 64 characters")
	}
	for _, c := range name {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("may hold only letters, digits and hyphens")
		}
	}
	canon := http.CanonicalHeaderKey(name)
	if slices.Contains(reservedHeaders, canon) || strings.HasPrefix(canon, "Content-") ||
		strings.HasPrefix(canon, "Proxy-") || strings.HasPrefix(canon, "X-Forwarded-") ||
		strings.HasPrefix(canon, "Sec-") || strings.HasPrefix(canon, "Access-Control-") {
		return fmt.Errorf("is reserved")
	}
	return nil
}

// handleVerify answers a reverse proxy's forward-auth subrequest: 200 with
// the identity in headers when the access cookie is valid and its session
// alive; otherwise 401, or a redirect to the login page for a browser page
// load relayed by Traefik or Caddy. It never sets a cookie.
func (s *server) handleVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := AccessToken(r)
		if !ok {
			s.verifyFailed(w, r, nil)
			return
		}
		p, err := s.svc.Authenticate(r.Context(), tok)
		if err != nil {
			s.verifyFailed(w, r, err)
			return
		}
		w.Header().Set(s.forward.UserHeader, p.UserID)
		w.Header().Set(s.forward.EmailHeader, p.Email)
		writeJSON(w, http.StatusOK, map[string]any{"user_id": p.UserID})
	})
}

// verifyFailed answers a verify request without a valid session (err nil:
// no access cookie at all).
func (s *server) verifyFailed(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil && !errors.Is(err, gatehouse.ErrUnauthenticated) {
		s.writeError(w, r, err) // the store did not answer: 503, not a login page
		return
	}
	if loc, ok := s.loginRedirect(r); ok {
		http.Redirect(w, r, loc, http.StatusFound)
		return
	}
	if err != nil {
		s.writeError(w, r, err) // logs why, answers the generic 401
		return
	}
	writeProblem(w, probUnauthenticated)
}

// loginRedirect returns where to send a browser that a proxy relayed here
// without a valid session: the login page, with the page it asked for in
// next. The location is relative, so the browser stays on the host it
// asked (the only host its __Host- cookies can ever be sent to), and next
// carries only the original path, checked by web.SafeNext, never a host.
// nginx's auth_request sends no X-Forwarded-Method and always gets 401,
// which is the only answer besides 2xx and 403 it understands.
func (s *server) loginRedirect(r *http.Request) (string, bool) {
	h := r.Header
	if s.forward.NoLoginRedirect {
		return "", false
	}
	for _, k := range []string{"X-Forwarded-Method", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Uri"} {
		if h.Get(k) == "" {
			return "", false
		}
	}
	if m := h.Get("X-Forwarded-Method"); m != http.MethodGet && m != http.MethodHead {
		return "", false // a form post or API call cannot be resumed after a login
	}
	if !acceptsHTML(h.Values("Accept")) {
		return "", false
	}
	next := h.Get("X-Forwarded-Uri")
	if web.SafeNext(next) != next {
		return loginPath, true
	}
	return loginPath + "?next=" + url.QueryEscape(next), true
}

// acceptsHTML reports whether an Accept header lists text/html, which
// browsers send for page loads and fetch() and API clients do not.
func acceptsHTML(accept []string) bool {
	for _, v := range accept {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/html") {
				return true
			}
		}
	}
	return false
}
