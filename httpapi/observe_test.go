package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/httpapi"
)

type observed struct {
	route  string
	status int
}

type recorder struct {
	mu   sync.Mutex
	seen []observed
}

func (r *recorder) ObserveRequest(route string, status int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, observed{route, status})
}

// TestInstrumentRoutes: requests are observed under their route pattern,
// never their raw path, with the status sent, including requests refused
// before routing; an unknown path is "unmatched", and /metrics is not a
// route of the public API.
func TestInstrumentRoutes(t *testing.T) {
	e := newEnv(t)
	rec := &recorder{}
	srv := httptest.NewServer(httpapi.Instrument(e.srv.Config.Handler, rec))
	t.Cleanup(srv.Close)
	u := e.register("observed@example.org")

	send := func(method, path, cookie string, header map[string]string) {
		t.Helper()
		r, _ := http.NewRequest(method, srv.URL+path, nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		for k, v := range header {
			r.Header.Set(k, v)
		}
		res, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	send("GET", "/auth/me", u.accessCookie(), nil)
	send("DELETE", "/auth/sessions/some-random-id-1", u.accessCookie(), nil)
	send("DELETE", "/auth/sessions/some-random-id-2", u.accessCookie(), nil)
	send("GET", "/no/such/path/x7", "", nil)
	send("GET", "/metrics", "", nil)
	send("POST", "/auth/logout", "", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})

	want := []observed{
		{"GET /auth/me", 200},
		{"DELETE /auth/sessions/{id}", 404},
		{"DELETE /auth/sessions/{id}", 404},
		{"unmatched", 404},
		{"unmatched", 404},
		{"POST /auth/logout", 403},
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) != len(want) {
		t.Fatalf("observed %v, want %v", rec.seen, want)
	}
	for i := range want {
		if rec.seen[i] != want[i] {
			t.Errorf("request %d observed as %v, want %v", i, rec.seen[i], want[i])
		}
	}
}
