package httpapi_test

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/httpapi"
)

// TestTransport covers which requests may arrive over plain HTTP (J-03, J-09)
// and when forwarded headers are believed (G-05).
func TestTransport(t *testing.T) {
	proxy := netip.MustParsePrefix("10.0.0.0/8")
	e := newEnv(t, func(_ *gatehouseConfig, h *httpapiConfig) { h.TrustedProxies = []netip.Prefix{proxy} })
	h, err := httpapi.NewServer(httpapi.Config{Service: e.svc, TrustedProxies: []netip.Prefix{proxy}, HSTSMaxAge: 365 * 24 * time.Hour, HSTSIncludeSubdomains: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		tls    bool
		header map[string]string
		want   int
		hsts   bool
	}{
		{"loopback plain", "127.0.0.1:5000", false, nil, 200, false},
		{"public plain", "192.0.2.7:5000", false, nil, 403, false},
		{"J-09 public plain claiming https", "192.0.2.7:5000", false, map[string]string{"X-Forwarded-Proto": "https"}, 403, false},
		{"trusted proxy saying https", "10.1.2.3:5000", false, map[string]string{"X-Forwarded-Proto": "https"}, 200, true},
		{"trusted proxy saying http", "10.1.2.3:5000", false, map[string]string{"X-Forwarded-Proto": "http"}, 403, false},
		{"trusted proxy silent", "10.1.2.3:5000", false, nil, 403, false},
		{"public TLS", "192.0.2.7:5000", true, nil, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/.well-known/jwks.json", nil)
			r.RemoteAddr = tt.remote
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if got := w.Header().Get("Strict-Transport-Security") != ""; got != tt.hsts {
				t.Fatalf("HSTS present = %v, want %v", got, tt.hsts)
			}
		})
	}
	// Health probes carry no credentials and answer a load balancer over plain HTTP.
	r := httptest.NewRequest("GET", "/healthz", nil)
	r.RemoteAddr = "10.1.2.3:5000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("healthz from the load balancer: %d", w.Code)
	}
}

func TestRedirectToHTTPS(t *testing.T) {
	h := httpapi.RedirectToHTTPS("8443")
	tests := []struct {
		method, target, host string
		want                 int
		location             string
	}{
		{"GET", "/account?x=1", "example.org", 301, "https://example.org:8443/account?x=1"},
		{"GET", "/", "example.org:80", 301, "https://example.org:8443/"},
		{"HEAD", "/a", "[::1]:80", 301, "https://[::1]:8443/a"},
		{"POST", "/account", "example.org", 403, ""},
		{"GET", "/auth/me", "example.org", 403, ""},
		{"GET", "/api/protected", "example.org", 403, ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		r.Host = tt.host
		r.Header.Set("Cookie", "__Host-access=x")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want || w.Header().Get("Location") != tt.location {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.target, w.Code, w.Header().Get("Location"), tt.want, tt.location)
		}
		if strings.Contains(w.Header().Get("Set-Cookie"), "__Host") {
			t.Errorf("%s %s set a cookie", tt.method, tt.target)
		}
	}
}
