package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/throttle"
	"github.com/gatehouse/gatehouse/token"
)

const (
	testIssuer   = "https://auth.test"
	testAudience = "gatehouse"
	testPassword = "correct horse battery staple"
)

// clock is a settable time source shared by the service and the tests, so
// that expiry can be exercised without sleeping.
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

// env is a Gatehouse server running in-process on a real SQLite store.
type env struct {
	t       *testing.T
	srv     *httptest.Server
	svc     *gatehouse.Service
	db      *sqlite.DB
	keys    *gatehouse.Keyring
	clock   *clock
	testKey *token.Key // a second signing key the tests mint [GB] tokens with
	logs    *bytes.Buffer
	cfg     gatehouse.Config
}

type option func(*gatehouse.Config, *httpapi.Config)

func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	master := bytes.Repeat([]byte{7}, gatehouse.MasterKeySize)
	keys, err := gatehouse.NewKeyring(db, master, token.EdDSA, clk.Now)
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
	logs := &bytes.Buffer{}
	cfg := gatehouse.Config{
		Users: db, Sessions: db, Keys: keys,
		Hasher:  password.NewHasher(password.Options{Params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}}),
		Limiter: throttle.NewMemory(clk.Now),
		Issuer:  testIssuer, Audience: testAudience,
		AccessTTL: 10 * time.Minute, Leeway: 30 * time.Second,
		IdleTimeout: 24 * time.Hour, AbsoluteLifetime: 72 * time.Hour, ReuseGrace: 10 * time.Second,
		PasswordRules:    password.Rules{MinLength: 8, MaxLength: 1024},
		RegistrationOpen: true,
		AccountLimit:     gatehouse.Limit{MaxFailures: 5, Window: 15 * time.Minute},
		IPLimit:          gatehouse.Limit{MaxFailures: 50, Window: 15 * time.Minute},
		RefreshKey:       bytes.Repeat([]byte{9}, 32),
		Now:              clk.Now,
		Logger:           slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil)),

		// The policy's default sign-up limit; a test that signs up more
		// accounts from one address raises it (withRegistrations).
		RegistrationLimit: gatehouse.Limit{MaxFailures: 20, Window: time.Hour},
	}
	hcfg := httpapi.Config{
		Ready: db.Ping, JWKS: keys.PublicJWKs, HSTSMaxAge: 365 * 24 * time.Hour, Now: clk.Now,
		Logger: cfg.Logger,
	}
	for _, o := range opts {
		o(&cfg, &hcfg)
	}
	svc, err := gatehouse.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hcfg.Service = svc
	h, err := httpapi.NewServer(hcfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, svc: svc, db: db, keys: keys, clock: clk, testKey: testKey, logs: logs, cfg: cfg}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// req describes one request. Cookies are sent verbatim in a Cookie header.
type req struct {
	method, path string
	body         any // marshalled to JSON unless a string
	cookie       string
	header       map[string]string
}

type resp struct {
	*http.Response
	body []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	return m
}

// cookie returns the Set-Cookie named name, or nil.
func (r resp) cookie(name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (e *env) do(q req) resp {
	e.t.Helper()
	var body io.Reader
	switch b := q.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		body = bytes.NewReader(js)
	}
	r, err := http.NewRequest(q.method, e.srv.URL+q.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if q.body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.cookie != "" {
		r.Header.Set("Cookie", q.cookie)
	}
	for k, v := range q.header {
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Response: res, body: b}
}

// user is a logged-in client holding its two cookies.
type user struct {
	email, id       string
	access, refresh string
}

func (u *user) cookies() string {
	return httpapi.AccessCookie + "=" + u.access + "; " + httpapi.RefreshCookie + "=" + u.refresh
}

func (u *user) accessCookie() string  { return httpapi.AccessCookie + "=" + u.access }
func (u *user) refreshCookie() string { return httpapi.RefreshCookie + "=" + u.refresh }

// take updates u's cookies from a response.
func (u *user) take(t *testing.T, r resp) {
	t.Helper()
	if c := r.cookie(httpapi.AccessCookie); c != nil {
		u.access = c.Value
	}
	if c := r.cookie(httpapi.RefreshCookie); c != nil {
		u.refresh = c.Value
	}
}

func (e *env) register(email string) *user {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/auth/register", body: map[string]string{"email": email, "password": testPassword}})
	if r.StatusCode != http.StatusCreated {
		e.t.Fatalf("register %s: status %d, body %s", email, r.StatusCode, r.body)
	}
	u := &user{email: email}
	u.take(e.t, r)
	u.id = r.json(e.t)["user"].(map[string]any)["id"].(string)
	if u.access == "" || u.refresh == "" {
		e.t.Fatalf("register %s: cookies not set", email)
	}
	return u
}

func (e *env) login(email, pw string) (*user, resp) {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/auth/login", body: map[string]string{"email": email, "password": pw}})
	u := &user{email: email}
	u.take(e.t, r)
	if r.StatusCode == http.StatusOK {
		u.id = r.json(e.t)["user"].(map[string]any)["id"].(string)
	}
	return u, r
}

// mint signs claims with the test key, for grey-box token cases.
func (e *env) mint(c token.Claims) string {
	e.t.Helper()
	s, err := token.Sign(e.testKey, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// validClaims are claims the server would accept for u's session.
func (e *env) validClaims(u *user) token.Claims {
	e.t.Helper()
	cl, err := (&token.Verifier{Keys: e.keys, Issuer: testIssuer, Audience: testAudience, MaxTTL: 10 * time.Minute, Leeway: 30 * time.Second, Now: e.clock.Now}).Verify(u.access)
	if err != nil {
		e.t.Fatalf("own access token does not verify: %v", err)
	}
	now := e.clock.Now()
	return token.Claims{
		Issuer: testIssuer, Subject: u.id, Audience: []string{testAudience}, ID: token.NewID(),
		SessionID: cl.SessionID, IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(5 * time.Minute),
	}
}

// get calls a protected route with an access cookie value and returns the status.
func (e *env) get(path, cookie string) resp {
	e.t.Helper()
	return e.do(req{method: "GET", path: path, cookie: cookie})
}

func wantStatus(t *testing.T, r resp, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.body)
	}
}

// wantRejected checks the REJECT verdict of SECURITY-CASES.md §0.3: 401, the
// one generic body, and no cookie that issues or extends a credential.
func wantRejected(t *testing.T, r resp) {
	t.Helper()
	wantStatus(t, r, http.StatusUnauthorized)
	if got := string(r.body); !strings.Contains(got, `"urn:gatehouse:problem:unauthenticated"`) {
		t.Fatalf("body %s is not the generic unauthenticated problem", got)
	}
	for _, c := range r.Cookies() {
		if c.Value != "" && c.MaxAge >= 0 {
			t.Fatalf("rejected response sets cookie %s", c.Name)
		}
	}
}

type (
	gatehouseConfig = gatehouse.Config
	httpapiConfig   = httpapi.Config
)
