package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/httpapi"
)

// traefik is what Traefik's ForwardAuth and Caddy's forward_auth add to the
// original request's headers when they ask /auth/verify.
func traefik(method, uri, accept string) map[string]string {
	return map[string]string{
		"X-Forwarded-Method": method, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.org",
		"X-Forwarded-Uri": uri, "Accept": accept,
	}
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func TestForwardAuth(t *testing.T) {
	e := newEnv(t)
	u := e.register("proxy@example.org")
	tests := []struct {
		name     string
		cookie   string
		header   map[string]string
		status   int
		location string
	}{
		{"nginx, valid", u.accessCookie(), map[string]string{"X-Original-URI": "/app/"}, 200, ""},
		{"nginx, no cookie", "", map[string]string{"X-Original-URI": "/app/", "Accept": browserAccept}, 401, ""},
		{"nginx, bad token", httpapi.AccessCookie + "=x.y.z", map[string]string{"Accept": browserAccept}, 401, ""},
		{"traefik, valid", u.accessCookie(), traefik("GET", "/app/x", browserAccept), 200, ""},
		{"traefik page load", "", traefik("GET", "/app/orders?page=2&sort=desc", browserAccept), 302, "/login?next=%2Fapp%2Forders%3Fpage%3D2%26sort%3Ddesc"},
		{"traefik HEAD", "", traefik("HEAD", "/app/", "text/html"), 302, "/login?next=%2Fapp%2F"},
		{"traefik, bad token", httpapi.AccessCookie + "=x.y.z", traefik("GET", "/app/", browserAccept), 302, "/login?next=%2Fapp%2F"},
		{"traefik fetch", "", traefik("GET", "/app/api", "application/json"), 401, ""},
		{"traefik no accept", "", traefik("GET", "/app/api", ""), 401, ""},
		{"traefik form post", "", traefik("POST", "/app/form", browserAccept), 401, ""},
		{"traefik open redirect", "", traefik("GET", "//evil.example/", browserAccept), 302, "/login"},
		{"traefik absolute uri", "", traefik("GET", "https://evil.example/", browserAccept), 302, "/login"},
		{"missing X-Forwarded-Host", "", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https", "X-Forwarded-Uri": "/app/", "Accept": "text/html"}, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.noFollow("/auth/verify", tt.cookie, tt.header)
			if r.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s", r.StatusCode, tt.status, r.body)
			}
			if got := r.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			wantUser, wantEmail := "", ""
			if tt.status == 200 {
				wantUser, wantEmail = u.id, u.email
			}
			if got := r.Header.Get("X-Auth-User-Id"); got != wantUser {
				t.Errorf("X-Auth-User-Id %q, want %q", got, wantUser)
			}
			if got := r.Header.Get("X-Auth-Email"); got != wantEmail {
				t.Errorf("X-Auth-Email %q, want %q", got, wantEmail)
			}
			if len(r.Cookies()) != 0 {
				t.Errorf("verify set cookies: %v", r.Header["Set-Cookie"])
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
		})
	}
}

func TestForwardAuthConfig(t *testing.T) {
	e := newEnv(t, func(_ *gatehouseConfig, h *httpapiConfig) {
		h.ForwardAuth = httpapi.ForwardAuth{UserHeader: "remote-user", EmailHeader: "Remote-Email", NoLoginRedirect: true}
	})
	u := e.register("headers@example.org")
	r := e.noFollow("/auth/verify", u.accessCookie(), nil)
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("Remote-User") != u.id || r.Header.Get("Remote-Email") != u.email || r.Header.Get("X-Auth-User-Id") != "" {
		t.Errorf("identity headers %v, want Remote-User and Remote-Email only", r.Header)
	}
	r = e.noFollow("/auth/verify", "", traefik("GET", "/app/", browserAccept))
	wantStatus(t, r, http.StatusUnauthorized)

	for _, bad := range []httpapi.ForwardAuth{
		{UserHeader: "X Auth"},
		{UserHeader: "X-Auth:"},
		{EmailHeader: "Set-Cookie"},
		{UserHeader: "location"},
		{UserHeader: "Content-Type"},
		{UserHeader: "X-Forwarded-User"},
		{UserHeader: "Proxy-User"},
		{UserHeader: "X-Same", EmailHeader: "x-same"},
		{UserHeader: strings.Repeat("X", 65)},
	} {
		_, err := httpapi.NewServer(httpapi.Config{Service: e.svc, ForwardAuth: bad})
		if err == nil {
			t.Errorf("NewServer accepted forward-auth headers %+v", bad)
		}
	}
}
