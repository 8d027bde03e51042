package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/httpapi"
)

func TestRegisterLoginProtectedLogout(t *testing.T) {
	e := newEnv(t)
	u := e.register("Alice@Example.org ")
	if u.email = "alice@example.org"; u.id == "" {
		t.Fatal("no user id")
	}

	r := e.get("/api/protected", u.accessCookie())
	wantStatus(t, r, http.StatusOK)
	if m := r.json(t); m["message"] != "Access granted" || m["user_id"] != u.id {
		t.Fatalf("protected body = %v", m)
	}

	// Emails compare case-insensitively after trimming.
	u2, lr := e.login("  ALICE@example.ORG", testPassword)
	wantStatus(t, lr, http.StatusOK)
	m := lr.json(t)
	if m["user"].(map[string]any)["email"] != "alice@example.org" {
		t.Fatalf("login user = %v", m["user"])
	}
	if m["session"].(map[string]any)["current"] != true {
		t.Fatalf("login session = %v", m["session"])
	}

	r = e.do(req{method: "POST", path: "/auth/logout", cookie: u2.cookies()})
	wantStatus(t, r, http.StatusNoContent)
	for _, name := range []string{httpapi.AccessCookie, httpapi.RefreshCookie} {
		c := r.cookie(name)
		if c == nil || c.MaxAge >= 0 || c.Value != "" || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" {
			t.Fatalf("logout cookie %s = %+v, want cleared with same attributes", name, c)
		}
	}
	wantRejected(t, e.get("/api/protected", u2.accessCookie()))
	// The first session is untouched.
	wantStatus(t, e.get("/api/protected", u.accessCookie()), http.StatusOK)
}

func TestRegisterErrors(t *testing.T) {
	e := newEnv(t)
	e.register("bob@example.org")
	tests := []struct {
		name string
		body any
		want int
	}{
		{"taken", map[string]string{"email": "BOB@example.org", "password": testPassword}, http.StatusConflict},
		{"short password", map[string]string{"email": "c@example.org", "password": "short"}, http.StatusBadRequest},
		{"common password", map[string]string{"email": "c@example.org", "password": "password123"}, http.StatusBadRequest},
		{"product name", map[string]string{"email": "c@example.org", "password": "Gatehouse2026!"}, http.StatusBadRequest},
		{"bad email", map[string]string{"email": "not-an-email", "password": testPassword}, http.StatusBadRequest},
		{"missing password", map[string]string{"email": "c@example.org"}, http.StatusBadRequest},
		{"unknown field", map[string]any{"email": "c@example.org", "password": testPassword, "admin": true}, http.StatusBadRequest},
		{"not json", "{", http.StatusBadRequest},
		{"trailing data", `{"email":"c@example.org","password":"correct horse battery staple"} {}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{method: "POST", path: "/auth/register", body: tt.body})
			wantStatus(t, r, tt.want)
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json; charset=utf-8" {
				t.Fatalf("content type %q, want application/problem+json; charset=utf-8", ct)
			}
			m := r.json(t)
			if m["type"] == nil || m["title"] == nil || m["status"] != float64(tt.want) {
				t.Fatalf("problem body = %v", m)
			}
			if r.cookie(httpapi.AccessCookie) != nil {
				t.Fatal("failed registration set a cookie")
			}
		})
	}
	r := e.do(req{method: "POST", path: "/auth/register", body: map[string]string{"email": "c@example.org", "password": testPassword}, header: map[string]string{"Content-Type": "text/plain"}})
	wantStatus(t, r, http.StatusUnsupportedMediaType)
}

func TestRegistrationClosed(t *testing.T) {
	e := newEnv(t, func(c *gatehouseConfig, _ *httpapiConfig) { c.RegistrationOpen = false })
	r := e.do(req{method: "POST", path: "/auth/register", body: map[string]string{"email": "a@example.org", "password": testPassword}})
	wantStatus(t, r, http.StatusForbidden)
}

func TestMeAndDisplayName(t *testing.T) {
	e := newEnv(t)
	u := e.register("carol@example.org")
	r := e.get("/auth/me", u.accessCookie())
	wantStatus(t, r, http.StatusOK)
	m := r.json(t)
	if m["user"].(map[string]any)["email"] != "carol@example.org" || m["session"].(map[string]any)["current"] != true {
		t.Fatalf("me = %v", m)
	}
	r = e.do(req{method: "PATCH", path: "/auth/me", cookie: u.accessCookie(), body: map[string]string{"display_name": "Carol C."}})
	wantStatus(t, r, http.StatusOK)
	if got := r.json(t)["user"].(map[string]any)["display_name"]; got != "Carol C." {
		t.Fatalf("display_name = %v", got)
	}
	r = e.do(req{method: "PATCH", path: "/auth/me", cookie: u.accessCookie(), body: map[string]string{"display_name": strings.Repeat("x", 101)}})
	wantStatus(t, r, http.StatusBadRequest)
	r = e.do(req{method: "PATCH", path: "/auth/me", cookie: u.accessCookie(), body: map[string]string{"display_name": "a\u202Eb"}})
	wantStatus(t, r, http.StatusBadRequest)
	if got := e.get("/auth/me", u.accessCookie()).json(t)["user"].(map[string]any)["display_name"]; got != "Carol C." {
		t.Fatalf("rejected update changed display_name to %v", got)
	}
}

func TestRefreshRotates(t *testing.T) {
	e := newEnv(t)
	u := e.register("dan@example.org")
	old := *u
	r := e.do(req{method: "POST", path: "/auth/refresh", cookie: u.refreshCookie()})
	wantStatus(t, r, http.StatusOK)
	u.take(t, r)
	if u.refresh == old.refresh || u.access == old.access {
		t.Fatal("refresh did not issue new tokens")
	}
	if r.json(t)["session"] == nil {
		t.Fatal("refresh body lacks session")
	}
	wantStatus(t, e.get("/api/protected", u.accessCookie()), http.StatusOK)
	wantRejected(t, e.do(req{method: "POST", path: "/auth/refresh"}))
}

func TestSessionsListAndRevoke(t *testing.T) {
	e := newEnv(t)
	a := e.register("erin@example.org")
	b, _ := e.login("erin@example.org", testPassword)
	other := e.register("frank@example.org")

	r := e.get("/auth/sessions", a.accessCookie())
	wantStatus(t, r, http.StatusOK)
	list := r.json(t)["sessions"].([]any)
	if len(list) != 2 {
		t.Fatalf("sessions = %d, want 2", len(list))
	}
	var bID string
	current := 0
	for _, s := range list {
		m := s.(map[string]any)
		for _, k := range []string{"id", "created_at", "last_used_at", "expires_at", "user_agent", "current"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("session lacks %s: %v", k, m)
			}
		}
		if m["current"] == true {
			current++
		} else {
			bID = m["id"].(string)
		}
	}
	if current != 1 {
		t.Fatalf("%d sessions marked current, want 1", current)
	}
	// Another user's session is not found, exactly like a missing one.
	otherID := e.get("/auth/sessions", other.accessCookie()).json(t)["sessions"].([]any)[0].(map[string]any)["id"].(string)
	wantStatus(t, e.do(req{method: "DELETE", path: "/auth/sessions/" + otherID, cookie: a.accessCookie()}), http.StatusNotFound)
	wantStatus(t, e.do(req{method: "DELETE", path: "/auth/sessions/nope", cookie: a.accessCookie()}), http.StatusNotFound)
	wantStatus(t, e.get("/api/protected", other.accessCookie()), http.StatusOK)

	wantStatus(t, e.do(req{method: "DELETE", path: "/auth/sessions/" + bID, cookie: a.accessCookie()}), http.StatusNoContent)
	wantRejected(t, e.get("/api/protected", b.accessCookie()))
	wantRejected(t, e.do(req{method: "POST", path: "/auth/refresh", cookie: b.refreshCookie()}))
	wantStatus(t, e.get("/api/protected", a.accessCookie()), http.StatusOK)
}

func TestLogoutAll(t *testing.T) {
	e := newEnv(t)
	a := e.register("gina@example.org")
	b, _ := e.login("gina@example.org", testPassword)
	r := e.do(req{method: "POST", path: "/auth/logout-all", cookie: a.cookies()})
	wantStatus(t, r, http.StatusNoContent)
	for _, u := range []*user{a, b} {
		wantRejected(t, e.get("/api/protected", u.accessCookie()))
		wantRejected(t, e.do(req{method: "POST", path: "/auth/refresh", cookie: u.refreshCookie()}))
	}
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	a := e.register("hank@example.org")
	b, _ := e.login("hank@example.org", testPassword)
	const next = "a much better passphrase 2"

	r := e.do(req{method: "POST", path: "/auth/password", cookie: a.accessCookie(), body: map[string]string{"current_password": "wrong password!", "new_password": next}})
	wantStatus(t, r, http.StatusForbidden)
	r = e.do(req{method: "POST", path: "/auth/password", cookie: a.accessCookie(), body: map[string]string{"current_password": testPassword, "new_password": "short"}})
	wantStatus(t, r, http.StatusBadRequest)
	r = e.do(req{method: "POST", path: "/auth/password", cookie: a.accessCookie(), body: map[string]string{"new_password": next}})
	wantStatus(t, r, http.StatusBadRequest)

	r = e.do(req{method: "POST", path: "/auth/password", cookie: a.accessCookie(), body: map[string]string{"current_password": testPassword, "new_password": next}})
	wantStatus(t, r, http.StatusNoContent)
	oldRefresh := a.refresh
	a.take(t, r)
	if a.refresh == oldRefresh {
		t.Fatal("password change did not issue fresh cookies")
	}
	wantStatus(t, e.get("/api/protected", a.accessCookie()), http.StatusOK)
	// F-12: the other session is over, access and refresh alike.
	wantRejected(t, e.get("/api/protected", b.accessCookie()))
	wantRejected(t, e.do(req{method: "POST", path: "/auth/refresh", cookie: b.refreshCookie()}))

	_, lr := e.login("hank@example.org", testPassword)
	wantStatus(t, lr, http.StatusUnauthorized)
	_, lr = e.login("hank@example.org", next)
	wantStatus(t, lr, http.StatusOK)
}

func TestVerifyForwardAuth(t *testing.T) {
	e := newEnv(t)
	u := e.register("ivy@example.org")
	r := e.get("/auth/verify", u.accessCookie())
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("X-Auth-User-Id") != u.id || r.Header.Get("X-Auth-Email") != "ivy@example.org" {
		t.Fatalf("identity headers = %q %q", r.Header.Get("X-Auth-User-Id"), r.Header.Get("X-Auth-Email"))
	}
	if len(r.Cookies()) != 0 {
		t.Fatal("verify set a cookie")
	}
	wantRejected(t, e.get("/auth/verify", ""))
	e.do(req{method: "POST", path: "/auth/logout", cookie: u.cookies()})
	wantRejected(t, e.get("/auth/verify", u.accessCookie()))
}

func TestJWKSAndHealth(t *testing.T) {
	e := newEnv(t)
	r := e.get("/.well-known/jwks.json", "")
	wantStatus(t, r, http.StatusOK)
	keys := r.json(t)["keys"].([]any)
	if len(keys) < 1 {
		t.Fatal("jwks has no keys")
	}
	for _, k := range keys {
		m := k.(map[string]any)
		if m["kty"] != "OKP" || m["kid"] == nil {
			t.Fatalf("jwk = %v", m)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := m[private]; ok {
				t.Fatalf("jwk leaks private member %q", private)
			}
		}
	}
	wantStatus(t, e.get("/healthz", ""), http.StatusOK)
	wantStatus(t, e.get("/readyz", ""), http.StatusOK)
	e.db.Close()
	wantStatus(t, e.get("/readyz", ""), http.StatusServiceUnavailable)
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t)
	r := e.get("/nope", "")
	wantStatus(t, r, http.StatusNotFound)
	if r.Header.Get("Content-Type") != "application/problem+json; charset=utf-8" {
		t.Fatalf("404 content type = %q", r.Header.Get("Content-Type"))
	}
	r = e.get("/auth/login", "")
	wantStatus(t, r, http.StatusMethodNotAllowed)
	if r.Header.Get("Content-Type") != "application/problem+json; charset=utf-8" {
		t.Fatalf("405 content type = %q", r.Header.Get("Content-Type"))
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t)
	u := e.register("jack@example.org")
	// Past the access TTL and leeway, the access token is dead; the refresh still works.
	e.clock.Advance(10*time.Minute + 31*time.Second)
	wantRejected(t, e.get("/api/protected", u.accessCookie()))
	r := e.do(req{method: "POST", path: "/auth/refresh", cookie: u.refreshCookie()})
	wantStatus(t, r, http.StatusOK)
	u.take(t, r)
	wantStatus(t, e.get("/api/protected", u.accessCookie()), http.StatusOK)
}
