package verifier_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/throttle"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/verifier"
)

const (
	issuer       = "https://auth.test"
	audience     = "gatehouse"
	accessTTL    = 10 * time.Minute
	leeway       = 30 * time.Second
	feedToken    = "verifier-test-feed-token-0123456789"
	testPassword = "correct horse battery staple"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// gate is a Gatehouse server in-process on SQLite, plus a service that
// protects GET /data with a Verifier pointed at it.
type gate struct {
	t       *testing.T
	clock   *clock
	keys    *gatehouse.Keyring
	svc     *gatehouse.Service
	srv     *httptest.Server // Gatehouse
	api     *httptest.Server // the protected service
	ver     *verifier.Verifier
	testKey *token.Key // published (retired) key the tests mint odd tokens with
	jwksHit atomic.Int64
}

type gateOption func(*gatehouse.KeySchedule, *httpapi.Config, *verifier.Options)

func newGate(t *testing.T, opts ...gateOption) *gate {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	keys, err := gatehouse.NewKeyring(db, bytes.Repeat([]byte{7}, gatehouse.MasterKeySize), token.EdDSA, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.EnsureActive(ctx); err != nil {
		t.Fatal(err)
	}
	testKey, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Add(ctx, testKey, gatehouse.KeyRetired); err != nil {
		t.Fatal(err)
	}
	svc, err := gatehouse.NewService(gatehouse.Config{
		Users: db, Sessions: db, Keys: keys,
		Hasher:  password.NewHasher(password.Options{Params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}}),
		Limiter: throttle.NewMemory(clk.Now),
		Issuer:  issuer, Audience: audience, AccessTTL: accessTTL, Leeway: leeway,
		IdleTimeout: 24 * time.Hour, AbsoluteLifetime: 72 * time.Hour, ReuseGrace: 10 * time.Second,
		PasswordRules:    password.Rules{MinLength: 8, MaxLength: 1024},
		RegistrationOpen: true,
		AccountLimit:     gatehouse.Limit{MaxFailures: 1000, Window: time.Minute},
		IPLimit:          gatehouse.Limit{MaxFailures: 1000, Window: time.Minute},
		RefreshKey:       bytes.Repeat([]byte{9}, 32),
		Now:              clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	sched := gatehouse.KeySchedule{RotationInterval: 720 * time.Hour, AccessTTL: accessTTL, Leeway: leeway, JWKSMaxAge: httpapi.DefaultJWKSMaxAge}
	hcfg := httpapi.Config{
		Service: svc, JWKS: keys.PublicJWKs, Now: clk.Now,
		FeedTokenSHA256: [][sha256.Size]byte{sha256.Sum256([]byte(feedToken))},
		FeedHeartbeat:   time.Second,
	}
	vopts := verifier.Options{
		Issuer: issuer, Audience: audience, MaxTTL: accessTTL, Leeway: leeway,
		ServiceToken: feedToken, Now: clk.Now, PollInterval: time.Hour,
	}
	for _, o := range opts {
		o(&sched, &hcfg, &vopts)
	}
	keys.SetSchedule(sched)
	h, err := httpapi.NewServer(hcfg)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{t: t, clock: clk, keys: keys, svc: svc, testKey: testKey}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/jwks.json" {
			g.jwksHit.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)

	vopts.BaseURL = g.srv.URL
	v, err := verifier.New(ctx, vopts)
	if err != nil {
		t.Fatalf("verifier.New: %v", err)
	}
	t.Cleanup(v.Close)
	g.ver = v
	mux := http.NewServeMux()
	mux.Handle("GET /data", v.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := verifier.FromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", 500)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject, "sid": c.SessionID})
	})))
	g.api = httptest.NewServer(mux)
	t.Cleanup(g.api.Close)
	return g
}

// user is a logged-in client of Gatehouse.
type user struct {
	id, access, refresh string
}

func (u *user) cookie() string { return "__Host-access=" + u.access }

func (g *gate) do(method, url, cookie, body string, header ...string) (*http.Response, string) {
	g.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, _ := http.NewRequest(method, url, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (g *gate) take(u *user, res *http.Response) {
	for _, c := range res.Cookies() {
		switch c.Name {
		case httpapi.AccessCookie:
			u.access = c.Value
		case httpapi.RefreshCookie:
			u.refresh = c.Value
		}
	}
}

func (g *gate) register(email string) *user {
	g.t.Helper()
	res, body := g.do("POST", g.srv.URL+"/auth/register", "", `{"email":"`+email+`","password":"`+testPassword+`"}`)
	if res.StatusCode != http.StatusCreated {
		g.t.Fatalf("register: %d %s", res.StatusCode, body)
	}
	var m struct {
		User struct{ ID string } `json:"user"`
	}
	json.Unmarshal([]byte(body), &m)
	u := &user{id: m.User.ID}
	g.take(u, res)
	return u
}

func (g *gate) refresh(u *user) int {
	g.t.Helper()
	res, _ := g.do("POST", g.srv.URL+"/auth/refresh", "__Host-refresh="+u.refresh, "")
	g.take(u, res)
	return res.StatusCode
}

func (g *gate) logout(u *user) {
	g.t.Helper()
	res, body := g.do("POST", g.srv.URL+"/auth/logout", u.cookie()+"; __Host-refresh="+u.refresh, "")
	if res.StatusCode != http.StatusNoContent {
		g.t.Fatalf("logout: %d %s", res.StatusCode, body)
	}
}

// both returns the status Gatehouse (GET /api/protected) and the verifier
// service (GET /data) give a request with cookie.
func (g *gate) both(cookie string, header ...string) (server, service int) {
	g.t.Helper()
	r1, _ := g.do("GET", g.srv.URL+"/api/protected", cookie, "", header...)
	r2, _ := g.do("GET", g.api.URL+"/data", cookie, "", header...)
	return r1.StatusCode, r2.StatusCode
}
