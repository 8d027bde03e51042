package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Cookie names. The __Host- prefix makes browsers refuse the cookie unless it
// is Secure, has Path=/ and no Domain, so a sibling subdomain or a network
// attacker on plain HTTP cannot plant or shadow it (RFC 6265bis, ASVS 3.3.3).
const (
	AccessCookie  = "__Host-access"
	RefreshCookie = "__Host-refresh"
	// DeviceCookie marks the browser as a known device of the account that
	// last logged in with it, so that failures by others do not lock it
	// out (gatehouse.Grant.DeviceToken). It outlives sessions; logging out
	// forgets it.
	DeviceCookie = "__Host-device"
)

// maxCookieValue is longer than any token Gatehouse issues; a longer value is
// ignored before anything parses it.
const maxCookieValue = 4096

// readCookie returns the value of the cookie named exactly name. Unlike
// Request.Cookie it does not trim or case-fold names, so "__host-access" or
// "__Host-access " never stand in for the real cookie, and when the name
// appears more than once it reports nothing: two values mean someone managed
// to plant one, and neither can be trusted.
func readCookie(r *http.Request, name string) (string, bool) {
	var val string
	found := false
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimLeft(part, " \t")
			n, v, ok := strings.Cut(part, "=")
			if !ok || n != name {
				continue
			}
			if found || len(v) > maxCookieValue {
				return "", false
			}
			val, found = v, true
		}
	}
	return val, found && val != ""
}

// AccessToken returns the access token the request carries in its
// __Host-access cookie. Nothing else (no Authorization header, no query
// parameter) is read.
func AccessToken(r *http.Request) (string, bool) {
	return readCookie(r, AccessCookie)
}

func (s *server) setAuthCookies(w http.ResponseWriter, g *gatehouse.Grant) {
	now := s.now()
	http.SetCookie(w, &http.Cookie{
		Name: AccessCookie, Value: g.AccessToken, Path: "/",
		MaxAge: maxAge(g.AccessExpiresAt, now), Secure: true, HttpOnly: true, SameSite: s.sameSite,
	})
	// The refresh token rides only on same-site requests: it is the long-lived
	// credential, and no cross-site navigation ever needs it.
	http.SetCookie(w, &http.Cookie{
		Name: RefreshCookie, Value: g.RefreshToken, Path: "/",
		MaxAge: maxAge(g.RefreshExpiresAt, now), Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	if g.DeviceToken != "" {
		// Strict: only the login page itself, same-site, ever needs it.
		http.SetCookie(w, &http.Cookie{
			Name: DeviceCookie, Value: g.DeviceToken, Path: "/",
			MaxAge: maxAge(g.DeviceExpiresAt, now), Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		})
	}
}

// clearAuthCookies expires both cookies with the attributes they were set
// with, which browsers need to match them.
func (s *server) clearAuthCookies(w http.ResponseWriter) {
	for _, c := range []struct {
		name string
		ss   http.SameSite
	}{{AccessCookie, s.sameSite}, {RefreshCookie, http.SameSiteStrictMode}} {
		http.SetCookie(w, &http.Cookie{
			Name: c.name, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: c.ss,
		})
	}
}

// forgetDevice expires the device cookie when the request carries one:
// logging out of a browser, perhaps a shared one, also stops it being a
// known device, as the Clear-Site-Data header of the logout does in
// browsers that honour it.
func (s *server) forgetDevice(w http.ResponseWriter, r *http.Request) {
	if _, ok := readCookie(r, DeviceCookie); ok {
		http.SetCookie(w, &http.Cookie{
			Name: DeviceCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		})
	}
}

func maxAge(exp, now time.Time) int {
	secs := int(exp.Sub(now) / time.Second)
	if secs < 1 {
		return 1
	}
	return secs
}
