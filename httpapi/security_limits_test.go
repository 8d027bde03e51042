package httpapi_test

// Limits and response-header cases of SECURITY-CASES.md: I-01, I-02, I-03
// and I-05 (hostile sizes cost nothing and never reach the password hasher),
// and J-04, J-05, J-06 and J-11 (what every response says, and does not).
// The size cases run against httpapi.NewHTTPServer, the server a public
// listener uses, because httptest's has none of its limits.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/token"
)

// productionServer serves e's handler through httpapi.NewHTTPServer on a
// loopback port and returns its address.
func productionServer(t *testing.T, e *env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewHTTPServer(ln.Addr().String(), e.srv.Config.Handler)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// exchange is the outcome of one request written by hand on a fresh
// connection.
type exchange struct {
	res     *http.Response
	body    []byte
	took    time.Duration // until the whole response was read
	written int64         // request bytes the server let the client write
	closed  bool          // the server closed the connection after answering
}

type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// rawExchange writes head and then body on a new connection to addr, from a
// goroutine, so that a server that answers early (or stops reading) is seen
// doing so; it reads one response, then waits a few seconds for the server
// to close the connection.
func rawExchange(t *testing.T, addr, head string, body func(io.Writer) error) exchange {
	t.Helper()
	return rawExchangeWait(t, addr, head, body, 5*time.Second)
}

// rawExchangeWait is rawExchange waiting at most wait for the close; with
// wait 0 it does not wait (closed is then meaningless).
func rawExchangeWait(t *testing.T, addr, head string, body func(io.Writer) error, wait time.Duration) exchange {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	cw := &countingWriter{w: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := io.WriteString(cw, head); err != nil || body == nil {
			return
		}
		body(cw)
	}()
	start := time.Now()
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	x := exchange{res: res, body: b, took: time.Since(start)}
	if wait > 0 {
		conn.SetReadDeadline(time.Now().Add(wait))
		_, err = io.Copy(io.Discard, br)
		var ne net.Error
		x.closed = err == nil || !(errors.As(err, &ne) && ne.Timeout())
	}
	conn.Close()
	<-done
	x.written = cw.n.Load()
	return x
}

// TestI01DotFlood: a cookie of dots, or of "a." pairs, as long as the
// header limit allows, costs no more than any other cookie that size.
func TestI01DotFlood(t *testing.T) {
	e := newEnv(t)
	v := e.register("victim@example.org")
	addr := productionServer(t, e)
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(cookie string) (int, time.Duration, error) {
		r, _ := http.NewRequest("GET", "http://"+addr+"/auth/me", nil)
		r.Header.Set("Cookie", cookie)
		start := time.Now()
		res, err := client.Do(r)
		if err != nil {
			return 0, 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, time.Since(start), nil
	}
	const n = 30000 // the header block stays under MaxHeaderBytes (32 KiB)
	floods := []struct{ name, value string }{
		{"dots", strings.Repeat(".", n)},
		{"a. pairs", strings.Repeat("a.", n/2)},
		{"dots within the cookie cap", strings.Repeat(".", 4000)},
		{"a. pairs within the cookie cap", strings.Repeat("a.", 2000)},
		{"segments within the token cap", strings.Repeat("eyJh.", 800)},
	}
	for _, f := range floods {
		t.Run("I-01/"+f.name, func(t *testing.T) {
			var wg sync.WaitGroup
			var slowest atomic.Int64
			for range 50 {
				wg.Go(func() {
					code, took, err := get(httpapi.AccessCookie + "=" + f.value)
					if err != nil || code != http.StatusUnauthorized {
						t.Errorf("status %d (%v), want 401", code, err)
					}
					for {
						s := slowest.Load()
						if int64(took) <= s || slowest.CompareAndSwap(s, int64(took)) {
							break
						}
					}
				})
			}
			wg.Wait()
			if d := time.Duration(slowest.Load()); d > 5*time.Second {
				t.Errorf("slowest of 50 concurrent floods took %v", d)
			}
		})
	}
	t.Run("I-01/allocation no worse than a harmless cookie", func(t *testing.T) {
		allocated := func(cookie string) uint64 {
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			for range 20 {
				if code, _, err := get(cookie); err != nil || code != http.StatusUnauthorized {
					t.Fatalf("status %d (%v), want 401", code, err)
				}
			}
			runtime.ReadMemStats(&m1)
			return m1.TotalAlloc - m0.TotalAlloc
		}
		harmless := allocated("other=" + strings.Repeat("a", n))
		for _, f := range floods[:2] {
			// strings.Split on 30000 dots alone would allocate ~480 KB per request.
			if got := allocated(httpapi.AccessCookie + "=" + f.value); got > harmless+harmless/2+(2<<20) {
				t.Errorf("%s: 20 requests allocated %d bytes, a harmless cookie of the same size %d", f.name, got, harmless)
			}
		}
	})
	e.wantTokenAccepted(t, v.access, v)
}

// TestI02OversizedHeaders: header blocks over the limit get 431 before any
// handler runs; a token over MAX_TOKEN_LEN is refused even when signed.
func TestI02OversizedHeaders(t *testing.T) {
	e := newEnv(t)
	v := e.register("victim@example.org")
	addr := productionServer(t, e)
	head := func(cookie string) string {
		return "GET /auth/me HTTP/1.1\r\nHost: " + addr + "\r\nCookie: " + cookie + "\r\n\r\n"
	}
	many := func(n, size int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "c%d=%s; ", i, strings.Repeat("v", size))
		}
		return b.String()
	}
	for _, tt := range []struct {
		name   string
		cookie string
		want   int
	}{
		{"2 MiB Cookie header", httpapi.AccessCookie + "=" + strings.Repeat("a", 2<<20), http.StatusRequestHeaderFieldsTooLarge},
		{"300 cookies of 200 bytes", many(300, 200) + v.accessCookie(), http.StatusRequestHeaderFieldsTooLarge},
		{"300 small cookies around a valid token", many(150, 4) + v.accessCookie() + "; " + many(150, 4), http.StatusOK},
	} {
		t.Run("I-02/"+tt.name, func(t *testing.T) {
			wait := 5 * time.Second
			if tt.want == http.StatusOK {
				wait = 0 // a kept-alive connection is fine
			}
			x := rawExchangeWait(t, addr, head(tt.cookie), nil, wait)
			if x.res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", x.res.StatusCode, tt.want)
			}
			if tt.want == http.StatusRequestHeaderFieldsTooLarge && !x.closed {
				t.Error("connection left open after 431")
			}
		})
	}

	// A token exactly at the length limit verifies; one byte over does not,
	// though it is correctly signed.
	sized := func(total int) string {
		t.Helper()
		hdr := e.testHeader().String()
		pl := e.claimsOf(t, v).set("pad", `""`).String()
		fixed := len(joseB64([]byte(hdr))) + 1 + 1 + 86 // dots and the Ed25519 signature
		for pad := 0; pad < total; pad++ {
			if n := fixed + (4*(len(pl)+pad)+2)/3; n == total {
				padded := e.claimsOf(t, v).set("pad", joseStr(strings.Repeat("p", pad))).String()
				tok := forgeJWS(hdr, padded, edSigner(e.testKey.Private.(ed25519.PrivateKey)))
				if len(tok) != total {
					t.Fatalf("built a %d-byte token, want %d", len(tok), total)
				}
				return tok
			} else if n > total {
				break
			}
		}
		return ""
	}
	var at, over string
	for _, n := range []int{token.DefaultMaxLength, token.DefaultMaxLength - 1} {
		if at = sized(n); at != "" {
			break
		}
	}
	for _, n := range []int{token.DefaultMaxLength + 1, token.DefaultMaxLength + 2} {
		if over = sized(n); over != "" {
			break
		}
	}
	if at == "" || over == "" {
		t.Fatal("could not build tokens at the length limit")
	}
	t.Run("I-02/signed token at the length limit (control)", func(t *testing.T) { e.wantTokenAccepted(t, at, v) })
	t.Run("I-02/signed token over the length limit", func(t *testing.T) { e.wantTokenRejected(t, over, v) })
}

// bigJSON streams a login body of size bytes: one huge password.
func bigJSON(size int64) (int64, func(io.Writer) error) {
	const prefix, suffix = `{"email":"big@example.org","password":"`, `"}`
	return int64(len(prefix)) + size + int64(len(suffix)), func(w io.Writer) error {
		if _, err := io.WriteString(w, prefix); err != nil {
			return err
		}
		chunk := bytes.Repeat([]byte("a"), 32<<10)
		for sent := int64(0); sent < size; sent += int64(len(chunk)) {
			if _, err := w.Write(chunk[:min(int64(len(chunk)), size-sent)]); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, suffix)
		return err
	}
}

// TestI03OversizedBody: a 100 MB body is cut off after MAX_BODY with 413,
// with or without a length, and the connection is closed, not left hanging.
func TestI03OversizedBody(t *testing.T) {
	log := &auditLog{}
	e := newEnv(t, log.install)
	addr := productionServer(t, e)
	const size = 100 << 20
	for _, path := range []string{"/auth/login", "/auth/register"} {
		t.Run("I-03/"+path+" with Content-Length", func(t *testing.T) {
			n, body := bigJSON(size)
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, addr, n)
			wantCutOff(t, rawExchange(t, addr, head, body), http.StatusRequestEntityTooLarge)
		})
		t.Run("I-03/"+path+" chunked", func(t *testing.T) {
			_, body := bigJSON(size)
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", path, addr)
			chunked := func(w io.Writer) error {
				cw := httputil.NewChunkedWriter(w)
				if err := body(cw); err != nil {
					return err
				}
				if err := cw.Close(); err != nil {
					return err
				}
				_, err := io.WriteString(w, "\r\n")
				return err
			}
			wantCutOff(t, rawExchange(t, addr, head, chunked), http.StatusRequestEntityTooLarge)
		})
		t.Run("I-03/"+path+" with a false small Content-Length", func(t *testing.T) {
			_, body := bigJSON(1 << 20)
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n", path, addr)
			x := rawExchange(t, addr, head, body)
			if c := x.res.StatusCode; c != http.StatusBadRequest && c != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 400 or 413", c)
			}
			if !x.closed {
				t.Error("connection left open after the smuggled remainder")
			}
		})
	}
	if ev := log.events(0); len(ev) != 0 {
		t.Errorf("oversized bodies reached the service: events %v", ev)
	}
}

func wantCutOff(t *testing.T, x exchange, status int) {
	t.Helper()
	if x.res.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", x.res.StatusCode, status, x.body)
	}
	if x.took > 10*time.Second {
		t.Errorf("answer took %v", x.took)
	}
	if !x.closed {
		t.Error("the server kept the connection open after refusing the body")
	}
	if x.written > 50<<20 {
		t.Errorf("the server let the client write %d bytes", x.written)
	}
}

// TestI05LongPassword: an over-long password is refused before any hashing.
// The hasher gets a single slot and no queue, and a slow hash holds that
// slot while the probes run: any attempt to hash would come back 503.
func TestI05LongPassword(t *testing.T) {
	hasher := password.NewHasher(password.Options{
		Params:        password.Params{MemoryKiB: 16 << 10, Iterations: 32, Parallelism: 1},
		MaxConcurrent: 1, MaxQueue: -1,
	})
	log := &auditLog{}
	e := newEnv(t, log.install, func(c *gatehouseConfig, _ *httpapiConfig) { c.Hasher = hasher })
	ctx := context.Background()
	const email = "long.password@example.org"
	maxLen := e.cfg.PasswordRules.MaxLength
	// Bodies are encoded up front, so the probes are quick to send.
	body := func(email string, pwLen int) string {
		b, _ := json.Marshal(map[string]string{"email": email, "password": strings.Repeat("a", pwLen)})
		return string(b)
	}
	probes := []struct {
		name string
		q    req
	}{
		{"login 1 MiB", req{method: "POST", path: "/auth/login", body: body(email, 1<<20)}},
		{"register 1 MiB", req{method: "POST", path: "/auth/register", body: body("new@example.org", 1<<20)}},
		{"login PW_MAX+1", req{method: "POST", path: "/auth/login", body: body(email, maxLen+1)}},
		{"register PW_MAX+1", req{method: "POST", path: "/auth/register", body: body("new@example.org", maxLen+1)}},
	}
	normal := req{method: "POST", path: "/auth/login", body: body(email, 20)}

	held := make(chan struct{})
	go func() {
		defer close(held)
		hasher.Hash(ctx, []byte("holding the only slot"))
	}()
	for deadline := time.Now().Add(5 * time.Second); hasher.Stats().Running == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the holding hash never started")
		}
		time.Sleep(time.Millisecond)
	}
	mark := log.mark()
	wantStatus(t, e.do(normal), http.StatusServiceUnavailable) // the probe can see hashing
	for _, p := range probes {
		t.Run("I-05/"+p.name, func(t *testing.T) {
			start := time.Now()
			r := e.do(p.q)
			if c := r.StatusCode; c != http.StatusBadRequest && c != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 400 or 413 before hashing; body %s", c, r.body)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusal took %v", d)
			}
		})
	}
	wantStatus(t, e.do(normal), http.StatusServiceUnavailable)
	if hasher.Stats().Running != 1 {
		t.Fatal("the holding hash ended during the probes; the check proves nothing")
	}
	<-held
	if ev := log.events(mark); len(ev) != 0 {
		t.Errorf("over-long passwords were processed: events %v", ev)
	}
	// They do not count as failed attempts either: far more of them than the
	// account limit allows all get the same 400, never 429.
	for i := range 2 * e.cfg.AccountLimit.MaxFailures {
		if r := e.do(probes[2].q); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("I-05: over-long attempt %d: status %d, want 400", i+1, r.StatusCode)
		}
	}
}

// TestJ04NoStore: responses that carry or describe credentials are never
// cached.
func TestJ04NoStore(t *testing.T) {
	e := newEnv(t)
	u := e.register("cache@example.org")
	l, login := e.login(u.email, testPassword)
	_, badLogin := e.login(u.email, "not the password at all")
	refresh := e.do(req{method: "POST", path: "/auth/refresh", cookie: l.refreshCookie()})
	l.take(t, refresh)
	for _, tt := range []struct {
		name string
		r    resp
	}{
		{"login", login},
		{"failed login", badLogin},
		{"refresh", refresh},
		{"failed refresh", e.do(req{method: "POST", path: "/auth/refresh", cookie: httpapi.RefreshCookie + "=nope"})},
		{"me", e.get("/auth/me", l.accessCookie())},
		{"me, HEAD", e.do(req{method: "HEAD", path: "/auth/me", cookie: l.accessCookie()})},
		{"me unauthenticated", e.get("/auth/me", "")},
		{"sessions", e.get("/auth/sessions", l.accessCookie())},
		{"verify", e.get("/auth/verify", l.accessCookie())},
		{"protected", e.get("/api/protected", l.accessCookie())},
		{"logout", e.do(req{method: "POST", path: "/auth/logout", cookie: l.cookies()})},
	} {
		t.Run("J-04/"+tt.name, func(t *testing.T) {
			if cc := tt.r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			for _, h := range []string{"ETag", "Last-Modified"} {
				if v := tt.r.Header.Get(h); v != "" {
					t.Errorf("%s %q on a credential response", h, v)
				}
			}
		})
	}
}

// hardeningRequests is a spread of requests that between them produce every
// kind of response the API gives: successes, every error status, the mux's
// own 404 and 405, and bodies refused before a handler runs.
func hardeningRequests(t *testing.T, e *env) []req {
	t.Helper()
	u := e.register("headers@example.org")
	l, _ := e.login(u.email, testPassword)
	for range e.cfg.AccountLimit.MaxFailures {
		e.login("throttled@example.org", "wrong password here")
	}
	big := map[string]string{"email": "x@example.org", "password": strings.Repeat("a", 20<<10)}
	return []req{
		{method: "POST", path: "/auth/register", body: map[string]string{"email": "new.headers@example.org", "password": testPassword}},
		{method: "POST", path: "/auth/register", body: map[string]string{"email": u.email, "password": testPassword}},
		{method: "POST", path: "/auth/register", body: map[string]string{"email": "weak@example.org", "password": "password"}},
		{method: "POST", path: "/auth/login", body: map[string]string{"email": u.email, "password": testPassword}},
		{method: "POST", path: "/auth/login", body: map[string]string{"email": u.email, "password": "wrong password here"}},
		{method: "POST", path: "/auth/login", body: map[string]string{"email": "throttled@example.org", "password": "wrong password here"}},
		{method: "POST", path: "/auth/login", body: big},
		{method: "POST", path: "/auth/login", body: "{"},
		{method: "POST", path: "/auth/login", body: `{"email":"a"}`, header: map[string]string{"Content-Type": "text/plain"}},
		{method: "POST", path: "/auth/login", body: map[string]string{"email": u.email, "password": testPassword}, header: map[string]string{"Origin": "https://evil.example"}},
		{method: "POST", path: "/auth/refresh", cookie: l.refreshCookie()},
		{method: "POST", path: "/auth/refresh"},
		{method: "GET", path: "/auth/me", cookie: u.accessCookie()},
		{method: "HEAD", path: "/auth/me", cookie: u.accessCookie()},
		{method: "GET", path: "/auth/me"},
		{method: "PATCH", path: "/auth/me", cookie: u.accessCookie(), body: map[string]string{"display_name": strings.Repeat("x", 200)}},
		{method: "GET", path: "/auth/sessions", cookie: u.accessCookie()},
		{method: "DELETE", path: "/auth/sessions/unknown", cookie: u.accessCookie()},
		{method: "POST", path: "/auth/password", cookie: u.accessCookie(), body: map[string]string{"current_password": "wrong password here", "new_password": "whatever it is 123"}},
		{method: "GET", path: "/auth/verify", cookie: u.accessCookie()},
		{method: "GET", path: "/auth/verify"},
		{method: "GET", path: "/api/protected", cookie: u.accessCookie()},
		{method: "GET", path: "/.well-known/jwks.json"},
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/readyz"},
		{method: "GET", path: "/nope"},
		{method: "GET", path: "/auth/login"},
		{method: "OPTIONS", path: "/auth/login"},
		{method: "GET", path: "/auth/revocations"},
		{method: "GET", path: "/"},
		{method: "GET", path: "/login"},
		{method: "GET", path: "/login?next=https://evil.example"},
		{method: "GET", path: "/signup"},
		{method: "GET", path: "/account"},
		{method: "GET", path: "/account", cookie: u.accessCookie()},
		{method: "GET", path: "/logout", cookie: u.accessCookie()},
		{method: "GET", path: "/assets/gatehouse.js"},
		{method: "GET", path: "/assets/gatehouse.css"},
		{method: "GET", path: "/assets/icon.svg"},
		{method: "GET", path: "/assets/nope.js"},
		{method: "POST", path: "/auth/logout-all", cookie: l.cookies()},
		{method: "POST", path: "/auth/logout", cookie: u.cookies()},
	}
}

// TestJ05HardeningHeaders: every response, error or not, carries the
// browser hardening headers; every API body says it is UTF-8 JSON, every
// page and script its charset, and pages forbid plugins and <base>.
func TestJ05HardeningHeaders(t *testing.T) {
	e := newEnv(t)
	statuses := map[int]bool{}
	for _, q := range hardeningRequests(t, e) {
		r := e.do(q)
		statuses[r.StatusCode] = true
		t.Run(fmt.Sprintf("J-05/%s %s %d", q.method, q.path, r.StatusCode), func(t *testing.T) {
			h := r.Header
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := h.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q lacks frame-ancestors 'none'", got)
			}
			if got := h.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy %q, want no-referrer", got)
			}
			wantNoCORS(t, r)
			if len(r.body) == 0 && (q.method == "HEAD" || r.StatusCode == http.StatusNoContent) {
				return
			}
			mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
			switch {
			case err != nil:
				t.Errorf("Content-Type %q: %v", h.Get("Content-Type"), err)
			case mt == "image/svg+xml": // XML states its own encoding
			case strings.HasPrefix(q.path, "/auth/") || strings.HasPrefix(q.path, "/api/") || strings.HasPrefix(q.path, "/.well-known/"):
				if (mt != "application/json" && mt != "application/problem+json") || !strings.EqualFold(params["charset"], "utf-8") {
					t.Errorf("Content-Type %q, want JSON with charset=utf-8", h.Get("Content-Type"))
				}
			case !strings.EqualFold(params["charset"], "utf-8"):
				t.Errorf("Content-Type %q lacks charset=utf-8", h.Get("Content-Type"))
			}
			if mt == "text/html" {
				csp := h.Get("Content-Security-Policy")
				if !strings.Contains(csp, "base-uri 'none'") || !(strings.Contains(csp, "object-src 'none'") || strings.Contains(csp, "default-src 'none'")) {
					t.Errorf("page CSP %q, want object-src (or default-src) 'none' and base-uri 'none'", csp)
				}
			}
		})
	}
	for _, s := range []int{200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429} {
		if !statuses[s] {
			t.Errorf("no request produced status %d; the table no longer covers it", s)
		}
	}
}

// leaks are fragments of internal error text that must never reach a client.
var leaks = []string{
	"golang-jwt", "token is malformed", "token is expired", "signature is invalid", "token: invalid", "crypto/",
	"panic", "goroutine", ".go:", "sql", "runtime error", "invalid character", "json:", "http: ",
	"gatehouse: ", "password: ", "argon2", "unexpected EOF", "x509", "stack",
}

// TestJ06ErrorHygiene replays malformed inputs and checks that no answer
// carries internal error text or version banners, and that a panic in a
// handler gives a generic 500 that authenticates nobody.
func TestJ06ErrorHygiene(t *testing.T) {
	spy, log := &storeSpy{}, &auditLog{}
	e := newEnv(t, spy.install, log.install)
	v := e.register("victim@example.org")
	h, p, s := joseParts(t, v.access)
	var responses []resp
	for _, tok := range []string{
		"a.b", "a.b.c.d", "..", h + ".." + s, h + "." + p + ".", h + "." + p + "." + s[:len(s)-4],
		joseB64([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + p + ".", joseB64([]byte(`{"alg":"HS256","typ":"at+jwt","kid":"../../dev/null"}`)) + "." + p + "." + s,
		joseB64([]byte("{")) + "." + p + "." + s, joseB64([]byte(`{"alg":"EdDSA","typ":"at+jwt","kid":"x"}`)) + "." + joseB64([]byte("[1]")) + "." + s,
		strings.Repeat(".", 4000), strings.Repeat("a", 5000), "%7F%01", "%00", "'; DROP TABLE users; --",
		e.signTestKey(e.testHeader(), e.claimsOf(t, v).set("exp", "1e300")),
		e.signTestKey(e.testHeader(), e.claimsOf(t, v).set("sid", "12345")),
	} {
		for _, path := range tokenProbes {
			responses = append(responses, e.get(path, httpapi.AccessCookie+"="+tok))
		}
		responses = append(responses, e.do(req{method: "POST", path: "/auth/refresh", cookie: httpapi.RefreshCookie + "=" + tok}))
		responses = append(responses, e.do(req{method: "POST", path: "/auth/logout", cookie: httpapi.AccessCookie + "=" + tok + "; " + httpapi.RefreshCookie + "=" + tok}))
	}
	for _, body := range []string{
		"{", "[]", "null", `{"email":1,"password":2}`, `{"email":"a@b.c","password":"x","admin":true}`, "{\"email\":\"\xff\xfe\",\"password\":\"x\"}",
		`{"email":"a@b.c","password":"x"}{"email":"b"}`, strings.Repeat("[", 10000), `{"email":"a@b.c","password":1e999}`,
	} {
		for _, path := range []string{"/auth/login", "/auth/register"} {
			responses = append(responses, e.do(req{method: "POST", path: path, body: body}))
		}
		responses = append(responses, e.do(req{method: "PATCH", path: "/auth/me", cookie: v.accessCookie(), body: body}))
		responses = append(responses, e.do(req{method: "POST", path: "/auth/password", cookie: v.accessCookie(), body: body}))
	}
	for _, ct := range []string{"text/plain", "application/json; charset=\"", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		responses = append(responses, e.do(req{method: "POST", path: "/auth/login", body: `{"email":"a@b.c","password":"x"}`, header: map[string]string{"Content-Type": ct}}))
	}
	for _, id := range []string{"%00", strings.Repeat("x", 100), "..%2F..%2Fetc%2Fpasswd", "'%20OR%201=1"} {
		responses = append(responses, e.do(req{method: "DELETE", path: "/auth/sessions/" + id, cookie: v.accessCookie()}))
	}

	// A panic while serving: the user's lookup blows up.
	spy.panicFor(v.id)
	panicked := e.get("/auth/me", v.accessCookie())
	responses = append(responses, panicked)
	spy.panicFor("")

	for _, r := range responses {
		wantNoLeak(t, r)
	}
	t.Run("J-06/panic gives a generic 500", func(t *testing.T) {
		wantStatus(t, panicked, http.StatusInternalServerError)
		if bytes.Contains(panicked.body, []byte(v.id)) || bytes.Contains(panicked.body, []byte(v.email)) {
			t.Fatalf("the 500 body %s carries the user", panicked.body)
		}
		if len(panicked.Header.Values("Set-Cookie")) != 0 {
			t.Fatal("the 500 sets cookies")
		}
		if !strings.Contains(log.since(0), `"msg":"panic"`) {
			t.Error("the panic was not logged")
		}
	})
	t.Run("J-06/a panic during authentication authenticates nobody", func(t *testing.T) {
		// A session this instance has not seen makes it ask the store,
		// which panics: the request must fail, not pass.
		other, err := gatehouse.NewService(e.cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, g, err := other.Login(context.Background(), v.email, testPassword, gatehouse.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		spy.panicFor(v.id)
		defer spy.panicFor("")
		for _, path := range tokenProbes {
			r := e.get(path, httpapi.AccessCookie+"="+g.AccessToken)
			if r.StatusCode != http.StatusInternalServerError && r.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s: status %d during a panic, want 500 or 401", path, r.StatusCode)
			}
			if r.Header.Get("X-Auth-User-Id") != "" {
				t.Errorf("GET %s: identity header during a panic", path)
			}
			wantNoLeak(t, r)
		}
	})
	e.wantTokenAccepted(t, v.access, v)
}

func wantNoLeak(t *testing.T, r resp) {
	t.Helper()
	where := r.Request.Method + " " + r.Request.URL.Path
	text := strings.ToLower(string(r.body))
	for k, vs := range r.Header {
		if k == "Set-Cookie" || k == "Content-Security-Policy" {
			continue
		}
		text += "\n" + strings.ToLower(k+": "+strings.Join(vs, ","))
	}
	for _, l := range leaks {
		if strings.Contains(text, strings.ToLower(l)) {
			t.Errorf("J-06: %s (%d) leaks %q: %s", where, r.StatusCode, l, r.body)
		}
	}
	for _, h := range []string{"Server", "X-Powered-By", "X-AspNet-Version", "Via"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("J-06: %s: %s: %q", where, h, v)
		}
	}
}

// TestJ11NoDebugEndpoints: nothing a debug import or a deployment slip
// would expose answers.
func TestJ11NoDebugEndpoints(t *testing.T) {
	e := newEnv(t)
	addr := productionServer(t, e)
	for _, path := range []string{
		"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=2", "/debug/vars",
		"/metrics", "/.git/HEAD", "/.git/config", "/.env", "/swagger", "/swagger/index.html", "/openapi.json", "/server-status",
	} {
		t.Run("J-11/"+path, func(t *testing.T) {
			wantStatus(t, e.get(path, ""), http.StatusNotFound)
			res, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("production server: status %d, want 404", res.StatusCode)
			}
		})
	}
}
