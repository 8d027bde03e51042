package verifier

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// AccessCookie is the cookie Gatehouse puts the access token in. The
// __Host- prefix makes browsers refuse it unless it is Secure, Path=/ and
// host-only, so a sibling subdomain cannot plant or shadow it.
const AccessCookie = "__Host-access"

// maxTokenValue is longer than any token Gatehouse issues; a longer value
// is refused before anything parses it.
const maxTokenValue = 4096

type claimsKey struct{}

// FromContext returns the claims Middleware put in the request context.
func FromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}

// Middleware lets a request through only when it carries a valid access
// token of a live session, in the __Host-access cookie or, with
// AllowBearer, an Authorization: Bearer header, and puts the claims in its
// context (FromContext). Anything else gets 401 with one generic
// problem+json body that does not say what was wrong, or 503 while the
// revocation feed is stale.
func (v *Verifier) Middleware() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := v.token(r)
			if !ok {
				v.deny(w, r, "no token")
				return
			}
			c, err := v.Verify(tok)
			if errors.Is(err, ErrUnavailable) {
				v.log.WarnContext(r.Context(), "verifier: refusing tokens, revocation feed stale")
				w.Header().Set("Retry-After", "5")
				writeProblem(w, "unavailable", "Service temporarily unavailable", http.StatusServiceUnavailable)
				return
			}
			if err != nil {
				v.deny(w, r, err.Error())
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
		})
	}
}

func (v *Verifier) deny(w http.ResponseWriter, r *http.Request, reason string) {
	v.log.InfoContext(r.Context(), "verifier: unauthenticated", slog.String("path", r.URL.Path), slog.String("reason", reason))
	if v.opts.AllowBearer {
		w.Header().Set("WWW-Authenticate", `Bearer`)
	}
	writeProblem(w, "unauthenticated", "Authentication required", http.StatusUnauthorized)
}

// token returns the one access token the request carries. Two credentials
// (a cookie and a bearer header, or two cookies of the name) are refused:
// one of them was planted, and which one cannot be told.
func (v *Verifier) token(r *http.Request) (string, bool) {
	cookie, hasCookie, okCookie := readCookie(r, AccessCookie)
	auth := r.Header.Values("Authorization")
	if !v.opts.AllowBearer || len(auth) == 0 {
		return cookie, hasCookie && okCookie
	}
	if hasCookie || len(auth) != 1 {
		return "", false
	}
	tok, ok := strings.CutPrefix(auth[0], "Bearer ")
	if !ok || tok == "" || len(tok) > maxTokenValue {
		return "", false
	}
	return tok, true
}

// readCookie returns the value of the cookie named exactly name, whether
// the name is present at all, and whether the value is usable. Unlike
// Request.Cookie it does not trim or case-fold names, so "__host-access"
// never stands in for the real cookie, and a name that appears twice makes
// the value unusable. (The same logic as Gatehouse's httpapi.)
func readCookie(r *http.Request, name string) (val string, present, ok bool) {
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimLeft(part, " \t")
			n, v, found := strings.Cut(part, "=")
			if !found || n != name {
				continue
			}
			if present || len(v) > maxTokenValue {
				return "", true, false
			}
			val, present = v, true
		}
	}
	return val, present, present && val != ""
}

// writeProblem writes an RFC 9457 problem body shaped like Gatehouse's own.
func writeProblem(w http.ResponseWriter, slug, title string, status int) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(`{"type":"urn:gatehouse:problem:` + slug + `","title":"` + title + `","status":` + strconv.Itoa(status) + "}\n"))
}
