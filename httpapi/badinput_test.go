package httpapi_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/token"
)

// TestBadInputNeverCostsData sends a battery of malformed and hostile
// requests to every route, through httpapi.NewHTTPServer on a loopback
// port: bad and oversized JSON, wrong types and content types, bad, tossed
// and duplicated cookies, forged tokens, unknown and foreign session ids,
// path traversal, cross-origin requests and wrong methods. Every answer
// must be a 4xx problem+json body (or, for a route that takes no input, the
// answer an anonymous request gets), within the client's timeout, and
// afterwards every row of every table must be as it was. Finally the
// owner's session still works: bad input locked nobody out.
func TestBadInputNeverCostsData(t *testing.T) {
	e := newStoreEnv(t)
	owner := e.user
	victimRes := e.serve(http.MethodPost, "/auth/register", "application/json", `{"email":"victim@example.org","password":"`+testPassword+`"}`, "")
	if victimRes.Code != http.StatusCreated {
		t.Fatalf("register victim: %d %s", victimRes.Code, victimRes.Body)
	}
	var reg struct {
		User    struct{ ID string }
		Session struct{ ID string }
	}
	json.Unmarshal(victimRes.Body.Bytes(), &reg)
	victimID, victimSession := reg.User.ID, reg.Session.ID

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewHTTPServer(ln.Addr().String(), e.h)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()

	var jwks struct{ Keys []struct{ X string } }
	json.Unmarshal(e.serve("GET", "/.well-known/jwks.json", "", "", "").Body.Bytes(), &jwks)
	if len(jwks.Keys) == 0 {
		t.Fatal("no key in the JWKS")
	}
	serverPub, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].X)
	forged := forgeries(t, owner.access, victimID, serverPub)
	access := func(v string) string { return httpapi.AccessCookie + "=" + v }
	refresh := func(v string) string { return httpapi.RefreshCookie + "=" + v }
	ownerCookie := access(owner.access)
	randRefresh := make([]byte, 32)
	rand.Read(randRefresh)
	unknownRefresh := base64.RawURLEncoding.EncodeToString(randRefresh)

	type badReq struct {
		name, method, path, ctype, body, cookie string
		header                                  map[string]string
		want                                    int // 0: any 4xx problem
	}
	var cases []badReq
	add := func(c badReq) { cases = append(cases, c) }

	// Bodies no route may accept.
	bodies := map[string]string{
		"empty":             "",
		"not JSON":          "email=a&password=b",
		"JSON null":         "null",
		"JSON array":        `[{"email":"a@example.org"}]`,
		"wrong types":       `{"email":1,"password":true,"current_password":[],"new_password":{},"display_name":9}`,
		"unknown field":     `{"email":"x@example.org","password":"` + testPassword + `","admin":true,"display_name":"x","current_password":"x","new_password":"x"}`,
		"trailing data":     `{"email":"x@example.org","password":"` + testPassword + `"}{"email":"y@example.org"}`,
		"truncated":         `{"email":"x@example.org","password":"`,
		"invalid UTF-8":     "{\"email\":\"\xff@example.org\",\"password\":\"\xfe\"}",
		"deep nesting":      strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		"huge field (I-03)": `{"email":"` + strings.Repeat("a", 64<<10) + `","password":"x"}`,
		"1 MiB body (I-03)": `{"email":"x@example.org","password":"` + strings.Repeat("p", 1<<20) + `"}`,
	}
	for _, rt := range jsonRoutes {
		cookie := ""
		if rt.auth {
			cookie = ownerCookie
		}
		for name, b := range bodies {
			add(badReq{name: rt.path + " " + name, method: rt.method, path: rt.path, ctype: "application/json", body: b, cookie: cookie})
		}
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "application/json; charset=utf-8; x=\""} {
			add(badReq{name: rt.path + " content type " + ct, method: rt.method, path: rt.path, ctype: ct, body: rt.valid, cookie: cookie})
		}
		add(badReq{name: rt.path + " cross-site", method: rt.method, path: rt.path, ctype: "application/json", body: rt.valid, cookie: cookie,
			header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, want: http.StatusForbidden})
		add(badReq{name: rt.path + " Origin with userinfo", method: rt.method, path: rt.path, ctype: "application/json", body: rt.valid, cookie: cookie,
			header: map[string]string{"Origin": "http://evil@" + ln.Addr().String()}, want: http.StatusForbidden})
	}
	add(badReq{name: "login with a short password for the owner", method: "POST", path: "/auth/login", ctype: "application/json",
		body: `{"email":"owner@example.org","password":"wrong password"}`, want: http.StatusUnauthorized})
	add(badReq{name: "register an existing email", method: "POST", path: "/auth/register", ctype: "application/json",
		body: `{"email":"OWNER@example.org","password":"` + testPassword + `"}`, want: http.StatusConflict})
	add(badReq{name: "register a weak password", method: "POST", path: "/auth/register", ctype: "application/json",
		body: `{"email":"weak@example.org","password":"password"}`, want: http.StatusBadRequest})
	add(badReq{name: "password change with a wrong current password", method: "POST", path: "/auth/password", ctype: "application/json",
		body: `{"current_password":"not the password","new_password":"another fine passphrase 9"}`, cookie: ownerCookie, want: http.StatusForbidden})
	add(badReq{name: "password change to a weak password", method: "POST", path: "/auth/password", ctype: "application/json",
		body: `{"current_password":"` + testPassword + `","new_password":"12345678"}`, cookie: ownerCookie, want: http.StatusBadRequest})
	add(badReq{name: "display name too long", method: "PATCH", path: "/auth/me", ctype: "application/json",
		body: `{"display_name":"` + strings.Repeat("x", 1000) + `"}`, cookie: ownerCookie, want: http.StatusBadRequest})

	// Bad cookies and forged tokens on every route that reads the access cookie.
	badAccess := map[string]string{
		"no cookie":             "",
		"empty value":           access(""),
		"garbage":               access("not-a-token"),
		"dot flood (I-01)":      access(strings.Repeat(".", 4000)),
		"oversized value":       access(strings.Repeat("a", 5000)),
		"refresh as access":     access(owner.refresh),
		"duplicated":            ownerCookie + "; " + ownerCookie,
		"quoted":                access(`"` + owner.access + `"`),
		"trailing garbage":      access(owner.access + "x"),
		"NUL in value":          access(owner.access[:10] + "\x00" + owner.access[11:]),
		"look-alike __host-":    "__host-access=" + owner.access,
		"look-alike __Secure-":  "__Secure-access=" + owner.access,
		"look-alike trailing ␠": "__Host-access =" + owner.access,
		"look-alike encoded":    "%5F%5FHost-access=" + owner.access,
	}
	for name, tok := range forged {
		badAccess["forged: "+name] = access(tok)
	}
	protected := []struct{ method, path, ctype, body string }{
		{"GET", "/auth/me", "", ""},
		{"PATCH", "/auth/me", "application/json", `{"display_name":"pwned"}`},
		{"GET", "/auth/sessions", "", ""},
		{"DELETE", "/auth/sessions/" + victimSession, "", ""},
		{"POST", "/auth/password", "application/json", `{"current_password":"` + testPassword + `","new_password":"another fine passphrase 9"}`},
		{"POST", "/auth/logout-all", "", ""},
		{"GET", "/api/protected", "", ""},
	}
	for name, c := range badAccess {
		for _, p := range protected {
			add(badReq{name: p.method + " " + p.path + " " + name, method: p.method, path: p.path, ctype: p.ctype, body: p.body, cookie: c, want: http.StatusUnauthorized})
		}
		add(badReq{name: "verify " + name, method: "GET", path: "/auth/verify", cookie: c, want: http.StatusUnauthorized})
		// The page's own API calls check the cookie; any cookie gets the page.
		add(badReq{name: "account page " + name, method: "GET", path: "/account", cookie: c, want: -1})
	}
	// Bad refresh cookies: refresh is 401, logout ends nothing (and says 204,
	// because a client can always log out).
	badRefresh := map[string]string{
		"no cookie":               "",
		"empty":                   refresh(""),
		"garbage":                 refresh("garbage"),
		"unknown token":           refresh(unknownRefresh),
		"one character short":     refresh(owner.refresh[:42]),
		"padded":                  refresh(owner.refresh + "="),
		"non-canonical last char": refresh(owner.refresh[:42] + nonCanonical(owner.refresh[42])),
		"std alphabet":            refresh(strings.NewReplacer("-", "+", "_", "/").Replace(unknownRefresh)),
		"access as refresh":       refresh(owner.access),
		"duplicated":              refresh(owner.refresh) + "; " + refresh(unknownRefresh),
		"look-alike __host-":      "__host-refresh=" + owner.refresh,
		"look-alike __Secure-":    "__Secure-refresh=" + owner.refresh,
		"oversized":               refresh(strings.Repeat("A", 5000)),
	}
	for name, c := range badRefresh {
		add(badReq{name: "refresh " + name, method: "POST", path: "/auth/refresh", cookie: c, want: http.StatusUnauthorized})
		add(badReq{name: "logout " + name, method: "POST", path: "/auth/logout", cookie: c, want: http.StatusNoContent})
	}
	for name, tok := range forged {
		add(badReq{name: "logout with forged access " + name, method: "POST", path: "/auth/logout", cookie: access(tok), want: http.StatusNoContent})
	}
	// Session ids that are not the caller's.
	for name, id := range map[string]string{
		"another user's session":   victimSession,
		"unknown id":               "AAAAAAAAAAAAAAAAAAAAAA",
		"traversal, encoded":       "..%2F..%2Fusers",
		"traversal to victim":      "..%2F" + victimSession,
		"NUL":                      "%00",
		"SQL":                      "x'%20OR%20'1'%3D'1",
		"percent-encoded wildcard": "%25",
		"very long":                strings.Repeat("a", 5000),
		"unicode":                  "%E2%80%AE" + victimSession,
	} {
		add(badReq{name: "revoke " + name, method: "DELETE", path: "/auth/sessions/" + id, cookie: ownerCookie, want: http.StatusNotFound})
	}
	for _, p := range []string{"/auth/sessions/a/b", "/auth/sessions/", "/auth/sessions//" + victimSession,
		"/auth/sessions/../me", "/auth/sessions/./" + victimSession, "/auth/sessions/x/../" + victimSession, "/auth//logout-all", "/api/../auth/me", "//auth/me", "/x/../auth/sessions/" + victimSession} {
		add(badReq{name: "revoke at " + p, method: "DELETE", path: p, cookie: ownerCookie})
	}
	// Wrong methods and unknown routes.
	for _, m := range []struct{ method, path string }{
		{"PUT", "/auth/login"}, {"GET", "/auth/login"}, {"GET", "/auth/register"}, {"GET", "/auth/refresh"},
		{"GET", "/auth/logout"}, {"DELETE", "/auth/me"}, {"POST", "/auth/me"}, {"POST", "/auth/sessions"},
		{"GET", "/auth/password"}, {"POST", "/auth/verify"}, {"POST", "/.well-known/jwks.json"}, {"POST", "/healthz"},
		{"DELETE", "/api/protected"}, {"GET", "/auth/nope"}, {"GET", "/api/nope"}, {"TRACE", "/auth/me"},
	} {
		add(badReq{name: m.method + " " + m.path, method: m.method, path: m.path, cookie: ownerCookie})
	}
	// Routes without input: hostile extras change nothing about the answer.
	add(badReq{name: "revocation feed with a forged bearer", method: "GET", path: "/auth/revocations", header: map[string]string{"Authorization": "Bearer " + owner.access}, want: http.StatusNotFound})
	add(badReq{name: "asset traversal", method: "GET", path: "/assets/..%2F..%2Fgo.mod", want: http.StatusNotFound})
	add(badReq{name: "versioned asset traversal", method: "GET", path: "/assets/v-x/..%2Fpages.go", want: http.StatusNotFound})
	add(badReq{name: "jwks with a forged cookie", method: "GET", path: "/.well-known/jwks.json", cookie: access(forged["alg none"]), want: http.StatusOK})
	add(badReq{name: "healthz with a forged cookie", method: "GET", path: "/healthz", cookie: access(forged["alg none"]), want: http.StatusOK})
	add(badReq{name: "readyz with a forged cookie", method: "GET", path: "/readyz", cookie: access(forged["alg none"]), want: http.StatusOK})
	for _, p := range []string{"/", "/login", "/signup", "/logout"} {
		add(badReq{name: "page " + p + " with a forged cookie", method: "GET", path: p + "?next=//evil.example", cookie: access(forged["alg none"]) + "; " + refresh(unknownRefresh), want: -1})
	}

	covered := map[string]bool{}
	before := e.snapshot(t)
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range cases {
		r, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.ctype != "" {
			r.Header.Set("Content-Type", c.ctype)
		}
		if c.cookie != "" {
			r.Header.Set("Cookie", c.cookie)
		}
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		if pattern := routePattern(r); pattern != "" {
			covered[pattern] = true
		}
		var body []byte
		res, err := client.Do(r)
		if err != nil && strings.Contains(err.Error(), "invalid header field value") {
			// net/http will not send it (a NUL in a cookie); the handler
			// still must cope when a proxy does.
			w := e.serve(c.method, c.path, c.ctype, c.body, c.cookie)
			res, body, err = w.Result(), w.Body.Bytes(), nil
		} else if err == nil {
			body, _ = io.ReadAll(res.Body)
			res.Body.Close()
		}
		if err != nil {
			t.Errorf("%s: %v (no answer)", c.name, err)
			continue
		}
		switch {
		case res.StatusCode >= 500:
			t.Errorf("%s: status %d, body %s", c.name, res.StatusCode, body)
			continue
		case c.want == -1:
		case c.want == 0 && (res.StatusCode < 400 || res.StatusCode >= 500):
			t.Errorf("%s: status %d, want 4xx; body %.200s", c.name, res.StatusCode, body)
			continue
		case c.want > 0 && res.StatusCode != c.want:
			t.Errorf("%s: status %d, want %d; body %.200s", c.name, res.StatusCode, c.want, body)
			continue
		}
		if res.StatusCode >= 400 {
			if err := checkProblem(res, body); err != "" {
				t.Errorf("%s: %s", c.name, err)
			}
		}
		for _, ck := range res.Cookies() {
			if ck.Value != "" && ck.MaxAge >= 0 {
				t.Errorf("%s: status %d sets cookie %s", c.name, res.StatusCode, ck.Name)
			}
		}
	}
	if after := e.snapshot(t); after != before {
		t.Errorf("the store changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	for _, p := range httpapi.Routes() {
		if !covered[p] {
			t.Errorf("route %s got no bad request", p)
		}
	}
	t.Logf("%d bad requests, every route covered, store unchanged", len(cases))

	// The owner and the victim were not locked out or logged out.
	if w := e.serve("GET", "/auth/me", "", "", ownerCookie); w.Code != http.StatusOK {
		t.Errorf("owner's access token after the battery: %d", w.Code)
	}
	if w := e.serve("POST", "/auth/refresh", "", "", refresh(owner.refresh)); w.Code != http.StatusOK {
		t.Errorf("owner's refresh token after the battery: %d %s", w.Code, w.Body)
	}
}

// routePattern returns the pattern of the route that serves r, or "": a
// ServeMux with the server's patterns (httpapi.Routes) picks it.
func routePattern(r *http.Request) string {
	mux := http.NewServeMux()
	for _, p := range httpapi.Routes() {
		mux.Handle(p, http.NotFoundHandler())
	}
	_, pattern := mux.Handler(r)
	return pattern
}

// checkProblem returns what is wrong with an error response, or "".
func checkProblem(res *http.Response, body []byte) string {
	if res.StatusCode == http.StatusRequestHeaderFieldsTooLarge {
		return "" // net/http answers before any handler runs
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json; charset=utf-8" {
		return "status " + res.Status + " with Content-Type " + ct + ", want problem+json"
	}
	var p httpapi.Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Status != res.StatusCode || !strings.HasPrefix(p.Type, "urn:gatehouse:problem:") {
		return "status " + res.Status + " with body " + string(body) + ", want a problem with that status"
	}
	return ""
}

// nonCanonical returns a base64url character that decodes to the same
// bits as c in the last position of a 43-character token but sets a
// padding bit, so the token names the same bytes non-canonically.
func nonCanonical(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i|1])
}

// forgeries returns access tokens an attacker can make from a real one:
// the payload swapped for another user's, alg none, the server's kid with
// the attacker's key, an unknown kid, and HS256 keyed with the server's
// public key.
func forgeries(t *testing.T, real, victimID string, serverPub []byte) map[string]string {
	t.Helper()
	parts := strings.Split(real, ".")
	hdrJSON, _ := base64.RawURLEncoding.DecodeString(parts[0])
	plJSON, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var hdr map[string]any
	var pl map[string]any
	json.Unmarshal(hdrJSON, &hdr)
	json.Unmarshal(plJSON, &pl)
	kid, _ := hdr["kid"].(string)
	pl["sub"] = victimID
	swapped, _ := json.Marshal(pl)
	b64 := base64.RawURLEncoding.EncodeToString
	out := map[string]string{
		"payload swapped (A-01)": parts[0] + "." + b64(swapped) + "." + parts[2],
		"alg none":               b64([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + b64(swapped) + ".",
		"signature dropped":      parts[0] + "." + parts[1] + ".",
		"two segments":           parts[0] + "." + parts[1],
		"JWE shape (A-09)":       parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[2] + "." + parts[2],
	}
	atk, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	claims := token.Claims{Issuer: pl["iss"].(string), Subject: victimID, Audience: []string{testAudience}, ID: token.NewID(),
		SessionID: pl["sid"].(string)}
	iat, _ := pl["iat"].(float64)
	claims.IssuedAt = time.Unix(int64(iat), 0)
	claims.ExpiresAt = claims.IssuedAt.Add(5 * time.Minute)
	if out["attacker key, unknown kid"], err = token.Sign(atk, claims); err != nil {
		t.Fatal(err)
	}
	atk.ID = kid
	if out["attacker key, server kid"], err = token.Sign(atk, claims); err != nil {
		t.Fatal(err)
	}
	hs := b64([]byte(`{"alg":"HS256","kid":"`+kid+`","typ":"at+jwt"}`)) + "." + b64(swapped)
	m := hmac.New(sha256.New, serverPub)
	m.Write([]byte(hs))
	out["HS256 keyed with a public key (A-05)"] = hs + "." + b64(m.Sum(nil))
	return out
}
