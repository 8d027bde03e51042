package httpapi_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/pwned"
)

// withAbuseDefaults turns on what cmd/gatehouse turns on by default: known
// devices and the progressive delay.
func withAbuseDefaults(c *gatehouseConfig, _ *httpapiConfig) {
	c.DeviceKey = bytes.Repeat([]byte{3}, 32)
	c.LoginDelay = gatehouse.DefaultLoginDelay
}

// TestG09KnownDeviceCookie: the browser that registered or logged in holds
// a __Host-device cookie (HttpOnly, Secure, SameSite=Strict, Path=/, long
// lived). After an attacker has locked the account from many addresses, a
// client without it gets 429 with Retry-After before any hashing, and the
// owner's browser, sending it, logs in.
func TestG09KnownDeviceCookie(t *testing.T) {
	e := newEnv(t, withAbuseDefaults)
	reg := e.do(req{method: "POST", path: "/auth/register", body: map[string]string{"email": "owner@example.org", "password": testPassword}})
	wantStatus(t, reg, http.StatusCreated)
	dc := credentialCookies(t, reg)[httpapi.DeviceCookie]
	if dc.value == "" {
		t.Fatalf("registration set no %s cookie: %q", httpapi.DeviceCookie, reg.Header.Values("Set-Cookie"))
	}
	for _, attr := range []string{"httponly", "secure"} {
		if _, ok := dc.attrs[attr]; !ok {
			t.Errorf("%s cookie lacks %s: %s", httpapi.DeviceCookie, attr, dc.raw)
		}
	}
	if dc.attrs["samesite"] != "Strict" || dc.attrs["path"] != "/" {
		t.Errorf("%s cookie: SameSite %q, Path %q; want Strict and /", httpapi.DeviceCookie, dc.attrs["samesite"], dc.attrs["path"])
	}
	if _, ok := dc.attrs["domain"]; ok {
		t.Errorf("%s cookie has a Domain: %s", httpapi.DeviceCookie, dc.raw)
	}
	if age, _ := strconv.Atoi(dc.attrs["max-age"]); time.Duration(age)*time.Second < 30*24*time.Hour {
		t.Errorf("%s cookie Max-Age %q, want at least 30 days", httpapi.DeviceCookie, dc.attrs["max-age"])
	}

	for i := range 30 {
		if i < 6 {
			e.clock.Advance(20 * time.Second) // past the progressive delays, to the account limit
		}
		r := postLogin(e, "owner@example.org", "attacker guess "+strconv.Itoa(i), spoofedClientHeaders(i))
		if r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("attack attempt %d: status %d", i, r.StatusCode)
		}
	}
	wantThrottledResponse(t, postLogin(e, "owner@example.org", testPassword, nil), 15*time.Minute)

	r := e.do(req{method: "POST", path: "/auth/login", cookie: httpapi.DeviceCookie + "=" + dc.value,
		body: map[string]string{"email": "owner@example.org", "password": testPassword}})
	wantStatus(t, r, http.StatusOK)
	if c := r.cookie(httpapi.DeviceCookie); c == nil || c.Value == "" {
		t.Fatal("known-device login did not renew the device cookie")
	}
	// Logging out forgets the device, as Clear-Site-Data does in browsers.
	out := e.do(req{method: "POST", path: "/auth/logout",
		cookie: httpapi.AccessCookie + "=" + r.cookie(httpapi.AccessCookie).Value + "; " + httpapi.DeviceCookie + "=" + dc.value})
	wantStatus(t, out, http.StatusNoContent)
	if c := out.cookie(httpapi.DeviceCookie); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout did not expire the device cookie: %q", out.Header.Values("Set-Cookie"))
	}
	// The cookie is bound to its account: it does not open another.
	e.register("neighbour@example.org")
	for i := range 6 {
		e.clock.Advance(20 * time.Second)
		postLogin(e, "neighbour@example.org", "attacker guess "+strconv.Itoa(i), spoofedClientHeaders(i))
	}
	r = e.do(req{method: "POST", path: "/auth/login", cookie: httpapi.DeviceCookie + "=" + dc.value,
		body: map[string]string{"email": "neighbour@example.org", "password": testPassword}})
	wantThrottledResponse(t, r, 15*time.Minute)
}

// TestG04ProgressiveDelayHTTP: right after a failure, even the right
// password gets 429 with a Retry-After of the delay; after it, 200.
func TestG04ProgressiveDelayHTTP(t *testing.T) {
	e := newEnv(t, withAbuseDefaults)
	e.register("slow@example.org")
	wantStatus(t, postLogin(e, "slow@example.org", "wrong password!", nil), http.StatusUnauthorized)
	r := postLogin(e, "slow@example.org", testPassword, nil)
	wantThrottledResponse(t, r, time.Second)
	e.clock.Advance(time.Second)
	wantStatus(t, postLogin(e, "slow@example.org", testPassword, nil), http.StatusOK)
}

// fakeRange is a Pwned Passwords range API that knows the passwords
// given, started by the test (SECURITY-CASES H-06: the breached set).
func fakeRange(t *testing.T, breached ...string) string {
	t.Helper()
	buckets := map[string][]string{}
	for _, pw := range breached {
		sum := sha1.Sum([]byte(pw))
		h := strings.ToUpper(hex.EncodeToString(sum[:]))
		buckets[h[:5]] = append(buckets[h[:5]], h[5:]+":3")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := strings.TrimPrefix(r.URL.Path, "/range/")
		fmt.Fprintln(w, "0018A45C4D1DEF81644B54AB7F969B88D65:1")
		for _, l := range buckets[prefix] {
			fmt.Fprintln(w, l)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func withBreachCheck(base string, failClosed bool) option {
	return func(c *gatehouseConfig, _ *httpapiConfig) {
		checker, err := pwned.New(pwned.Options{BaseURL: base, Timeout: time.Second})
		if err != nil {
			panic(err)
		}
		c.Breached, c.BreachedFailClosed = checker, failClosed
	}
}

// TestH06BreachedPassword: with the breached-password check on, a password
// the range API knows is refused at registration and at password change
// with 400 weak-password; an unknown one is accepted; when the API is down,
// the policy decides: fail open accepts, fail closed answers 503.
func TestH06BreachedPassword(t *testing.T) {
	const leaked = "leaked passphrase 2019"
	base := fakeRange(t, leaked)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	register := func(e *env, email, pw string) resp {
		return e.do(req{method: "POST", path: "/auth/register", body: map[string]string{"email": email, "password": pw}})
	}
	t.Run("hit and miss", func(t *testing.T) {
		e := newEnv(t, withBreachCheck(base, true))
		r := register(e, "leak@example.org", leaked)
		wantStatus(t, r, http.StatusBadRequest)
		if p := r.json(t); p["type"] != "urn:gatehouse:problem:weak-password" || p["field"] != "password" {
			t.Fatalf("breached password at registration: %s, want the weak-password problem for field password", r.body)
		}
		u := e.register("clean@example.org") // testPassword is not in the fake corpus
		r = e.do(req{method: "POST", path: "/auth/password", cookie: u.accessCookie(),
			body: map[string]string{"current_password": testPassword, "new_password": leaked}})
		wantStatus(t, r, http.StatusBadRequest)
		if p := r.json(t); p["field"] != "new_password" {
			t.Fatalf("breached new password: %s, want field new_password", r.body)
		}
		r = e.do(req{method: "POST", path: "/auth/password", cookie: u.accessCookie(),
			body: map[string]string{"current_password": testPassword, "new_password": "quite another passphrase 8"}})
		wantStatus(t, r, http.StatusNoContent)
	})
	t.Run("down, fail open", func(t *testing.T) {
		e := newEnv(t, withBreachCheck(downURL, false))
		wantStatus(t, register(e, "open@example.org", leaked), http.StatusCreated)
	})
	t.Run("down, fail closed", func(t *testing.T) {
		e := newEnv(t, withBreachCheck(downURL, true))
		r := register(e, "closed@example.org", testPassword)
		wantStatus(t, r, http.StatusServiceUnavailable)
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	})
}

// TestI04RefusedAtOnceWhenQueueFull: with the one hashing slot busy and the
// one queue place taken, a login is answered 503 with Retry-After at once,
// without waiting for the hash in progress or allocating one.
func TestI04RefusedAtOnceWhenQueueFull(t *testing.T) {
	// One hash takes far longer than the refusal may.
	hasher := password.NewHasher(password.Options{
		Params:        password.Params{MemoryKiB: 64 * 1024, Iterations: 8, Parallelism: 1},
		MaxConcurrent: 1, MaxQueue: 1, QueueTimeout: time.Minute,
	})
	e := newEnv(t, withLimits(1000, 1000), func(c *gatehouseConfig, _ *httpapiConfig) { c.Hasher = hasher })
	login := func(i int) sentResult {
		b, _ := json.Marshal(credsBody(fmt.Sprintf("queued%d@example.org", i), "wrong password!"))
		return sendRaw(e, "POST", "/auth/login", "", b, nil)
	}
	wait := func(what string, cond func(password.Stats) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(hasher.Stats()); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, hasher.Stats())
			}
		}
	}
	first, second := make(chan sentResult, 1), make(chan sentResult, 1)
	go func() { first <- login(1) }()
	wait("a running hash", func(s password.Stats) bool { return s.Running == 1 })
	go func() { second <- login(2) }()
	wait("a queued login", func(s password.Stats) bool { return s.Queued == 1 })

	r := login(3)
	if r.err != nil || r.status != http.StatusServiceUnavailable {
		t.Fatalf("login with the queue full: %d %v %s, want 503", r.status, r.err, r.body)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("503 with Retry-After %q", r.header.Get("Retry-After"))
	}
	if s := hasher.Stats(); s.Running != 1 || s.Queued != 1 {
		t.Fatalf("the refusal was answered after the hash in progress ended (%+v): not at once", s)
	}
	if r.took > 250*time.Millisecond {
		t.Errorf("refused after %v, want at once", r.took)
	}
	for _, c := range []chan sentResult{first, second} {
		if r := <-c; r.status != http.StatusUnauthorized {
			t.Fatalf("a login that held or waited for the slot: %d %s, want 401", r.status, r.body)
		}
	}
}
