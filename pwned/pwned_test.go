package pwned_test

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pwned"
)

// rangeServer is a fake Pwned Passwords range API that knows breached and
// records every request it gets.
type rangeServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // method, URI, headers and body of each request
}

func newRangeServer(t *testing.T, breached ...string) *rangeServer {
	t.Helper()
	buckets := map[string][]string{}
	for _, pw := range breached {
		h := sha1Hex(pw)
		buckets[h[:5]] = append(buckets[h[:5]], h[5:]+":42")
	}
	rs := &rangeServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		rs.requests = append(rs.requests, fmt.Sprintf("%s %s %v %s", r.Method, r.RequestURI, r.Header, body))
		rs.mu.Unlock()
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 {
			http.NotFound(w, r)
			return
		}
		// Like the real API: some unrelated suffixes, padding with a count
		// of zero, CRLF line ends.
		lines := append([]string{"0018A45C4D1DEF81644B54AB7F969B88D65:1", "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2"}, buckets[prefix]...)
		if r.Header.Get("Add-Padding") == "true" {
			lines = append(lines, "011053FD0102E94D6AE2F8B83D76FAF94F6:0")
		}
		fmt.Fprint(w, strings.Join(lines, "\r\n"))
	}))
	t.Cleanup(rs.Close)
	return rs
}

func sha1Hex(s string) string {
	h := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// TestH06Breached asks about a breached and a clean password: the first is
// found, the second not, and what reached the server is the five-digit
// prefix alone, never the password or the rest of its hash.
func TestH06Breached(t *testing.T) {
	const hit, miss = "Tr0ub4dor&3-breached", "a fresh passphrase nobody leaked"
	rs := newRangeServer(t, hit)
	c, err := pwned.New(pwned.Options{BaseURL: rs.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{{hit, true}, {miss, false}} {
		got, err := c.Breached(t.Context(), tt.pw)
		if err != nil || got != tt.want {
			t.Fatalf("Breached(%q) = %v, %v; want %v, nil", tt.pw, got, err, tt.want)
		}
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.requests) != 2 {
		t.Fatalf("%d requests, want 2", len(rs.requests))
	}
	for i, pw := range []string{hit, miss} {
		req, h := rs.requests[i], sha1Hex(pw)
		if !strings.HasPrefix(req, "GET /range/"+h[:5]+" ") {
			t.Errorf("request %q, want GET /range/%s", req, h[:5])
		}
		for _, secret := range []string{pw, h, h[5:], strings.ToLower(h[5:])} {
			if strings.Contains(req, secret) {
				t.Errorf("request %q contains the password or more of its hash than the prefix", req)
			}
		}
		if !strings.Contains(req, "Add-Padding:[true]") {
			t.Errorf("request %q does not ask for padding", req)
		}
	}
}

// TestBreachedPaddingIgnored: a suffix listed with a count of zero is
// padding, not a breach.
func TestBreachedPaddingIgnored(t *testing.T) {
	pw := "padding test password"
	h := sha1Hex(pw)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s:0\n", strings.ToLower(h[5:]))
	}))
	defer srv.Close()
	c, _ := pwned.New(pwned.Options{BaseURL: srv.URL})
	if got, err := c.Breached(t.Context(), pw); err != nil || got {
		t.Fatalf("Breached = %v, %v; want false, nil", got, err)
	}
}

// TestBreachedFailures: every way the server can fail is an error (the
// service then applies its fail-open or fail-closed policy), never a
// silent "not breached".
func TestBreachedFailures(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	handler := func(f func(w http.ResponseWriter)) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { f(w) }))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	for _, tt := range []struct{ name, url string }{
		{"server down", downURL},
		{"status 500", handler(func(w http.ResponseWriter) { w.WriteHeader(500) })},
		{"status 429", handler(func(w http.ResponseWriter) { w.WriteHeader(429) })},
		{"redirect", handler(func(w http.ResponseWriter) {
			w.Header().Set("Location", "https://elsewhere.example/")
			w.WriteHeader(302)
		})},
		{"empty answer", handler(func(w http.ResponseWriter) {})},
		{"not a range", handler(func(w http.ResponseWriter) { fmt.Fprint(w, "<html>captive portal</html>") })},
		{"too slow", handler(func(w http.ResponseWriter) { time.Sleep(300 * time.Millisecond) })},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := pwned.New(pwned.Options{BaseURL: tt.url, Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Breached(t.Context(), "some password")
			if err == nil {
				t.Fatalf("Breached = %v, nil; want an error", got)
			}
			if strings.Contains(err.Error(), "some password") || strings.Contains(err.Error(), sha1Hex("some password")[5:]) {
				t.Fatalf("error %q reveals the password or its hash", err)
			}
		})
	}
}

func TestCheckBaseURL(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{pwned.DefaultBaseURL, true},
		{"https://mirror.internal/pwned/", true},
		{"http://127.0.0.1:8089", true},
		{"http://[::1]:8089", true},
		{"http://localhost:8089", true},
		{"http://mirror.internal", false},
		{"ftp://mirror.internal", false},
		{"api.pwnedpasswords.com", false},
		{"https://user:pw@mirror.internal", false},
		{"https://mirror.internal/?x=1", false},
		{"https://mirror.internal/#x", false},
	} {
		if err := pwned.CheckBaseURL(tt.url); (err == nil) != tt.ok {
			t.Errorf("CheckBaseURL(%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}
