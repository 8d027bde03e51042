package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
)

// The tests in this file hold the caches of the request path (token.Cache
// for verified tokens, the alive-session cache and the in-memory
// revocation set) to the rule that makes them safe: a cache may only save
// work, never change an answer. Each warms the caches with a token, changes
// the world (revoke, expire, tamper, disable, drop the key) and checks that
// the very next request over HTTP gets the REJECT verdict.

// warm sends u's access cookie a few times, so that the token is in
// token.Cache and the session in the alive cache, and checks it is served.
func (e *env) warm(t *testing.T, u *user) {
	t.Helper()
	for range 3 {
		wantStatus(t, e.get("/api/protected", u.accessCookie()), http.StatusOK)
	}
}

func TestCachedTokenRevoked(t *testing.T) {
	tests := []struct {
		name   string
		revoke func(t *testing.T, e *env, u, other *user)
	}{
		{"logout", func(t *testing.T, e *env, u, _ *user) {
			wantStatus(t, e.do(req{method: "POST", path: "/auth/logout", cookie: u.cookies()}), http.StatusNoContent)
		}},
		{"logout-all from another session", func(t *testing.T, e *env, _, other *user) {
			wantStatus(t, e.do(req{method: "POST", path: "/auth/logout-all", cookie: other.accessCookie()}), http.StatusNoContent)
		}},
		{"session revoked from another session", func(t *testing.T, e *env, u, other *user) {
			sid := sessionOf(t, u.access)
			wantStatus(t, e.do(req{method: "DELETE", path: "/auth/sessions/" + sid, cookie: other.accessCookie()}), http.StatusNoContent)
		}},
		{"password changed in another session", func(t *testing.T, e *env, _, other *user) {
			wantStatus(t, e.do(req{method: "POST", path: "/auth/password", cookie: other.accessCookie(),
				body: map[string]string{"current_password": testPassword, "new_password": "an entirely new passphrase"}}), http.StatusNoContent)
		}},
		{"user disabled", func(t *testing.T, e *env, u, _ *user) {
			if err := e.svc.DisableUser(t.Context(), u.id); err != nil {
				t.Fatal(err)
			}
		}},
		{"refresh token reused", func(t *testing.T, e *env, u, _ *user) {
			old := u.refreshCookie()
			r := postRefresh(e, old)
			wantStatus(t, r, http.StatusOK)
			e.clock.Advance(time.Minute) // past the reuse grace
			wantRejected(t, postRefresh(e, old))
		}},
		{"revoked by another instance", func(t *testing.T, e *env, u, _ *user) {
			// Another instance ends the session in the store; this one
			// learns of it at its next sync, not through its own memory.
			now := e.clock.Now()
			if err := e.db.RevokeSession(t.Context(), sessionOf(t, u.access), gatehouse.ReasonLogout, now); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.SyncRevocations(t.Context(), now.Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			u := e.register("rita@example.org")
			other, lr := e.login("rita@example.org", testPassword)
			wantStatus(t, lr, http.StatusOK)
			e.warm(t, u)
			tt.revoke(t, e, u, other)
			for range 2 {
				e.wantTokenRejected(t, u.access, nil)
			}
		})
	}
}

func TestCachedTokenExpired(t *testing.T) {
	e := newEnv(t)
	u := e.register("sam@example.org")
	exp := expiryOf(t, u.access)
	e.warm(t, u)
	// Still inside the leeway after exp: the positive control.
	e.clock.Advance(exp.Sub(e.clock.Now()) + e.cfg.Leeway - time.Second)
	wantStatus(t, e.get("/api/protected", u.accessCookie()), http.StatusOK)
	e.clock.Advance(2 * time.Second)
	for range 2 {
		e.wantTokenRejected(t, u.access, nil)
	}
}

func TestCachedTokenTampered(t *testing.T) {
	e := newEnv(t)
	u := e.register("tess@example.org")
	victim := e.register("uma@example.org")
	e.warm(t, u)
	e.warm(t, victim)
	parts := strings.Split(u.access, ".")

	// The payload made to name another user, its signature kept.
	var claims map[string]any
	if err := json.Unmarshal(mustB64(t, parts[1]), &claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = victim.id
	pl, _ := json.Marshal(claims)
	swapped := parts[0] + "." + base64.RawURLEncoding.EncodeToString(pl) + "." + parts[2]

	tampered := map[string]string{
		"signature bit flipped":   parts[0] + "." + parts[1] + "." + flipChar(parts[2], len(parts[2])/2),
		"signature truncated":     parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4],
		"payload swapped":         swapped,
		"payload byte flipped":    parts[0] + "." + flipChar(parts[1], len(parts[1])/2) + "." + parts[2],
		"header byte flipped":     flipChar(parts[0], 2) + "." + parts[1] + "." + parts[2],
		"other token's signature": parts[0] + "." + parts[1] + "." + strings.Split(victim.access, ".")[2],
		"character appended":      u.access + "A",
		"last character changed":  u.access[:len(u.access)-1] + flipChar(u.access[len(u.access)-1:], 0),
		"character prepended":     "e" + u.access,
	}
	for name, tok := range tampered {
		t.Run(name, func(t *testing.T) {
			if tok == u.access {
				t.Fatal("tampering left the token unchanged")
			}
			e.wantTokenRejected(t, tok, u) // §0.3a: the untouched token still works
		})
	}
}

func TestCachedTokenKeyRemoved(t *testing.T) {
	e := newEnv(t)
	u := e.register("vera@example.org")
	// A token signed by the (retired) test key, accepted and cached.
	tok := e.mint(e.validClaims(u))
	for range 3 {
		wantStatus(t, e.get("/api/protected", httpapi.AccessCookie+"="+tok), http.StatusOK)
	}
	if err := e.db.DeleteKey(t.Context(), e.testKey.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.wantTokenRejected(t, tok, u)
}

// flipChar changes the character at i of a base64url string to another one
// of the alphabet.
func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sessionOf returns the sid claim of an access token.
func sessionOf(t *testing.T, access string) string {
	t.Helper()
	sid, _ := payloadOf(t, access)["sid"].(string)
	if sid == "" {
		t.Fatal("token has no sid")
	}
	return sid
}

// expiryOf returns the exp claim of an access token.
func expiryOf(t *testing.T, access string) time.Time {
	t.Helper()
	exp, ok := payloadOf(t, access)["exp"].(float64)
	if !ok {
		t.Fatal("token has no exp")
	}
	return time.Unix(int64(exp), 0)
}
