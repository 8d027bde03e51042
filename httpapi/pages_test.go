package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/web"
)

func TestPages(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/login", "/signup", "/logout", "/login?next=%2Fapp%2Forders%3Fpage%3D2"} {
		r := e.get(path, "")
		wantStatus(t, r, http.StatusOK)
		for k, want := range map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Content-Security-Policy": web.CSP,
			"Cache-Control":           "no-store",
			"X-Frame-Options":         "DENY",
			"X-Content-Type-Options":  "nosniff",
		} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
	// The API keeps its own CSP.
	if got := e.get("/auth/me", "").Header.Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'none'; frame-ancestors 'none'") {
		t.Errorf("API CSP = %q", got)
	}
	r := e.do(req{method: "HEAD", path: "/login"})
	wantStatus(t, r, http.StatusOK)
	r = e.do(req{method: "POST", path: "/login", body: map[string]string{"email": "a@example.org"}})
	wantStatus(t, r, http.StatusMethodNotAllowed)
}

func TestPageRedirects(t *testing.T) {
	e := newEnv(t)
	u := e.register("pages@example.org")
	tests := []struct {
		path, cookie, want string
	}{
		{"/", "", "/login"},
		{"/", u.accessCookie(), "/account"},
		{"/", u.refreshCookie(), "/account"},
		{"/account", "", "/login?next=%2Faccount"},
		{"/account", "__host-access=x; access=y", "/login?next=%2Faccount"},
		{"/account", u.accessCookie(), ""},
		{"/account", u.refreshCookie(), ""}, // the page refreshes the expired access token
		{"/login?next=/account&next=//evil.example", "", "/login"},
		{"/signup?next=", "", "/signup"},
		{"/signup?next=%2Fapp", "", ""},
	}
	for _, tt := range tests {
		r := e.noFollow(tt.path, tt.cookie, nil)
		if tt.want == "" {
			wantStatus(t, r, http.StatusOK)
			continue
		}
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != tt.want {
			t.Errorf("GET %s (cookie %.20q): %d Location %q, want 303 %q", tt.path, tt.cookie, r.StatusCode, r.Header.Get("Location"), tt.want)
		}
		if r.cookie("__Host-access") != nil || r.cookie("__Host-refresh") != nil {
			t.Errorf("GET %s set a cookie", tt.path)
		}
	}
}

// g10 are the open-redirect payloads of SECURITY-CASES.md G-10.
var g10 = []string{
	"https://evil.example", "//evil.example", `/\evil.example`, `\/evil.example`,
	"/%2F%2Fevil.example", "%2F%2Fevil.example", "https:evil.example", "/%09/evil.example",
	"https://app.example.com@evil.example", "https://app.example.com.evil.example",
	"javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
}

// TestLoginNextG10 sends every G-10 payload as ?next= to the login and
// sign-up pages: none reaches the page, whose script would navigate there.
func TestLoginNextG10(t *testing.T) {
	e := newEnv(t)
	for _, page := range []string{"/login", "/signup"} {
		for _, p := range g10 {
			r := e.noFollow(page+"?next="+url.QueryEscape(p), "", nil)
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != page {
				t.Errorf("GET %s?next=%q: %d Location %q, want 303 %s", page, p, r.StatusCode, r.Header.Get("Location"), page)
			}
		}
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t)
	body := string(e.get("/login", "").body)
	i := strings.Index(body, "/assets/v-")
	if i < 0 {
		t.Fatalf("login page loads no versioned asset: %s", body)
	}
	version := strings.SplitN(body[i+len("/assets/"):], "/", 2)[0]
	tests := []struct {
		path, ctype, cache string
	}{
		{"/assets/" + version + "/gatehouse.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/assets/" + version + "/gatehouse.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/assets/" + version + "/icon.svg", "image/svg+xml", "public, max-age=31536000, immutable"},
		{"/assets/gatehouse.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/assets/v-0123456789ab/login.js", "text/javascript; charset=utf-8", "no-cache"},
	}
	for _, tt := range tests {
		r := e.get(tt.path, "")
		wantStatus(t, r, http.StatusOK)
		if got := r.Header.Get("Content-Type"); got != tt.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tt.path, got, tt.ctype)
		}
		if got := r.Header.Get("Cache-Control"); got != tt.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tt.path, got, tt.cache)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", tt.path)
		}
	}
	for _, path := range []string{"/assets/nope.js", "/assets/../server.go", "/assets/%2e%2e/web.go", "/assets/a/b/c.js", "/assets/"} {
		r := e.get(path, "")
		if r.StatusCode != http.StatusNotFound || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("GET %s: %d %s, want 404 problem", path, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
}

// noFollow makes a GET and returns the response itself, not where a
// redirect leads.
func (e *env) noFollow(path, cookie string, header map[string]string) resp {
	e.t.Helper()
	r, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Response: res, body: b}
}
