package httpapi_test

// CSRF and CORS cases of SECURITY-CASES.md group E: a cross-site request
// changes nothing, whichever header gives it away; same-origin, trusted and
// non-browser requests go through; safe methods never change state; and no
// response ever invites a cross-origin reader.

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/httpapi"
)

// crossSite lists the ways a request shows it comes from another site: Fetch
// Metadata, and for browsers without it the Origin header alone. host is the
// server's host:port.
func crossSite(host string) []struct {
	name   string
	header map[string]string
} {
	return []struct {
		name   string
		header map[string]string
	}{
		{"Sec-Fetch-Site cross-site, Origin evil", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"Sec-Fetch-Site cross-site alone", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://sibling.example"}},
		{"Origin https://evil.example", map[string]string{"Origin": "https://evil.example"}},
		{"Origin null", map[string]string{"Origin": "null"}},
		{"Origin http://evil@host", map[string]string{"Origin": "http://evil@" + host}},
		{"Origin https://evil@host", map[string]string{"Origin": "https://evil@" + host}},
		{"Origin http://host.evil.example", map[string]string{"Origin": "http://" + host + ".evil.example"}},
		{"Origin https://host (scheme differs)", map[string]string{"Origin": "https://" + host}},
		{"Origin http://host/path", map[string]string{"Origin": "http://" + host + "/evil"}},
		{"Origin another port", map[string]string{"Origin": "http://127.0.0.1:1"}},
	}
}

// csrfVictim is a victim with two sessions, and what a forged request may
// try to change.
type csrfVictim struct {
	u, second *user
	attacker  *user
}

// stateChanging lists every state-changing route as a forged request would
// send it, with the victim's cookies attached.
func stateChanging(t *testing.T, v csrfVictim) []req {
	t.Helper()
	return []req{
		{method: "PATCH", path: "/auth/me", cookie: v.u.cookies(), body: map[string]string{"display_name": "pwned"}},
		{method: "POST", path: "/auth/password", cookie: v.u.cookies(), body: map[string]string{"current_password": testPassword, "new_password": "attacker chosen passphrase 1"}},
		{method: "POST", path: "/auth/login", cookie: v.u.cookies(), body: map[string]string{"email": v.attacker.email, "password": testPassword}},
		{method: "POST", path: "/auth/logout", cookie: v.u.cookies()},
		{method: "POST", path: "/auth/refresh", cookie: v.u.cookies()},
		{method: "POST", path: "/auth/register", cookie: v.u.cookies(), body: map[string]string{"email": "planted@example.org", "password": testPassword}},
		{method: "POST", path: "/auth/logout-all", cookie: v.u.cookies()},
		{method: "DELETE", path: "/auth/sessions/" + joseSID(t, v.second), cookie: v.u.cookies()},
	}
}

// wantVictimIntact checks that nothing a forged request could do happened:
// the profile and password are unchanged, both sessions live, no account was
// planted, no security event was logged since mark, and the refresh token
// was never rotated (past the reuse grace a rotated token would be refused).
func wantVictimIntact(t *testing.T, e *env, log *auditLog, mark int, v csrfVictim) {
	t.Helper()
	if ev := log.events(mark); len(ev) != 0 {
		t.Errorf("forged requests caused security events %v", ev)
	}
	me := e.get("/auth/me", v.u.accessCookie())
	wantStatus(t, me, http.StatusOK)
	if name := me.json(t)["user"].(map[string]any)["display_name"]; name != "" {
		t.Errorf("display_name = %q, want it unchanged", name)
	}
	wantStatus(t, e.get("/api/protected", v.second.accessCookie()), http.StatusOK)
	e.clock.Advance(e.cfg.ReuseGrace + time.Second)
	r := e.do(req{method: "POST", path: "/auth/refresh", cookie: v.u.refreshCookie()})
	wantStatus(t, r, http.StatusOK)
	v.u.take(t, r)
	wantStatus(t, e.do(req{method: "POST", path: "/auth/refresh", cookie: v.second.refreshCookie()}), http.StatusOK)
	_, lr := e.login(v.u.email, testPassword)
	wantStatus(t, lr, http.StatusOK)
	wantStatus(t, e.do(req{method: "POST", path: "/auth/register", body: map[string]string{"email": "planted@example.org", "password": testPassword}}), http.StatusCreated)
	// The audit check above is not blind: the legitimate login shows.
	if ev := log.events(mark); !slices.Contains(ev, "login.success") {
		t.Errorf("security events %v lack the control login", ev)
	}
}

func newCSRFVictim(t *testing.T, e *env) csrfVictim {
	t.Helper()
	u := e.register("victim@example.org")
	second, r := e.login(u.email, testPassword)
	wantStatus(t, r, http.StatusOK)
	second.id = u.id
	return csrfVictim{u: u, second: second, attacker: e.register("attacker@example.org")}
}

// TestE01CrossSiteStateChange covers E-01, E-03, E-07 and E-08: every
// state-changing route, every cross-site marking, 403 and no effect.
func TestE01CrossSiteStateChange(t *testing.T) {
	log := &auditLog{}
	e := newEnv(t, log.install)
	host := strings.TrimPrefix(e.srv.URL, "http://")
	v := newCSRFVictim(t, e)
	mark := log.mark()
	for _, cs := range crossSite(host) {
		for _, q := range stateChanging(t, v) {
			id := map[string]string{"/auth/login": "E-07", "/auth/logout": "E-08", "/auth/refresh": "E-08"}[q.path]
			if id == "" {
				id = "E-01"
				if _, sfs := cs.header["Sec-Fetch-Site"]; !sfs {
					id = "E-03"
				}
			}
			t.Run(id+"/"+q.method+" "+q.path+"/"+cs.name, func(t *testing.T) {
				q.header = cs.header
				r := e.do(q)
				wantStatus(t, r, http.StatusForbidden)
				if !strings.Contains(string(r.body), "urn:gatehouse:problem:cross-origin") {
					t.Errorf("body %s, want the cross-origin problem", r.body)
				}
				if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("refused request set cookies %v", sc)
				}
			})
		}
	}
	wantVictimIntact(t, e, log, mark, v)
}

// TestE01SameOriginAllowed is the positive control of E-01 and E-03: what a
// same-origin page or a non-browser client sends goes through.
func TestE01SameOriginAllowed(t *testing.T) {
	e := newEnv(t)
	u := e.register("owner@example.org")
	for _, tt := range []struct {
		name   string
		header map[string]string
	}{
		{"Sec-Fetch-Site same-origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.srv.URL}},
		{"Sec-Fetch-Site same-origin alone", map[string]string{"Sec-Fetch-Site": "same-origin"}},
		{"Sec-Fetch-Site none", map[string]string{"Sec-Fetch-Site": "none"}},
		{"Origin of the server", map[string]string{"Origin": e.srv.URL}},
		{"Origin of the server with a slash", map[string]string{"Origin": e.srv.URL + "/"}},
		{"neither header (non-browser client)", nil},
	} {
		t.Run("E-01/"+tt.name, func(t *testing.T) {
			r := e.do(req{method: "PATCH", path: "/auth/me", cookie: u.accessCookie(), body: map[string]string{"display_name": tt.name}, header: tt.header})
			wantStatus(t, r, http.StatusOK)
			if got := r.json(t)["user"].(map[string]any)["display_name"]; got != tt.name {
				t.Fatalf("display_name = %v, want %q", got, tt.name)
			}
			l, lr := e.login(u.email, testPassword)
			wantStatus(t, lr, http.StatusOK)
			wantStatus(t, e.do(req{method: "POST", path: "/auth/logout", cookie: l.cookies(), header: tt.header}), http.StatusNoContent)
		})
	}
}

// TestE03TrustedOrigin: an origin configured as trusted may make
// cross-origin requests; lookalikes of it may not.
func TestE03TrustedOrigin(t *testing.T) {
	const trusted = "https://app.example"
	e := newEnv(t, func(_ *gatehouseConfig, h *httpapiConfig) { h.TrustedOrigins = []string{trusted} })
	u := e.register("app.user@example.org")
	for _, tt := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"trusted, cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": trusted}, http.StatusOK},
		{"trusted, same-site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": trusted}, http.StatusOK},
		{"trusted, Origin only", map[string]string{"Origin": trusted}, http.StatusOK},
		{"http downgrade of trusted", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://app.example"}, http.StatusForbidden},
		{"userinfo before trusted", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil@app.example"}, http.StatusForbidden},
		{"userinfo before trusted, Origin only", map[string]string{"Origin": "https://evil@app.example"}, http.StatusForbidden},
		{"suffix of trusted", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example.evil.example"}, http.StatusForbidden},
		{"subdomain of trusted", map[string]string{"Origin": "https://evil.app.example"}, http.StatusForbidden},
		{"trusted with a port", map[string]string{"Origin": "https://app.example:8443"}, http.StatusForbidden},
		{"trusted with a trailing slash", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": trusted + "/"}, http.StatusForbidden},
		{"trusted, upper case", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://APP.example"}, http.StatusForbidden},
	} {
		t.Run("E-03/"+tt.name, func(t *testing.T) {
			r := e.do(req{method: "PATCH", path: "/auth/me", cookie: u.accessCookie(), body: map[string]string{"display_name": "x"}, header: tt.header})
			wantStatus(t, r, tt.want)
			_, lr := e.loginWithHeader(u.email, tt.header)
			wantStatus(t, lr, tt.want)
			if tt.want != http.StatusOK && len(lr.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("refused login set cookies")
			}
		})
	}
}

// loginWithHeader logs in with extra request headers.
func (e *env) loginWithHeader(email string, h map[string]string) (*user, resp) {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/auth/login", body: map[string]string{"email": email, "password": testPassword}, header: h})
	u := &user{email: email}
	u.take(e.t, r)
	return u, r
}

// TestE04SafeMethodsChangeNothing: GET, HEAD and OPTIONS on every
// state-changing route, as a cross-site top-level navigation sends them.
func TestE04SafeMethodsChangeNothing(t *testing.T) {
	log := &auditLog{}
	e := newEnv(t, log.install)
	v := newCSRFVictim(t, e)
	nav := map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
	mark := log.mark()
	for _, q := range stateChanging(t, v) {
		for _, m := range []string{"GET", "HEAD", "OPTIONS"} {
			t.Run("E-04/"+m+" "+q.path, func(t *testing.T) {
				path := q.path
				if q.path == "/auth/me" {
					path += "?display_name=pwned&email=evil%40example.org"
				}
				r := e.do(req{method: m, path: path, cookie: q.cookie, header: nav})
				// GET and HEAD /auth/me are the read route; every other
				// combination has no handler at all.
				want := http.StatusMethodNotAllowed
				if q.path == "/auth/me" && m != "OPTIONS" {
					want = http.StatusOK
				}
				wantStatus(t, r, want)
				if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("%s %s set cookies %v", m, q.path, sc)
				}
			})
		}
	}
	// Navigations to the pages, the sign-out page included, change nothing.
	for _, path := range []string{"/logout", "/account", "/", "/login", "/signup"} {
		for _, m := range []string{"GET", "HEAD"} {
			t.Run("E-04/"+m+" page "+path, func(t *testing.T) {
				r := e.do(req{method: m, path: path, cookie: v.u.cookies(), header: nav})
				if r.StatusCode >= 400 {
					t.Errorf("status %d", r.StatusCode)
				}
				if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("%s %s set cookies %v", m, path, sc)
				}
			})
		}
	}
	wantVictimIntact(t, e, log, mark, v)
}

// TestE09NoCORS: no response grants a cross-origin reader access, preflight
// or not.
func TestE09NoCORS(t *testing.T) {
	e := newEnv(t)
	u := e.register("cors@example.org")
	evil := map[string]string{"Origin": "https://evil.example"}
	preflight := func(method string) map[string]string {
		return map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "content-type"}
	}
	for _, q := range []req{
		{method: "GET", path: "/auth/me", cookie: u.accessCookie(), header: evil},
		{method: "GET", path: "/auth/me", header: evil},
		{method: "GET", path: "/api/protected", cookie: u.accessCookie(), header: evil},
		{method: "GET", path: "/auth/verify", cookie: u.accessCookie(), header: evil},
		{method: "GET", path: "/auth/sessions", cookie: u.accessCookie(), header: evil},
		{method: "GET", path: "/.well-known/jwks.json", header: evil},
		{method: "GET", path: "/healthz", header: map[string]string{"Origin": "null"}},
		{method: "GET", path: "/auth/revocations", header: evil},
		{method: "GET", path: "/account", cookie: u.accessCookie(), header: evil},
		{method: "GET", path: "/assets/gatehouse.js", header: evil},
		{method: "OPTIONS", path: "/auth/me", cookie: u.accessCookie(), header: preflight("PATCH")},
		{method: "OPTIONS", path: "/auth/login", header: preflight("POST")},
		{method: "OPTIONS", path: "/auth/refresh", cookie: u.refreshCookie(), header: preflight("POST")},
		{method: "OPTIONS", path: "/api/protected", header: preflight("GET")},
		{method: "OPTIONS", path: "/nope", header: preflight("POST")},
		{method: "POST", path: "/auth/login", body: map[string]string{"email": u.email, "password": testPassword}, header: evil},
	} {
		t.Run("E-09/"+q.method+" "+q.path, func(t *testing.T) {
			r := e.do(q)
			wantNoCORS(t, r)
		})
	}
}

// wantNoCORS fails if r grants any cross-origin access.
func wantNoCORS(t *testing.T, r resp) {
	t.Helper()
	for k := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("%s %s: %s: %q", r.Request.Method, r.Request.URL.Path, k, r.Header.Get(k))
		}
	}
}

// TestE12NoExemptRoutes: no path spelling slips a cross-site request past
// the check; nothing is exempt.
func TestE12NoExemptRoutes(t *testing.T) {
	e := newEnv(t)
	u := e.register("exempt@example.org")
	for _, path := range []string{
		"/webhooks", "/webhooks/", "/webhooks/../auth/logout", "//auth/logout", "/AUTH/LOGOUT",
		"/auth/logout/", "/auth/logout?x=1", "/auth/./logout", "/%61uth/logout", "/auth//logout", "/healthz",
	} {
		t.Run("E-12/"+path, func(t *testing.T) {
			r := e.do(req{method: "POST", path: path, cookie: u.cookies(), header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}})
			wantStatus(t, r, http.StatusForbidden)
		})
	}
	e.wantTokenAccepted(t, u.access, u)
	wantStatus(t, e.do(req{method: "POST", path: "/auth/refresh", cookie: httpapi.RefreshCookie + "=" + u.refresh}), http.StatusOK)
}
