package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/throttle"
	"github.com/gatehouse/gatehouse/token"
)

// The request-path benchmarks docs/PERFORMANCE.md quotes:
//
//	go test -run '^$' -bench 'Protected|RequireAuth' -benchmem ./httpapi
//
// BenchmarkProtected/bare is a handler that writes "ok", driven the same
// way: the difference is what authentication, the security headers and the
// JSON answer cost per request, without the network.

// benchService is a Service on SQLite in a temporary directory with one
// registered user, and that user's access token.
func benchService(b *testing.B) (*gatehouse.Service, string) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "gatehouse.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	keys, err := gatehouse.NewKeyring(db, bytes.Repeat([]byte{7}, gatehouse.MasterKeySize), token.EdDSA, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	if err := keys.EnsureActive(ctx); err != nil {
		b.Fatal(err)
	}
	svc, err := gatehouse.NewService(gatehouse.Config{
		Users: db, Sessions: db, Keys: keys,
		Hasher:  password.NewHasher(password.Options{Params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}}),
		Limiter: throttle.NewMemory(time.Now),
		Issuer:  testIssuer, Audience: testAudience,
		AccessTTL: 10 * time.Minute, Leeway: 30 * time.Second,
		IdleTimeout: 24 * time.Hour, AbsoluteLifetime: 72 * time.Hour,
		PasswordRules:    password.Rules{MinLength: 8, MaxLength: 1024},
		RegistrationOpen: true,
		AccountLimit:     gatehouse.Limit{MaxFailures: 5, Window: 15 * time.Minute},
		IPLimit:          gatehouse.Limit{MaxFailures: 50, Window: 15 * time.Minute},
		RefreshKey:       bytes.Repeat([]byte{9}, 32),
	})
	if err != nil {
		b.Fatal(err)
	}
	_, g, err := svc.Register(ctx, "bench@example.org", testPassword, gatehouse.Client{IP: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	return svc, g.AccessToken
}

// benchWriter is a ResponseWriter that keeps nothing, so that a benchmark
// counts the handler's allocations rather than a recorder's.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }

// serveLoop runs h on r until the benchmark ends and checks every answer is 200.
func serveLoop(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.status = http.StatusOK
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

func protectedRequest(access string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/protected", nil)
	r.RemoteAddr = "127.0.0.1:40000" // plain HTTP is served on loopback only
	r.Header.Set("Cookie", httpapi.AccessCookie+"="+access)
	return r
}

// BenchmarkProtected is GET /api/protected through the whole server
// handler (panic recovery, security headers, transport rule, CSRF, routing,
// RequireAuth, the JSON answer) with a token the cache has seen: the hit path.
func BenchmarkProtected(b *testing.B) {
	svc, access := benchService(b)
	h, err := httpapi.NewServer(httpapi.Config{Service: svc})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("hit", func(b *testing.B) { serveLoop(b, h, protectedRequest(access)) })
	b.Run("bare", func(b *testing.B) {
		bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
		serveLoop(b, bare, protectedRequest(access))
	})
}

// BenchmarkRequireAuth is the middleware alone, around a handler that does
// nothing, with a cached token.
func BenchmarkRequireAuth(b *testing.B) {
	svc, access := benchService(b)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := httpapi.Principal(r); !ok {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	serveLoop(b, httpapi.RequireAuth(svc)(next), protectedRequest(access))
}
