package httpapi_test

// Cookie cases of SECURITY-CASES.md group D: the attributes, lifetime and
// size of the two credential cookies on every response that issues them, the
// exact names the server reads, and how logout clears them.

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/httpapi"
)

// setCookie is one Set-Cookie header as sent, parsed without the leniency of
// net/http: attribute names are kept apart from their values so that a
// missing or duplicated attribute shows.
type setCookie struct {
	raw, name, value string
	attrs            map[string]string // lower-cased name -> value ("" for a flag)
	repeated         []string          // attributes sent twice
}

func parseSetCookie(line string) setCookie {
	parts := strings.Split(line, ";")
	c := setCookie{raw: line, attrs: map[string]string{}}
	c.name, c.value, _ = strings.Cut(parts[0], "=")
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		k = strings.ToLower(k)
		if _, dup := c.attrs[k]; dup {
			c.repeated = append(c.repeated, k)
		}
		c.attrs[k] = v
	}
	return c
}

// credentialCookies returns the Set-Cookie headers of r by name, failing on
// a name sent twice (a browser keeps only one of them, which one is luck).
func credentialCookies(t *testing.T, r resp) map[string]setCookie {
	t.Helper()
	out := map[string]setCookie{}
	for _, line := range r.Header.Values("Set-Cookie") {
		c := parseSetCookie(line)
		if _, dup := out[c.name]; dup {
			t.Fatalf("cookie %s set twice in one response", c.name)
		}
		out[c.name] = c
	}
	return out
}

// issuing returns every kind of response that sets the credential cookies:
// register, login, refresh and password change.
func issuing(t *testing.T, e *env) []struct {
	name string
	r    resp
} {
	t.Helper()
	reg := e.do(req{method: "POST", path: "/auth/register", body: map[string]string{"email": "cookie.jar@example.org", "password": testPassword}})
	wantStatus(t, reg, http.StatusCreated)
	u, login := e.login("cookie.jar@example.org", testPassword)
	wantStatus(t, login, http.StatusOK)
	refresh := e.do(req{method: "POST", path: "/auth/refresh", cookie: u.refreshCookie()})
	wantStatus(t, refresh, http.StatusOK)
	u.take(t, refresh)
	pw := e.do(req{method: "POST", path: "/auth/password", cookie: u.accessCookie(), body: map[string]string{"current_password": testPassword, "new_password": "another long passphrase 7"}})
	wantStatus(t, pw, http.StatusNoContent)
	return []struct {
		name string
		r    resp
	}{{"register", reg}, {"login", login}, {"refresh", refresh}, {"password change", pw}}
}

// checkHostCookie applies the rules every credential cookie follows: the
// __Host- prefix rules (Secure, Path=/, no Domain), HttpOnly, an explicit
// SameSite that is not None, and a positive Max-Age of at most maxAge.
func checkHostCookie(t *testing.T, c setCookie, sameSites []string, maxAge time.Duration) {
	t.Helper()
	if !strings.HasPrefix(c.name, "__Host-") {
		t.Errorf("%s: name lacks the __Host- prefix", c.raw)
	}
	if v, ok := c.attrs["secure"]; !ok || v != "" {
		t.Errorf("%s: Secure missing", c.raw)
	}
	if v, ok := c.attrs["httponly"]; !ok || v != "" {
		t.Errorf("%s: HttpOnly missing", c.raw)
	}
	if p, ok := c.attrs["path"]; !ok || p != "/" {
		t.Errorf("%s: Path %q, want /", c.raw, p)
	}
	if _, ok := c.attrs["domain"]; ok {
		t.Errorf("%s: Domain set on a __Host- cookie", c.raw)
	}
	ss, ok := c.attrs["samesite"]
	if !ok || !containsFold(sameSites, ss) {
		t.Errorf("%s: SameSite %q, want one of %v", c.raw, ss, sameSites)
	}
	if len(c.repeated) > 0 {
		t.Errorf("%s: attributes %v repeated", c.raw, c.repeated)
	}
	secs, err := strconv.Atoi(c.attrs["max-age"])
	if err != nil || secs <= 0 || time.Duration(secs)*time.Second > maxAge {
		t.Errorf("%s: Max-Age %q, want 1..%d", c.raw, c.attrs["max-age"], int(maxAge/time.Second))
	}
	if exp, ok := c.attrs["expires"]; ok {
		when, err := http.ParseTime(exp)
		if err != nil || when.After(time.Now().Add(maxAge+time.Minute)) {
			t.Errorf("%s: Expires %q outlives %v", c.raw, exp, maxAge)
		}
	}
	if n := len(c.name) + len(c.value); n > 4096 {
		t.Errorf("%s: name and value are %d bytes, over the 4096 browsers keep", c.name, n)
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// TestD01AccessCookieAttributes, D-06 and D-07 for the access cookie.
func TestD01AccessCookieAttributes(t *testing.T) {
	e := newEnv(t)
	for _, is := range issuing(t, e) {
		t.Run("D-01/"+is.name, func(t *testing.T) {
			c, ok := credentialCookies(t, is.r)[httpapi.AccessCookie]
			if !ok {
				t.Fatalf("no %s cookie set", httpapi.AccessCookie)
			}
			checkHostCookie(t, c, []string{"Lax", "Strict"}, e.cfg.AccessTTL)
			if strings.Count(c.value, ".") != 2 {
				t.Errorf("access cookie value %q is not a compact JWS", c.value)
			}
		})
	}
}

// TestD02RefreshCookieAttributes, D-06 and D-07 for the refresh cookie: the
// declared choice is __Host-refresh with Path=/ and SameSite=Strict.
func TestD02RefreshCookieAttributes(t *testing.T) {
	e := newEnv(t)
	for _, is := range issuing(t, e) {
		t.Run("D-02/"+is.name, func(t *testing.T) {
			c, ok := credentialCookies(t, is.r)[httpapi.RefreshCookie]
			if !ok {
				t.Fatalf("no %s cookie set", httpapi.RefreshCookie)
			}
			checkHostCookie(t, c, []string{"Strict"}, min(e.cfg.IdleTimeout, e.cfg.AbsoluteLifetime))
			if len(c.value) < 22 {
				t.Errorf("refresh value %q is too short to hold 128 bits", c.value)
			}
		})
	}
}

// TestD02StrictAccessCookieOption: the access cookie can be made Strict;
// the refresh cookie is Strict whatever the access cookie's mode.
func TestD02StrictAccessCookieOption(t *testing.T) {
	e := newEnv(t, func(_ *gatehouseConfig, h *httpapiConfig) { h.SameSite = http.SameSiteStrictMode })
	u, r := e.login(e.register("strict@example.org").email, testPassword)
	wantStatus(t, r, http.StatusOK)
	if c := credentialCookies(t, r)[httpapi.AccessCookie]; c.attrs["samesite"] != "Strict" {
		t.Fatalf("D-02: access cookie %s, want SameSite=Strict", c.raw)
	}
	if c := credentialCookies(t, r)[httpapi.RefreshCookie]; c.attrs["samesite"] != "Strict" {
		t.Fatalf("D-02: refresh cookie %s, want SameSite=Strict", c.raw)
	}
	wantStatus(t, e.get("/auth/me", u.accessCookie()), http.StatusOK)
}

// TestD06CookieLifetimeAtSessionEnd: near the absolute end of a session,
// neither cookie outlives it.
func TestD06CookieLifetimeAtSessionEnd(t *testing.T) {
	e := newEnv(t)
	u := e.register("long.session@example.org")
	end := e.clock.Now().Add(e.cfg.AbsoluteLifetime)
	step := e.cfg.IdleTimeout - time.Hour
	var last resp
	for e.clock.Now().Add(step).Before(end.Add(-5 * time.Minute)) {
		e.clock.Advance(step)
		last = e.do(req{method: "POST", path: "/auth/refresh", cookie: u.refreshCookie()})
		wantStatus(t, last, http.StatusOK)
		u.take(t, last)
	}
	e.clock.Advance(end.Sub(e.clock.Now()) - 5*time.Minute)
	last = e.do(req{method: "POST", path: "/auth/refresh", cookie: u.refreshCookie()})
	wantStatus(t, last, http.StatusOK)
	left := end.Sub(e.clock.Now())
	cs := credentialCookies(t, last)
	checkHostCookie(t, cs[httpapi.AccessCookie], []string{"Lax", "Strict"}, left)
	checkHostCookie(t, cs[httpapi.RefreshCookie], []string{"Strict"}, left)
}

// TestD07CookieSize logs in the user with the largest claim set the server
// allows: the longest email.
func TestD07CookieSize(t *testing.T) {
	e := newEnv(t)
	// DNS labels are at most 63 bytes (NormalizeEmail holds the domain to it).
	email := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".org"
	if len(email) != 254 {
		t.Fatalf("email is %d bytes", len(email))
	}
	e.register(email)
	_, r := e.login(email, testPassword)
	wantStatus(t, r, http.StatusOK)
	for _, name := range []string{httpapi.AccessCookie, httpapi.RefreshCookie} {
		c := credentialCookies(t, r)[name]
		if n := len(c.name) + len(c.value); n == 0 || n > 4096 {
			t.Errorf("D-07: %s is %d bytes, want 1..4096", name, n)
		}
	}
}

// TestD03TokensOnlyInSetCookie: no token value anywhere but Set-Cookie.
func TestD03TokensOnlyInSetCookie(t *testing.T) {
	e := newEnv(t)
	for _, is := range issuing(t, e) {
		t.Run("D-03/"+is.name, func(t *testing.T) {
			cs := credentialCookies(t, is.r)
			var secrets []string
			for _, c := range cs {
				secrets = append(secrets, c.value)
				if parts := strings.Split(c.value, "."); len(parts) == 3 {
					secrets = append(secrets, parts[1], parts[2]) // payload and signature
				}
			}
			if len(secrets) < 2 {
				t.Fatalf("response set %d cookies", len(cs))
			}
			for _, s := range secrets {
				if bytes.Contains(is.r.body, []byte(s)) {
					t.Errorf("body %s contains a token value", is.r.body)
				}
				for k, vs := range is.r.Header {
					if k == "Set-Cookie" {
						continue
					}
					for _, v := range vs {
						if strings.Contains(v, s) {
							t.Errorf("header %s: %s contains a token value", k, v)
						}
					}
				}
			}
			if loc := is.r.Header.Get("Location"); loc != "" {
				t.Errorf("Location %q on a token response", loc)
			}
		})
	}
}

// doWithHeader sends a request whose headers are given whole, so that a
// header can be repeated (two Cookie lines).
func (e *env) doWithHeader(method, path string, h http.Header, body io.Reader) resp {
	e.t.Helper()
	r, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range h {
		r.Header[k] = vs
	}
	res, err := e.srv.Client().Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Response: res, body: b}
}

// TestD04LookalikeCookieNames: a valid token under any name but the exact
// one is ignored, and two cookies of the exact name are refused.
func TestD04LookalikeCookieNames(t *testing.T) {
	e := newEnv(t)
	v := e.register("victim@example.org")
	other := e.register("other@example.org")
	lookalikes := func(name string) []string {
		rest := strings.TrimPrefix(name, "__Host-")
		return []string{
			rest, "__Secure-" + rest, "__host-" + rest, "__HOST-" + rest, "__Host-" + strings.ToUpper(rest[:1]) + rest[1:],
			"%5F%5FHost-" + rest, "__Host%2D" + rest, name + " ", name + "\t", name + "%20", "_Host-" + rest, "__Host-" + rest + "s",
		}
	}
	for _, n := range lookalikes(httpapi.AccessCookie) {
		t.Run("D-04/access as "+strconv.Quote(n), func(t *testing.T) {
			for _, path := range tokenProbes {
				wantRejected(t, e.get(path, n+"="+v.access))
			}
		})
	}
	twice := []struct{ name, first, second string }{
		{"same valid value", v.access, v.access},
		{"valid then another user's", v.access, other.access},
		{"another user's then valid", other.access, v.access},
		{"valid then garbage", v.access, "garbage"},
		{"garbage then valid", "garbage", v.access},
		{"empty then valid", "", v.access},
	}
	for _, tt := range twice {
		t.Run("D-04/two access cookies in one line, "+tt.name, func(t *testing.T) {
			for _, path := range tokenProbes {
				wantRejected(t, e.get(path, httpapi.AccessCookie+"="+tt.first+"; "+httpapi.AccessCookie+"="+tt.second))
			}
		})
		t.Run("D-04/two access cookies in two lines, "+tt.name, func(t *testing.T) {
			h := http.Header{"Cookie": {httpapi.AccessCookie + "=" + tt.first, httpapi.AccessCookie + "=" + tt.second}}
			for _, path := range tokenProbes {
				wantRejected(t, e.doWithHeader("GET", path, h, nil))
			}
		})
	}
	for _, n := range lookalikes(httpapi.RefreshCookie) {
		t.Run("D-04/refresh as "+strconv.Quote(n), func(t *testing.T) {
			wantRejected(t, e.do(req{method: "POST", path: "/auth/refresh", cookie: n + "=" + v.refresh}))
		})
	}
	for _, tt := range []struct{ name, first, second string }{
		{"same value", v.refresh, v.refresh},
		{"valid then another user's", v.refresh, other.refresh},
		{"another user's then valid", other.refresh, v.refresh},
	} {
		t.Run("D-04/two refresh cookies, "+tt.name, func(t *testing.T) {
			wantRejected(t, e.do(req{method: "POST", path: "/auth/refresh", cookie: httpapi.RefreshCookie + "=" + tt.first + "; " + httpapi.RefreshCookie + "=" + tt.second}))
		})
	}
	// §0.3a: the exact names still work, and no refresh above rotated a
	// token (past the reuse grace, a rotated token would now be refused).
	e.clock.Advance(e.cfg.ReuseGrace + time.Second)
	e.wantTokenAccepted(t, v.access, v)
	e.wantTokenAccepted(t, other.access, other)
	for _, u := range []*user{v, other} {
		wantStatus(t, e.do(req{method: "POST", path: "/auth/refresh", cookie: u.refreshCookie()}), http.StatusOK)
	}
}

// TestD08LogoutClearsCookies: every response that ends the session clears
// both cookies with the attributes they were set with.
func TestD08LogoutClearsCookies(t *testing.T) {
	e := newEnv(t)
	u := e.register("leaving@example.org")
	set := credentialCookies(t, e.do(req{method: "POST", path: "/auth/refresh", cookie: u.refreshCookie()}))
	endings := []struct {
		name     string
		do       func(u *user) resp
		siteData bool
	}{
		{"logout", func(u *user) resp { return e.do(req{method: "POST", path: "/auth/logout", cookie: u.cookies()}) }, true},
		{"logout without cookies", func(*user) resp { return e.do(req{method: "POST", path: "/auth/logout"}) }, true},
		{"logout-all", func(u *user) resp { return e.do(req{method: "POST", path: "/auth/logout-all", cookie: u.cookies()}) }, true},
		{"revoke own session", func(u *user) resp {
			return e.do(req{method: "DELETE", path: "/auth/sessions/" + joseSID(t, u), cookie: u.cookies()})
		}, false},
	}
	for _, end := range endings {
		t.Run("D-08/"+end.name, func(t *testing.T) {
			l, r := e.login(u.email, testPassword)
			wantStatus(t, r, http.StatusOK)
			r = end.do(l)
			wantStatus(t, r, http.StatusNoContent)
			got := credentialCookies(t, r)
			for _, name := range []string{httpapi.AccessCookie, httpapi.RefreshCookie} {
				c, ok := got[name]
				if !ok {
					t.Fatalf("%s not cleared", name)
				}
				if c.value != "" || c.attrs["max-age"] != "0" {
					t.Errorf("%s: want an empty value and Max-Age=0", c.raw)
				}
				if exp, ok := c.attrs["expires"]; ok {
					if when, err := http.ParseTime(exp); err != nil || when.After(time.Now()) {
						t.Errorf("%s: Expires %q is not in the past", c.raw, exp)
					}
				}
				want := set[name]
				for _, a := range []string{"path", "secure", "httponly", "samesite", "domain"} {
					gv, gok := c.attrs[a]
					wv, wok := want.attrs[a]
					if gv != wv || gok != wok {
						t.Errorf("%s: attribute %s = %q (%v), set with %q (%v)", name, a, gv, gok, wv, wok)
					}
				}
			}
			if csd := r.Header.Get("Clear-Site-Data"); end.siteData && !strings.Contains(csd, `"cookies"`) {
				t.Errorf("Clear-Site-Data %q, want \"cookies\"", csd)
			}
			if end.name != "logout without cookies" {
				wantRejected(t, e.get("/auth/me", l.accessCookie()))
			}
		})
	}
}

// TestD10NoCookieOverPlainHTTP: credentials that crossed a network in clear
// are never processed, so no cookie is issued.
func TestD10NoCookieOverPlainHTTP(t *testing.T) {
	log := &auditLog{}
	e := newEnv(t, log.install)
	e.register("clear.text@example.org")
	body := `{"email":"clear.text@example.org","password":"` + testPassword + `"}`
	before := log.mark()
	for _, tt := range []struct {
		name string
		h    http.Handler
	}{
		{"API listener, public client without TLS", e.srv.Config.Handler},
		{"redirect listener", httpapi.RedirectToHTTPS("443")},
	} {
		t.Run("D-10/"+tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://auth.test/auth/login", strings.NewReader(body))
			r.RemoteAddr = "192.0.2.7:40000"
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, r)
			if w.Code != http.StatusForbidden {
				t.Errorf("status %d, want 403", w.Code)
			}
			if sc := w.Header().Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("Set-Cookie %v over plain HTTP", sc)
			}
			if loc := w.Header().Get("Location"); loc != "" {
				t.Errorf("Location %q: an API request must not be redirected with its credentials", loc)
			}
		})
	}
	if got := log.since(before); strings.Contains(got, "login.") {
		t.Fatalf("D-10: credentials sent in clear were processed:\n%s", got)
	}
}
