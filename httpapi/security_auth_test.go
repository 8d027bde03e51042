package httpapi_test

// Groups G and H of SECURITY-CASES.md over HTTP (authentication, throttling,
// enumeration, logging; password policy), and I-04, I-09 and I-10 (hashing
// capacity, refresh endpoint abuse, registration flooding).

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/password"
)

// postLogin calls POST /auth/login with extra request headers.
func postLogin(e *env, email, pw string, header map[string]string) resp {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/auth/login", body: credsBody(email, pw), header: header})
}

// spoofedClientHeaders are the client-address headers an attacker rotates
// to look like many clients (G-04, G-05); none comes from a trusted proxy.
func spoofedClientHeaders(i int) map[string]string {
	a := fmt.Sprintf("203.0.113.%d", i%250+1)
	return map[string]string{
		"X-Forwarded-For":  a,
		"X-Real-IP":        a,
		"True-Client-IP":   a,
		"X-Client-IP":      a,
		"CF-Connecting-IP": a,
		"Forwarded":        "for=" + a,
	}
}

// headersButDate is a response's header without the fields that differ
// between any two responses.
func headersButDate(h http.Header) http.Header {
	c := h.Clone()
	c.Del("Date")
	return c
}

func sameHeader(a, b http.Header) bool {
	return maps.EqualFunc(a, b, func(x, y []string) bool { return strings.Join(x, "\x00") == strings.Join(y, "\x00") })
}

// wantThrottledResponse checks a 429 with a Retry-After of at most max and
// the throttled problem body, and no credential cookie.
func wantThrottledResponse(t *testing.T, r resp, max time.Duration) {
	t.Helper()
	wantStatus(t, r, http.StatusTooManyRequests)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > max {
		t.Fatalf("Retry-After = %q, want 1..%v seconds", r.Header.Get("Retry-After"), max.Seconds())
	}
	if !strings.Contains(string(r.body), `"urn:gatehouse:problem:throttled"`) {
		t.Fatalf("body %s is not the throttled problem", r.body)
	}
	wantNoCredentialCookie(t, r.Cookies())
}

func withLimits(account, ip int) option {
	return func(c *gatehouseConfig, _ *httpapiConfig) {
		c.AccountLimit.MaxFailures, c.IPLimit.MaxFailures = account, ip
	}
}

func TestG01UniformFailureResponse(t *testing.T) {
	e := newEnv(t)
	e.register("known@example.org")
	disabled := e.register("gone@example.org")
	if err := e.svc.DisableUser(t.Context(), disabled.id); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, email, pw string }{
		{"existing user, wrong password", "known@example.org", "wrong password!"},
		{"unknown user", "unknown@example.org", testPassword},
		{"unknown user, other case", "UNKNOWN2@Example.org", "wrong password!"},
		{"disabled user, correct password", "gone@example.org", testPassword},
		{"disabled user, wrong password", "gone@example.org", "wrong password!"},
	}
	var first resp
	for i, tt := range tests {
		r := postLogin(e, tt.email, tt.pw, nil)
		wantStatus(t, r, http.StatusUnauthorized)
		if len(r.Header.Values("Set-Cookie")) != 0 {
			t.Fatalf("%s: response sets cookies %v", tt.name, r.Header.Values("Set-Cookie"))
		}
		if i == 0 {
			first = r
			continue
		}
		if string(r.body) != string(first.body) {
			t.Fatalf("%s: body %s, want %s as for %s", tt.name, r.body, first.body, tests[0].name)
		}
		if !sameHeader(headersButDate(r.Header), headersButDate(first.Header)) {
			t.Fatalf("%s: headers %v, want %v", tt.name, r.Header, first.Header)
		}
	}

	// A locked account answers like a locked unknown address: the throttle
	// keys on the email as typed, so it says nothing about existence.
	t.Run("throttled", func(t *testing.T) {
		e := newEnv(t)
		e.register("known@example.org")
		var last [2]resp
		for i, email := range []string{"known@example.org", "nobody@example.org"} {
			for range e.cfg.AccountLimit.MaxFailures {
				wantStatus(t, postLogin(e, email, "wrong password!", nil), http.StatusUnauthorized)
			}
			last[i] = postLogin(e, email, "wrong password!", nil)
			wantThrottledResponse(t, last[i], e.cfg.AccountLimit.Window)
		}
		if string(last[0].body) != string(last[1].body) || !sameHeader(headersButDate(last[0].Header), headersButDate(last[1].Header)) {
			t.Fatalf("throttled responses differ: %v %s vs %v %s", last[0].Header, last[0].body, last[1].Header, last[1].body)
		}
	})
}

// TestG03RegistrationEnumeration records a deliberate deviation: the API
// contract answers 409 for a taken email, so registration does tell whether
// an address has an account. It must not do anything else: no cookies, no
// change to the existing account.
func TestG03RegistrationEnumeration(t *testing.T) {
	e := newEnv(t)
	e.register("taken@example.org")
	for _, email := range []string{"taken@example.org", " TAKEN@Example.org "} {
		r := e.do(req{method: "POST", path: "/auth/register", body: credsBody(email, "an attacker's passphrase")})
		wantStatus(t, r, http.StatusConflict)
		if !strings.Contains(string(r.body), `"urn:gatehouse:problem:email-taken"`) {
			t.Fatalf("body %s, want the email-taken problem", r.body)
		}
		wantNoCredentialCookie(t, r.Cookies())
	}
	e.register("fresh@example.org")
	_, lr := e.login("taken@example.org", "an attacker's passphrase")
	wantStatus(t, lr, http.StatusUnauthorized)
	_, lr = e.login("taken@example.org", testPassword)
	wantStatus(t, lr, http.StatusOK)
}

func TestG04AccountThrottlingIgnoresClientAddress(t *testing.T) {
	e := newEnv(t, withLimits(5, 10_000))
	e.register("victim@example.org")
	window := e.cfg.AccountLimit.Window
	for i := range e.cfg.AccountLimit.MaxFailures {
		wantStatus(t, postLogin(e, "victim@example.org", "wrong password!", spoofedClientHeaders(i)), http.StatusUnauthorized)
	}
	emails := []string{"victim@example.org", "VICTIM@example.org", " victim@Example.org "}
	for i := e.cfg.AccountLimit.MaxFailures; i < 50; i++ {
		pw := "wrong password!"
		if i%2 == 0 {
			pw = testPassword // even the right password is refused while throttled
		}
		wantThrottledResponse(t, postLogin(e, emails[i%len(emails)], pw, spoofedClientHeaders(i)), window)
	}
	e.clock.Advance(window)
	_, lr := e.login("victim@example.org", testPassword)
	wantStatus(t, lr, http.StatusOK)
}

func TestG05ClientAddressHeaders(t *testing.T) {
	ipLimit := func(c *gatehouseConfig, _ *httpapiConfig) {
		c.IPLimit = gatehouse.Limit{MaxFailures: 10, Window: 15 * time.Minute}
	}
	t.Run("untrusted", func(t *testing.T) {
		logs := &capturedLog{}
		e := newEnv(t, ipLimit, captureLogs(logs))
		e.register("real@example.org")
		for i := range 10 {
			wantStatus(t, postLogin(e, fmt.Sprintf("spray%d@example.org", i), "wrong password!", spoofedClientHeaders(i)), http.StatusUnauthorized)
		}
		// A new account and a new spoofed address change nothing: the
		// socket address is the client.
		wantThrottledResponse(t, postLogin(e, "spray10@example.org", "wrong password!", spoofedClientHeaders(77)), 15*time.Minute)
		wantThrottledResponse(t, postLogin(e, "real@example.org", testPassword, spoofedClientHeaders(78)), 15*time.Minute)
		for _, ev := range parseLogEvents(t, logs.String()) {
			if ev["event"] == gatehouse.EventLoginFailure && ev["ip"] != "127.0.0.1" {
				t.Fatalf("login.failure logged ip %v, want the socket address 127.0.0.1", ev["ip"])
			}
		}
		e.clock.Advance(15 * time.Minute)
		wantStatus(t, postLogin(e, "real@example.org", testPassword, nil), http.StatusOK)
	})
	t.Run("trusted proxy", func(t *testing.T) {
		logs := &capturedLog{}
		e := newEnv(t, ipLimit, captureLogs(logs), func(_ *gatehouseConfig, h *httpapiConfig) {
			h.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		})
		e.register("real@example.org")
		xff := func(v string) map[string]string { return map[string]string{"X-Forwarded-For": v} }
		for i := range 10 {
			wantStatus(t, postLogin(e, fmt.Sprintf("spray%d@example.org", i), "wrong password!", xff("203.0.113.7")), http.StatusUnauthorized)
		}
		wantThrottledResponse(t, postLogin(e, "spray10@example.org", "wrong password!", xff("203.0.113.7")), 15*time.Minute)
		// The proxy appends the address it saw; what the client wrote to
		// the left of it is not believed.
		wantThrottledResponse(t, postLogin(e, "spray11@example.org", "wrong password!", xff("198.51.100.1, 203.0.113.7")), 15*time.Minute)
		// Another client behind the same proxy is not affected.
		wantStatus(t, postLogin(e, "real@example.org", testPassword, xff("203.0.113.8")), http.StatusOK)
		var fromProxy int
		for _, ev := range parseLogEvents(t, logs.String()) {
			if ev["event"] == gatehouse.EventLoginFailure {
				if ev["ip"] != "203.0.113.7" {
					t.Fatalf("login.failure logged ip %v, want the forwarded 203.0.113.7", ev["ip"])
				}
				fromProxy++
			}
		}
		if fromProxy != 10 {
			t.Fatalf("%d login.failure events, want 10", fromProxy)
		}
	})
}

func TestG09LockoutIsNotDenialOfService(t *testing.T) {
	e := newEnv(t, withLimits(5, 10_000))
	e.register("vicky@example.org")
	window := e.cfg.AccountLimit.Window
	for i := range 30 {
		r := postLogin(e, "vicky@example.org", fmt.Sprintf("guess %d!", i), spoofedClientHeaders(i))
		if i < e.cfg.AccountLimit.MaxFailures {
			wantStatus(t, r, http.StatusUnauthorized)
		} else {
			wantThrottledResponse(t, r, window)
		}
	}
	// During the window the victim is throttled too: that is the price of a
	// per-account limit, and it is bounded by the window.
	wantThrottledResponse(t, postLogin(e, "vicky@example.org", testPassword, nil), window)
	// The attacker hammering on to the end of the window does not extend it.
	e.clock.Advance(window - time.Minute)
	for i := range 10 {
		wantThrottledResponse(t, postLogin(e, "vicky@example.org", "more guesses!", spoofedClientHeaders(i)), time.Minute)
	}
	e.clock.Advance(time.Minute)
	_, lr := e.login("vicky@example.org", testPassword)
	wantStatus(t, lr, http.StatusOK)
}

func TestG11NoDefaultAccounts(t *testing.T) {
	e := newEnv(t)
	e.register("someone@example.org")
	reference := postLogin(e, "someone@example.org", "wrong password!", nil)
	wantStatus(t, reference, http.StatusUnauthorized)
	for _, c := range [][2]string{
		{"admin", "admin"}, {"root", "root"}, {"test", "test"}, {"admin", "password"}, {"sa", ""},
		{"administrator", "changeme"}, {"guest", "guest"}, {"admin@localhost", "admin"}, {"admin@example.org", "admin123"},
	} {
		r := postLogin(e, c[0], c[1], nil)
		wantStatus(t, r, http.StatusUnauthorized)
		if string(r.body) != string(reference.body) || len(r.Cookies()) != 0 {
			t.Fatalf("%s/%q: body %s, cookies %v; want the generic failure %s", c[0], c[1], r.body, r.Cookies(), reference.body)
		}
	}
}

func TestG14SecurityEventsWithoutSecrets(t *testing.T) {
	logs := &capturedLog{}
	e := newEnv(t, captureLogs(logs))
	u := e.register("wanda@example.org")
	secrets := []string{testPassword, u.access, u.refresh}
	const wrong = "hunter2 wrong guess"
	secrets = append(secrets, wrong)

	for range e.cfg.AccountLimit.MaxFailures {
		wantStatus(t, postLogin(e, u.email, wrong, nil), http.StatusUnauthorized)
	}
	wantStatus(t, postLogin(e, u.email, testPassword, nil), http.StatusTooManyRequests)
	e.clock.Advance(e.cfg.AccountLimit.Window)
	l, lr := e.login(u.email, testPassword)
	wantStatus(t, lr, http.StatusOK)
	r1 := l.refresh
	secrets = append(secrets, l.access, l.refresh)
	r := postRefresh(e, l.refreshCookie())
	wantStatus(t, r, http.StatusOK)
	l.take(t, r)
	secrets = append(secrets, l.access, l.refresh)
	e.clock.Advance(e.cfg.ReuseGrace + time.Second)
	wantRejected(t, postRefresh(e, refreshCookieFor(r1)))

	// Log injection attempts. A raw line feed cannot get through HTTP (the
	// server refuses the request), so it is also sent straight to the
	// service; over HTTP the other line and separator characters are tried.
	const forged = "\n{\"event\":\"forged\",\"outcome\":\"success\"}"
	wantStatus(t, postLogin(e, "x"+forged+"@example.org", wrong, map[string]string{
		"User-Agent": "agent\", \"event\":\"forged\" \u2028{\"event\":\"forged\"}\u0085",
	}), http.StatusUnauthorized)
	e.svc.Login(t.Context(), u.email, wrong, gatehouse.Client{IP: "192.0.2.1", UserAgent: "agent" + forged})
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	body := `{"email":"wanda@example.org","password":"x"}`
	fmt.Fprintf(conn, "POST /auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nUser-Agent: agent%s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		e.srv.Listener.Addr(), forged, len(body), body)
	status, _ := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if !strings.HasPrefix(status, "HTTP/1.1 400") {
		t.Fatalf("a header with a raw line feed got %q, want 400", status)
	}

	text := logs.String()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Fatalf("the log contains a secret (%.12s…)", s)
		}
	}
	events := map[string][]map[string]any{}
	for _, ev := range parseLogEvents(t, text) {
		if ev["event"] == "forged" {
			t.Fatalf("log injection produced a line of its own: %v", ev)
		}
		if name, ok := ev["event"].(string); ok {
			events[name] = append(events[name], ev)
		}
	}
	for _, want := range []struct {
		name, reason string
		withUser     bool
	}{
		{gatehouse.EventLoginSuccess, "", true},
		{gatehouse.EventLoginFailure, "bad_password", true},
		{gatehouse.EventThrottled, "account", true},
		{gatehouse.EventRefresh, "", true},
		{gatehouse.EventRefreshReused, "reuse", true},
	} {
		var found bool
		for _, ev := range events[want.name] {
			if want.reason != "" && ev["reason"] != want.reason {
				continue
			}
			if ev["time"] == nil || ev["ip"] == "" || ev["outcome"] == "" {
				t.Fatalf("%s event lacks time, ip or outcome: %v", want.name, ev)
			}
			if want.withUser && ev["user_id"] != u.id {
				continue
			}
			found = true
		}
		if !found {
			t.Fatalf("no %s event (reason %q, user %v) among %v", want.name, want.reason, want.withUser, events[want.name])
		}
	}
}

func TestH03NoTruncation(t *testing.T) {
	e := newEnv(t)
	p := strings.Repeat("kq3#Zv8!mW", 10) // 100 characters
	wantStatus(t, e.do(req{method: "POST", path: "/auth/register", body: credsBody("hana@example.org", p)}), http.StatusCreated)
	for _, prefix := range []int{64, 72, 99} {
		_, lr := e.login("hana@example.org", p[:prefix])
		wantStatus(t, lr, http.StatusUnauthorized)
	}
	_, lr := e.login("hana@example.org", p+"x")
	wantStatus(t, lr, http.StatusUnauthorized)
	_, lr = e.login("hana@example.org", p)
	wantStatus(t, lr, http.StatusOK)
}

func TestH04NoTransformation(t *testing.T) {
	e := newEnv(t, withLimits(100, 1000))
	const p = "Ünïcødé 密码 🦊 with  two  spaces"
	wantStatus(t, e.do(req{method: "POST", path: "/auth/register", body: credsBody("ines@example.org", p)}), http.StatusCreated)
	variants := map[string]string{
		"upper case":       strings.ToUpper(p),
		"lower case":       strings.ToLower(p),
		"leading space":    " " + p,
		"trailing space":   p + " ",
		"spaces collapsed": strings.ReplaceAll(p, "  ", " "),
		"decomposed (NFD)": strings.Replace(p, "é", "e\u0301", 1),
		"emoji removed":    strings.Replace(p, "🦊", "", 1),
	}
	for name, v := range variants {
		if v == p {
			t.Fatalf("variant %s equals the password", name)
		}
		_, lr := e.login("ines@example.org", v)
		if lr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", name, lr.StatusCode)
		}
	}
	_, lr := e.login("ines@example.org", p)
	wantStatus(t, lr, http.StatusOK)

	const padded = "  padded passphrase, spaces at both ends  "
	wantStatus(t, e.do(req{method: "POST", path: "/auth/register", body: credsBody("jon@example.org", padded)}), http.StatusCreated)
	_, lr = e.login("jon@example.org", strings.TrimSpace(padded))
	wantStatus(t, lr, http.StatusUnauthorized)
	_, lr = e.login("jon@example.org", padded)
	wantStatus(t, lr, http.StatusOK)
}

func TestH05LengthBounds(t *testing.T) {
	e := newEnv(t)
	maxLen := e.cfg.PasswordRules.MaxLength
	mk := func(n int) string { return strings.Repeat("Xq7!vB2#", n/8+1)[:n] }
	for _, n := range []int{e.cfg.PasswordRules.MinLength - 1, maxLen + 1, 4096} {
		r := e.do(req{method: "POST", path: "/auth/register", body: credsBody(fmt.Sprintf("short%d@example.org", n), mk(n))})
		wantStatus(t, r, http.StatusBadRequest)
		if m := r.json(t); m["type"] != "urn:gatehouse:problem:weak-password" || m["field"] != "password" {
			t.Fatalf("%d bytes: problem %v", n, m)
		}
	}
	for _, n := range []int{8, 64, 128, maxLen} {
		email := fmt.Sprintf("ok%d@example.org", n)
		wantStatus(t, e.do(req{method: "POST", path: "/auth/register", body: credsBody(email, mk(n))}), http.StatusCreated)
		_, lr := e.login(email, mk(n))
		wantStatus(t, lr, http.StatusOK)
	}
	// Over the maximum, login and change refuse before any hashing.
	u := e.register("kurt@example.org")
	r := postLogin(e, u.email, mk(maxLen+1), nil)
	wantStatus(t, r, http.StatusBadRequest)
	r = e.do(req{method: "POST", path: "/auth/password", cookie: u.accessCookie(),
		body: map[string]string{"current_password": testPassword, "new_password": mk(maxLen + 1)}})
	wantStatus(t, r, http.StatusBadRequest)
}

func TestH06CommonPasswordsBlocked(t *testing.T) {
	e := newEnv(t)
	blocked := []struct{ email, pw string }{
		{"h06a@example.org", "password123"},
		{"h06b@example.org", "PASSWORD123"},
		{"h06c@example.org", "Password1"},
		{"h06d@example.org", "iloveyou123"},
		{"h06e@example.org", "qwertyuiop"},
		{"h06f@example.org", "1234567890"},
		{"h06g@example.org", "baseball1"},
		{"h06h@example.org", "Gatehouse2026!"},
		{"h06i@example.org", "gatehouse2026!"},
		{"h06j@example.org", "<gatehouse>2026!"},
		{"h06k@example.org", "my GATEHOUSE login"},
		{"lena@example.org", "lena-2026-forever"}, // the email's local part
	}
	for _, b := range blocked {
		r := e.do(req{method: "POST", path: "/auth/register", body: credsBody(b.email, b.pw)})
		wantStatus(t, r, http.StatusBadRequest)
		if m := r.json(t); m["type"] != "urn:gatehouse:problem:weak-password" || strings.Contains(string(r.body), b.pw) {
			t.Fatalf("%q: problem %s; want weak-password without the password in it", b.pw, r.body)
		}
		wantNoCredentialCookie(t, r.Cookies())
	}
	u := e.register("mia@example.org")
	for _, pw := range []string{"password123", "Gatehouse2026!"} {
		r := e.do(req{method: "POST", path: "/auth/password", cookie: u.accessCookie(),
			body: map[string]string{"current_password": testPassword, "new_password": pw}})
		wantStatus(t, r, http.StatusBadRequest)
	}
	_, lr := e.login(u.email, testPassword)
	wantStatus(t, lr, http.StatusOK)
}

func TestH07NoCompositionRulesOrExpiry(t *testing.T) {
	e := newEnv(t)
	const phrase = "purple monkey dishwasher ladder"
	wantStatus(t, e.do(req{method: "POST", path: "/auth/register", body: credsBody("nils@example.org", phrase)}), http.StatusCreated)
	e.clock.Advance(400 * 24 * time.Hour)
	_, lr := e.login("nils@example.org", phrase)
	wantStatus(t, lr, http.StatusOK)
}

func TestH08PasswordChangeNoOracle(t *testing.T) {
	e := newEnv(t)
	u := e.register("olga@example.org")
	news := []string{"a brand new passphrase", "short", "password123", testPassword, "", strings.Repeat("z", 100)}
	var first resp
	for i := range 50 {
		r := e.do(req{method: "POST", path: "/auth/password", cookie: u.accessCookie(),
			body: map[string]string{"current_password": fmt.Sprintf("wrong guess %d", i), "new_password": news[i%len(news)]}})
		if i < e.cfg.AccountLimit.MaxFailures {
			wantStatus(t, r, http.StatusForbidden)
			if i == 0 {
				first = r
			} else if string(r.body) != string(first.body) {
				t.Fatalf("attempt %d: body %s, want %s whatever the new password", i, r.body, first.body)
			}
			continue
		}
		wantThrottledResponse(t, r, e.cfg.AccountLimit.Window)
	}
	// The right current password is throttled too, and so is login.
	r := e.do(req{method: "POST", path: "/auth/password", cookie: u.accessCookie(),
		body: map[string]string{"current_password": testPassword, "new_password": "a brand new passphrase"}})
	wantThrottledResponse(t, r, e.cfg.AccountLimit.Window)
	wantThrottledResponse(t, postLogin(e, u.email, testPassword, nil), e.cfg.AccountLimit.Window)
	e.clock.Advance(e.cfg.AccountLimit.Window)
	_, lr := e.login(u.email, testPassword)
	wantStatus(t, lr, http.StatusOK)
}

func TestI04HashingCapacity(t *testing.T) {
	// Costly enough that one hash outlasts the arrival of the whole burst.
	hasher := password.NewHasher(password.Options{
		Params:        password.Params{MemoryKiB: 16 * 1024, Iterations: 2, Parallelism: 1},
		MaxConcurrent: 1, MaxQueue: 1,
	})
	e := newEnv(t, withLimits(1000, 1000), func(c *gatehouseConfig, _ *httpapiConfig) { c.Hasher = hasher })
	e.register("pete@example.org")

	const n = 24
	res := raceRequests(e, n, func(i int) sentResult {
		email := fmt.Sprintf("burst%d@example.org", i)
		pw := "wrong password!"
		if i%4 == 0 {
			email, pw = "pete@example.org", testPassword
		}
		b, _ := json.Marshal(credsBody(email, pw))
		return sendRaw(e, "POST", "/auth/login", "", b, nil)
	})
	overloaded := 0
	for i, r := range res {
		switch {
		case r.err != nil:
			t.Fatalf("request %d: %v", i, r.err)
		case r.status == http.StatusOK, r.status == http.StatusUnauthorized:
		case r.status == http.StatusServiceUnavailable:
			overloaded++
			if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
				t.Fatalf("request %d: 503 with Retry-After %q", i, r.header.Get("Retry-After"))
			}
			if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/problem+json" || !strings.Contains(string(r.body), `"urn:gatehouse:problem:overloaded"`) {
				t.Fatalf("request %d: 503 body %s", i, r.body)
			}
			wantNoCredentialCookie(t, r.cookies)
			if r.took > 2*time.Second {
				t.Fatalf("request %d: refused after %v, want at once", i, r.took)
			}
		default:
			t.Fatalf("request %d: status %d, body %s", i, r.status, r.body)
		}
	}
	if overloaded == 0 {
		t.Fatalf("no request of a burst of %d was refused with one hashing slot and one queue place", n)
	}
	if s := hasher.Stats(); s.Running != 0 || s.Queued != 0 {
		t.Fatalf("hasher stats after the burst = %+v, want idle", s)
	}
	// The refused attempts were not counted as failures; the user gets in.
	_, lr := e.login("pete@example.org", testPassword)
	wantStatus(t, lr, http.StatusOK)
}

// TestI09RefreshGuessing: there is no rate limit on /auth/refresh yet, so
// this checks what does hold: every guess fails and leaves no state behind.
func TestI09RefreshGuessing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	e := newEnv(t, storeOnFile(t, path))
	u := e.register("quentin@example.org")
	raw := openRawDB(t, path)
	count := func() (sessions, tokens int) {
		t.Helper()
		if err := raw.QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM refresh_tokens)`).Scan(&sessions, &tokens); err != nil {
			t.Fatal(err)
		}
		return sessions, tokens
	}
	s0, t0 := count()

	const guesses, workers = 1000, 8
	results := make(chan sentResult, guesses)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range guesses / workers {
				b := make([]byte, 32)
				rand.Read(b)
				results <- sendRaw(e, "POST", "/auth/refresh", refreshCookieFor(base64.RawURLEncoding.EncodeToString(b)), nil,
					map[string]string{"User-Agent": fmt.Sprintf("guesser-%d", w)})
			}
		})
	}
	wg.Wait()
	close(results)
	n := 0
	for r := range results {
		n++
		if r.err != nil || r.status != http.StatusUnauthorized {
			t.Fatalf("guess: status %d, error %v, body %s", r.status, r.err, r.body)
		}
		wantNoCredentialCookie(t, r.cookies)
	}
	if n != guesses {
		t.Fatalf("%d guesses answered, want %d", n, guesses)
	}
	if s, tk := count(); s != s0 || tk != t0 {
		t.Fatalf("after %d guesses: %d sessions and %d refresh records, want %d and %d", guesses, s, tk, s0, t0)
	}
	if l := e.svc.Revocations().Len(); l != 0 {
		t.Fatalf("revocation set holds %d entries after guessing, want 0", l)
	}
	wantStatus(t, postRefresh(e, u.refreshCookie()), http.StatusOK)
}

// withRegistrations limits sign-ups to n per hour per client address.
func withRegistrations(n int) option {
	return func(c *gatehouseConfig, _ *httpapiConfig) {
		c.RegistrationLimit = gatehouse.Limit{MaxFailures: n, Window: time.Hour}
	}
}

// postRegister calls POST /auth/register with extra request headers.
func postRegister(e *env, email string, header map[string]string) resp {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/auth/register", body: credsBody(email, testPassword), header: header})
}

// wantNoUser fails t if an account with email exists.
func wantNoUser(t *testing.T, e *env, email string) {
	t.Helper()
	if _, err := e.db.UserByEmail(t.Context(), email); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("UserByEmail(%q) = %v after a refused sign-up, want ErrNotFound", email, err)
	}
}

// TestI10RegistrationFlood signs up from one source beyond the limit
// (I-10): the next sign-up is a 429 problem with Retry-After that creates
// nothing, answers a taken and a fresh email alike (no enumeration through
// the throttle) and is logged (G-14); the address is the socket's unless a
// trusted proxy names another (G-05); another client signs up meanwhile,
// and the address again once the window ends.
func TestI10RegistrationFlood(t *testing.T) {
	t.Run("untrusted", func(t *testing.T) {
		logs := &capturedLog{}
		e := newEnv(t, withRegistrations(3), captureLogs(logs))
		for i := range 3 {
			// Spoofed client-address headers change nothing: the socket
			// address is the client.
			wantStatus(t, postRegister(e, fmt.Sprintf("flood%d@example.org", i), spoofedClientHeaders(i)), http.StatusCreated)
		}
		fresh := postRegister(e, "flood3@example.org", spoofedClientHeaders(77))
		wantThrottledResponse(t, fresh, time.Hour)
		if ct := fresh.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Fatalf("Content-Type %q, want application/problem+json", ct)
		}
		wantNoUser(t, e, "flood3@example.org")
		taken := postRegister(e, "flood0@example.org", spoofedClientHeaders(78))
		wantThrottledResponse(t, taken, time.Hour)
		if string(taken.body) != string(fresh.body) || !sameHeader(headersButDate(taken.Header), headersButDate(fresh.Header)) {
			t.Fatalf("throttled answers differ for a taken and a fresh email: %v %s vs %v %s", taken.Header, taken.body, fresh.Header, fresh.body)
		}
		var throttled int
		for _, ev := range parseLogEvents(t, logs.String()) {
			if ev["event"] == gatehouse.EventThrottled {
				if ev["reason"] != "registration" || ev["ip"] != "127.0.0.1" || ev["user_id"] != "" {
					t.Fatalf("throttled event %v, want reason registration from 127.0.0.1 naming no account", ev)
				}
				throttled++
			}
		}
		if throttled != 2 {
			t.Fatalf("%d throttled events, want 2", throttled)
		}
		// Logging in is not a sign-up: the limit does not touch it.
		_, lr := e.login("flood0@example.org", testPassword)
		wantStatus(t, lr, http.StatusOK)
		e.clock.Advance(time.Hour)
		wantStatus(t, postRegister(e, "flood3@example.org", nil), http.StatusCreated)
	})
	t.Run("trusted proxy", func(t *testing.T) {
		e := newEnv(t, withRegistrations(3), func(_ *gatehouseConfig, h *httpapiConfig) {
			h.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		})
		xff := func(v string) map[string]string { return map[string]string{"X-Forwarded-For": v} }
		for i := range 3 {
			wantStatus(t, postRegister(e, fmt.Sprintf("proxied%d@example.org", i), xff("203.0.113.7")), http.StatusCreated)
		}
		wantThrottledResponse(t, postRegister(e, "proxied3@example.org", xff("203.0.113.7")), time.Hour)
		// The proxy appends the address it saw; what the client wrote to
		// the left of it is not believed.
		wantThrottledResponse(t, postRegister(e, "proxied4@example.org", xff("198.51.100.1, 203.0.113.7")), time.Hour)
		wantNoUser(t, e, "proxied3@example.org")
		wantNoUser(t, e, "proxied4@example.org")
		// Another client behind the same proxy is not affected.
		wantStatus(t, postRegister(e, "neighbour@example.org", xff("203.0.113.8")), http.StatusCreated)
		// An IPv6 client counts by its /64.
		for i, a := range []string{"2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:ffff::3"} {
			wantStatus(t, postRegister(e, fmt.Sprintf("six%d@example.org", i), xff(a)), http.StatusCreated)
		}
		wantThrottledResponse(t, postRegister(e, "six3@example.org", xff("2001:db8:5:6::4")), time.Hour)
		wantStatus(t, postRegister(e, "six4@example.org", xff("2001:db8:5:7::1")), http.StatusCreated)
	})
}
