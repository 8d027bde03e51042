package httpapi_test

// Group F of SECURITY-CASES.md: refresh tokens and the session lifecycle,
// black-box over HTTP, with a look at the store where a case is [GB].

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/sqlite"
)

// credsBody is the body of POST /auth/login and /auth/register.
func credsBody(email, pw string) map[string]string {
	return map[string]string{"email": email, "password": pw}
}

// postRefresh calls POST /auth/refresh with the given Cookie header.
func postRefresh(e *env, cookie string) resp {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/auth/refresh", cookie: cookie})
}

func refreshCookieFor(v string) string { return httpapi.RefreshCookie + "=" + v }
func accessCookieFor(v string) string  { return httpapi.AccessCookie + "=" + v }

// payloadOf decodes the payload of an access JWT without verifying it:
// the tests only read what the server put there.
func payloadOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a compact JWS", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("access token payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("access token payload: %v", err)
	}
	return m
}

// storedHashOf is what the store keeps for a refresh token value.
func storedHashOf(t *testing.T, v string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil {
		t.Fatalf("refresh token %q: %v", v, err)
	}
	h := sha256.Sum256(raw)
	return h[:]
}

// storeOnFile keeps users and sessions in an SQLite file at path, which the
// test can then read directly ([GB] cases); the env's own store does not
// expose its file.
func storeOnFile(t *testing.T, path string) option {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return func(c *gatehouseConfig, _ *httpapiConfig) { c.Users, c.Sessions = db, db }
}

// openRawDB opens the database file at path for plain SQL reads.
func openRawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sentResult is one response to a request sent from a goroutine of the test,
// where e.do (which may call t.Fatal) cannot be used.
type sentResult struct {
	status  int
	body    []byte
	access  string
	refresh string
	cookies []*http.Cookie
	took    time.Duration
	header  http.Header
	err     error
}

// sendRaw does one request without touching t, so that goroutines may call it.
func sendRaw(e *env, method, path, cookie string, body []byte, header map[string]string) sentResult {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		return sentResult{err: err}
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	start := time.Now()
	res, err := e.srv.Client().Do(r)
	if err != nil {
		return sentResult{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	out := sentResult{status: res.StatusCode, body: b, cookies: res.Cookies(), took: time.Since(start), header: res.Header, err: err}
	for _, c := range out.cookies {
		switch c.Name {
		case httpapi.AccessCookie:
			out.access = c.Value
		case httpapi.RefreshCookie:
			out.refresh = c.Value
		}
	}
	return out
}

// raceRequests sends n copies of a request at once: every goroutine is ready before
// any of them sends.
func raceRequests(e *env, n int, do func(i int) sentResult) []sentResult {
	out := make([]sentResult, n)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-ready
			out[i] = do(i)
		})
	}
	close(ready)
	wg.Wait()
	return out
}

// wantNoCredentialCookie fails if a response issues or extends an auth cookie.
func wantNoCredentialCookie(t *testing.T, cookies []*http.Cookie) {
	t.Helper()
	for _, c := range cookies {
		if c.Value != "" && c.MaxAge >= 0 {
			t.Fatalf("response sets cookie %s", c.Name)
		}
	}
}

func TestF01FreshSessionAtLogin(t *testing.T) {
	e := newEnv(t)
	atk := e.register("mallory@example.org")
	victim := e.register("victor@example.org")

	// The attacker's own valid cookies are planted in the victim's jar.
	r := e.do(req{method: "POST", path: "/auth/login", body: credsBody("victor@example.org", testPassword), cookie: atk.cookies()})
	wantStatus(t, r, http.StatusOK)
	got := &user{email: victim.email}
	got.take(t, r)
	if got.access == "" || got.refresh == "" {
		t.Fatal("login did not set both cookies")
	}
	for _, old := range []string{atk.access, atk.refresh, victim.access, victim.refresh} {
		if got.access == old || got.refresh == old {
			t.Fatal("login reused a token value that was presented or issued before")
		}
	}
	if sid := r.json(t)["session"].(map[string]any)["id"]; sid == payloadOf(t, atk.access)["sid"] {
		t.Fatal("the victim's login joined the attacker's session")
	}
	if c := payloadOf(t, got.access); c["sub"] != victim.id {
		t.Fatalf("victim's new access token has sub %v, want %s", c["sub"], victim.id)
	}

	// The planted tokens still name the attacker, never the victim.
	me := e.get("/auth/me", atk.accessCookie())
	wantStatus(t, me, http.StatusOK)
	if email := me.json(t)["user"].(map[string]any)["email"]; email != atk.email {
		t.Fatalf("attacker's access token now names %v", email)
	}
	r = postRefresh(e, atk.refreshCookie())
	wantStatus(t, r, http.StatusOK)
	atk.take(t, r)
	if c := payloadOf(t, atk.access); c["sub"] != atk.id {
		t.Fatalf("attacker's refresh token issued a token for %v, want %s", c["sub"], atk.id)
	}
}

func TestF02StrictRefreshAcceptance(t *testing.T) {
	logs := &capturedLog{}
	e := newEnv(t, captureLogs(logs))
	u := e.register("fiona@example.org")

	random := make([]byte, 32)
	rand.Read(random)
	mid := len(u.refresh) / 2
	swap := byte('A')
	if u.refresh[mid] == 'A' {
		swap = 'B'
	}
	tests := []struct{ name, cookie string }{
		{"random 32 bytes", refreshCookieFor(base64.RawURLEncoding.EncodeToString(random))},
		{"one character changed", refreshCookieFor(u.refresh[:mid] + string(swap) + u.refresh[mid+1:])},
		{"truncated by one", refreshCookieFor(u.refresh[:len(u.refresh)-1])},
		{"truncated to half", refreshCookieFor(u.refresh[:mid])},
		{"extended", refreshCookieFor(u.refresh + "A")},
		{"padded", refreshCookieFor(u.refresh + "=")},
		{"standard base64", refreshCookieFor(base64.RawStdEncoding.EncodeToString(random[:30]) + "+/+/")},
		{"empty", refreshCookieFor("")},
		{"no cookie", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRejected(t, postRefresh(e, tt.cookie))
		})
	}
	if !strings.Contains(logs.String(), `"event":"refresh.invalid"`) {
		t.Fatal("no refresh.invalid security event was logged")
	}
	// Regression control: none of that harmed the real session.
	wantStatus(t, postRefresh(e, u.refreshCookie()), http.StatusOK)
}

func TestF03RotationOnEveryRefresh(t *testing.T) {
	e := newEnv(t)
	u := e.register("gale@example.org")
	old := *u
	r := postRefresh(e, u.refreshCookie())
	wantStatus(t, r, http.StatusOK)
	u.take(t, r)
	if u.refresh == old.refresh || len(u.refresh) != 43 {
		t.Fatalf("refresh token after rotation = %q, want a new 43-character value", u.refresh)
	}
	oc, nc := payloadOf(t, old.access), payloadOf(t, u.access)
	if u.access == old.access || nc["jti"] == oc["jti"] {
		t.Fatal("refresh did not issue a new access token with a new jti")
	}
	if nc["sub"] != oc["sub"] || nc["sid"] != oc["sid"] {
		t.Fatalf("rotation changed identity: sub %v→%v, sid %v→%v", oc["sub"], nc["sub"], oc["sid"], nc["sid"])
	}
	wantStatus(t, e.get("/api/protected", u.accessCookie()), http.StatusOK)
}

func TestF04ReuseRevokesFamily(t *testing.T) {
	logs := &capturedLog{}
	e := newEnv(t, captureLogs(logs))
	u := e.register("hugo@example.org")
	r1, a1 := u.refresh, u.access
	r := postRefresh(e, u.refreshCookie())
	wantStatus(t, r, http.StatusOK)
	u.take(t, r)
	r2, a2 := u.refresh, u.access

	e.clock.Advance(e.cfg.ReuseGrace + time.Second)
	wantRejected(t, postRefresh(e, refreshCookieFor(r1)))
	wantRejected(t, postRefresh(e, refreshCookieFor(r2)))
	// The server checks the session on every request: the access tokens of
	// the revoked family die at once, not at their expiry.
	wantRejected(t, e.get("/api/protected", accessCookieFor(a2)))
	wantRejected(t, e.get("/api/protected", accessCookieFor(a1)))

	var reused bool
	for _, ev := range parseLogEvents(t, logs.String()) {
		if ev["event"] == gatehouse.EventRefreshReused && ev["user_id"] == u.id {
			reused = true
		}
	}
	if !reused {
		t.Fatal("no refresh.reused event with the user id was logged")
	}
}

// TestF05ConcurrentRefresh fires N simultaneous refreshes of one token. The
// invariant in every mode: never two different live successors.
func TestF05ConcurrentRefresh(t *testing.T) {
	for _, n := range []int{2, 5, 20} {
		t.Run(fmt.Sprintf("grace N=%d", n), func(t *testing.T) {
			e := newEnv(t)
			u := e.register("ivan@example.org")
			res := raceRequests(e, n, func(int) sentResult { return sendRaw(e, "POST", "/auth/refresh", u.refreshCookie(), nil, nil) })
			var succ string
			for i, r := range res {
				if r.err != nil || r.status != http.StatusOK {
					t.Fatalf("request %d: status %d, error %v, body %s; want 200 within the grace window", i, r.status, r.err, r.body)
				}
				if succ == "" {
					succ = r.refresh
				}
				if r.refresh == "" || r.refresh != succ {
					t.Fatalf("request %d got refresh %q, request 0 got %q: the family forked", i, r.refresh, succ)
				}
			}
			if succ == u.refresh {
				t.Fatal("the successor equals the presented token")
			}

			// [GB] The store holds exactly one rotation: the session is at
			// generation 1 and its current token is the one every request got.
			rec, err := e.db.RefreshRecord(t.Context(), storedHashOf(t, succ))
			if err != nil {
				t.Fatalf("successor not in the store: %v", err)
			}
			sess, err := e.db.Session(t.Context(), rec.SessionID)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Generation != 1 || sess.Generation != 1 || !bytes.Equal(sess.RefreshHash, storedHashOf(t, succ)) || sess.Revoked() {
				t.Fatalf("store: record generation %d, session generation %d, revoked %v; want one live successor at generation 1",
					rec.Generation, sess.Generation, sess.Revoked())
			}
			for i, r := range res {
				if sid := payloadOf(t, r.access)["sid"]; sid != sess.ID {
					t.Fatalf("request %d got an access token for session %v, want %s", i, sid, sess.ID)
				}
			}

			// After the grace window only the successor works; the
			// predecessor is now reuse and ends the family.
			e.clock.Advance(e.cfg.ReuseGrace + time.Second)
			r := postRefresh(e, refreshCookieFor(succ))
			wantStatus(t, r, http.StatusOK)
			next := r.cookie(httpapi.RefreshCookie).Value
			wantRejected(t, postRefresh(e, u.refreshCookie()))
			wantRejected(t, postRefresh(e, refreshCookieFor(next)))
		})
	}
	// Strict mode: the first rotation wins; every other request presents a
	// token that was already rotated, which is reuse, so the family is
	// revoked and the winner's new tokens die with it.
	for _, n := range []int{2, 5, 20} {
		t.Run(fmt.Sprintf("strict N=%d", n), func(t *testing.T) {
			e := newEnv(t, func(c *gatehouseConfig, _ *httpapiConfig) { c.ReuseGrace = 0 })
			u := e.register("jade@example.org")
			res := raceRequests(e, n, func(int) sentResult { return sendRaw(e, "POST", "/auth/refresh", u.refreshCookie(), nil, nil) })
			var winners []sentResult
			for i, r := range res {
				switch {
				case r.err != nil:
					t.Fatalf("request %d: %v", i, r.err)
				case r.status == http.StatusOK:
					winners = append(winners, r)
				case r.status == http.StatusUnauthorized:
					wantNoCredentialCookie(t, r.cookies)
					if !bytes.Contains(r.body, []byte(`"urn:gatehouse:problem:unauthenticated"`)) {
						t.Fatalf("request %d: body %s is not the generic problem", i, r.body)
					}
				default:
					t.Fatalf("request %d: status %d, body %s", i, r.status, r.body)
				}
			}
			if len(winners) != 1 {
				t.Fatalf("%d requests got 200, want exactly 1", len(winners))
			}
			w := winners[0]
			sid := payloadOf(t, w.access)["sid"].(string)
			sess, err := e.db.Session(t.Context(), sid)
			if err != nil {
				t.Fatal(err)
			}
			if sess.Generation != 1 || !sess.Revoked() || sess.Reason != gatehouse.ReasonRefreshReused {
				t.Fatalf("session generation %d, revoked %v (%s); want generation 1 revoked for reuse", sess.Generation, sess.Revoked(), sess.Reason)
			}
			wantRejected(t, postRefresh(e, refreshCookieFor(w.refresh)))
			wantRejected(t, e.get("/api/protected", accessCookieFor(w.access)))
		})
	}
}

func TestF06GraceWindowAbuse(t *testing.T) {
	// chain logs in and rotates twice: R1 → R2 → R3.
	chain := func(t *testing.T, e *env) (r1, r2, r3, a3 string) {
		t.Helper()
		u := e.register("kira@example.org")
		r1 = u.refresh
		u.take(t, postRefresh(e, u.refreshCookie()))
		r2 = u.refresh
		u.take(t, postRefresh(e, u.refreshCookie()))
		if u.refresh == r2 || r2 == r1 {
			t.Fatal("rotation did not happen")
		}
		return r1, r2, u.refresh, u.access
	}
	t.Run("grandparent within grace", func(t *testing.T) {
		e := newEnv(t)
		r1, _, r3, a3 := chain(t, e)
		wantRejected(t, postRefresh(e, refreshCookieFor(r1)))
		wantRejected(t, postRefresh(e, refreshCookieFor(r3)))
		wantRejected(t, e.get("/api/protected", accessCookieFor(a3)))
	})
	t.Run("parent after grace", func(t *testing.T) {
		e := newEnv(t)
		_, r2, r3, a3 := chain(t, e)
		e.clock.Advance(e.cfg.ReuseGrace + time.Second)
		wantRejected(t, postRefresh(e, refreshCookieFor(r2)))
		wantRejected(t, postRefresh(e, refreshCookieFor(r3)))
		wantRejected(t, e.get("/api/protected", accessCookieFor(a3)))
	})
	t.Run("parent within grace (control)", func(t *testing.T) {
		e := newEnv(t)
		_, r2, r3, _ := chain(t, e)
		r := postRefresh(e, refreshCookieFor(r2))
		wantStatus(t, r, http.StatusOK)
		if got := r.cookie(httpapi.RefreshCookie).Value; got != r3 {
			t.Fatal("the immediate predecessor within grace got a different successor")
		}
	})
}

func TestF08AbsoluteLifetime(t *testing.T) {
	e := newEnv(t, func(c *gatehouseConfig, _ *httpapiConfig) {
		c.IdleTimeout, c.AbsoluteLifetime = time.Hour, 3*time.Hour
	})
	u := e.register("lars@example.org")
	// Refresh before every idle deadline: 50, 100, 150 and 175 minutes in.
	for _, step := range []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 25 * time.Minute} {
		e.clock.Advance(step)
		r := postRefresh(e, u.refreshCookie())
		wantStatus(t, r, http.StatusOK)
		u.take(t, r)
		if step == 25*time.Minute {
			// Five minutes before the absolute end no cookie outlives the session.
			for _, name := range []string{httpapi.AccessCookie, httpapi.RefreshCookie} {
				if c := r.cookie(name); c.MaxAge > 300 {
					t.Fatalf("cookie %s Max-Age %d outlives the session end 300 s away", name, c.MaxAge)
				}
			}
		}
	}
	end := e.clock.Now().Add(5 * time.Minute)
	if exp := payloadOf(t, u.access)["exp"]; exp != float64(end.Unix()) {
		t.Fatalf("last access token expires at %v, want the session end %d", exp, end.Unix())
	}
	e.clock.Advance(5 * time.Minute) // exactly the absolute lifetime
	wantRejected(t, postRefresh(e, u.refreshCookie()))
	// The last access token expired with the session; past the clock-skew
	// leeway it is refused like any expired token.
	e.clock.Advance(e.cfg.Leeway + time.Second)
	wantRejected(t, e.get("/api/protected", u.accessCookie()))
	// The user logs in again.
	_, lr := e.login(u.email, testPassword)
	wantStatus(t, lr, http.StatusOK)
}

func TestF09IdleTimeout(t *testing.T) {
	e := newEnv(t)
	idle := e.cfg.IdleTimeout
	u := e.register("mona@example.org")
	other, _ := e.login("mona@example.org", testPassword)

	e.clock.Advance(idle - time.Second)
	r := postRefresh(e, u.refreshCookie())
	wantStatus(t, r, http.StatusOK)
	u.take(t, r)
	e.clock.Advance(time.Second) // the other session is now idle for exactly the timeout
	wantRejected(t, postRefresh(e, other.refreshCookie()))
	list := e.get("/auth/sessions", u.accessCookie()).json(t)["sessions"].([]any)
	if len(list) != 1 {
		t.Fatalf("sessions listed = %d, want 1: an idle session is over", len(list))
	}

	e.clock.Advance(idle)
	wantRejected(t, postRefresh(e, u.refreshCookie()))
}

func TestF10LogoutTerminatesSession(t *testing.T) {
	tests := []struct {
		name   string
		cookie func(*user) string
	}{
		{"both cookies", (*user).cookies},
		{"refresh cookie only", (*user).refreshCookie},
		{"access cookie only", (*user).accessCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			u := e.register("nora@example.org")
			wantStatus(t, e.do(req{method: "POST", path: "/auth/logout", cookie: tt.cookie(u)}), http.StatusNoContent)
			for _, path := range []string{"/api/protected", "/auth/me", "/auth/verify"} {
				wantRejected(t, e.get(path, u.accessCookie()))
			}
			wantRejected(t, postRefresh(e, u.refreshCookie()))
		})
	}
}

func TestF12PasswordChangeRevokesOtherSessions(t *testing.T) {
	e := newEnv(t)
	s1 := e.register("otto@example.org")
	s2, _ := e.login("otto@example.org", testPassword)
	before := *s1

	r := e.do(req{method: "POST", path: "/auth/password", cookie: s1.accessCookie(),
		body: map[string]string{"current_password": testPassword, "new_password": "a much better passphrase 2"}})
	wantStatus(t, r, http.StatusNoContent)
	s1.take(t, r)
	if s1.access == before.access || s1.refresh == before.refresh {
		t.Fatal("the changing session did not get fresh tokens")
	}
	wantRejected(t, postRefresh(e, s2.refreshCookie()))
	wantRejected(t, e.get("/api/protected", s2.accessCookie()))

	wantStatus(t, e.get("/api/protected", s1.accessCookie()), http.StatusOK)
	r = postRefresh(e, s1.refreshCookie())
	wantStatus(t, r, http.StatusOK)
	s1.take(t, r)
	// The session's pre-change refresh token was rotated out: anyone still
	// holding it is presenting a used token, which ends the session.
	wantRejected(t, postRefresh(e, before.refreshCookie()))
	wantRejected(t, postRefresh(e, s1.refreshCookie()))
}

func TestF13DisabledAccount(t *testing.T) {
	e := newEnv(t)
	u := e.register("pavel@example.org")
	e.register("quinn@example.org")
	_, wrong := e.login("quinn@example.org", "wrong password!")
	wantStatus(t, wrong, http.StatusUnauthorized)

	if err := e.svc.DisableUser(t.Context(), u.id); err != nil {
		t.Fatal(err)
	}
	wantRejected(t, e.get("/api/protected", u.accessCookie()))
	wantRejected(t, postRefresh(e, u.refreshCookie()))
	_, lr := e.login(u.email, testPassword)
	wantStatus(t, lr, http.StatusUnauthorized)
	if !bytes.Equal(lr.body, wrong.body) {
		t.Fatalf("disabled account login body %s, wrong password body %s: want identical", lr.body, wrong.body)
	}
	wantNoCredentialCookie(t, lr.Cookies())
}

func TestF14RefreshTokenQuality(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	e := newEnv(t, storeOnFile(t, path))
	u := e.register("rosa@example.org")

	var values []string
	for range 100 {
		l, r := e.login(u.email, testPassword)
		wantStatus(t, r, http.StatusOK)
		values = append(values, l.refresh)
	}
	for range 100 {
		r := postRefresh(e, u.refreshCookie())
		wantStatus(t, r, http.StatusOK)
		u.take(t, r)
		values = append(values, u.refresh)
	}

	seen := map[string]bool{}
	prefixes := map[string]bool{}
	ones := 0
	for _, v := range values {
		if seen[v] {
			t.Fatalf("refresh value %q issued twice", v)
		}
		seen[v] = true
		if len(v) != 43 {
			t.Fatalf("refresh value %q has %d characters, want 43", v, len(v))
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(v)
		if err != nil || len(raw) != 32 {
			t.Fatalf("refresh value %q does not decode to 32 bytes: %d bytes, %v", v, len(raw), err)
		}
		if prefixes[v[:6]] {
			t.Fatalf("two refresh values share the prefix %q", v[:6])
		}
		prefixes[v[:6]] = true
		for _, b := range raw {
			for ; b != 0; b &= b - 1 {
				ones++
			}
		}
	}
	if frac := float64(ones) / float64(len(values)*256); frac < 0.47 || frac > 0.53 {
		t.Fatalf("%.3f of the refresh bits are set, want about half", frac)
	}

	// [GB] The store keeps the SHA-256 of each value and never the value.
	raw := openRawDB(t, path)
	hashes := map[string]bool{}
	rows, err := raw.QueryContext(t.Context(), `SELECT hash FROM refresh_tokens`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		hashes[string(h)] = true
	}
	rows.Close()
	for _, v := range values {
		if !hashes[string(storedHashOf(t, v))] {
			t.Fatalf("refresh_tokens has no row for the SHA-256 of %q", v)
		}
	}
	var stored [][]byte
	tables, err := raw.QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var name string
		if err := tables.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	tables.Close()
	for _, name := range names {
		rows, err := raw.QueryContext(t.Context(), `SELECT * FROM "`+name+`"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					stored = append(stored, v)
				case string:
					stored = append(stored, []byte(v))
				}
			}
		}
		rows.Close()
	}
	files, _ := filepath.Glob(path + "*") // the database, its WAL and shared memory
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, b)
	}
	for _, v := range values {
		rv, _ := base64.RawURLEncoding.DecodeString(v)
		for _, s := range stored {
			if bytes.Contains(s, rv) || bytes.Contains(s, []byte(v)) {
				t.Fatalf("the store holds refresh value %q itself", v)
			}
		}
	}
}

func TestF15TokenTypeSeparation(t *testing.T) {
	e := newEnv(t)
	a := e.register("sven@example.org")
	b := e.register("tara@example.org")

	wantRejected(t, e.get("/api/protected", accessCookieFor(a.refresh)))
	wantRejected(t, postRefresh(e, refreshCookieFor(a.access)))

	// B's refresh token with A's access token: identity comes from the
	// refresh record alone.
	r := postRefresh(e, a.accessCookie()+"; "+b.refreshCookie())
	wantStatus(t, r, http.StatusOK)
	got := &user{}
	got.take(t, r)
	if sub := payloadOf(t, got.access)["sub"]; sub != b.id {
		t.Fatalf("new access token is for %v, want B (%s)", sub, b.id)
	}
	me := e.get("/auth/me", got.accessCookie())
	wantStatus(t, me, http.StatusOK)
	if email := me.json(t)["user"].(map[string]any)["email"]; email != b.email {
		t.Fatalf("/auth/me with the new token = %v, want %s", email, b.email)
	}
	// A's session is untouched.
	wantStatus(t, e.get("/api/protected", a.accessCookie()), http.StatusOK)
	wantStatus(t, postRefresh(e, a.refreshCookie()), http.StatusOK)
}

func TestF16SessionListAndTermination(t *testing.T) {
	e := newEnv(t)
	s1 := e.register("ulla@example.org")
	ids := map[string]*user{}
	for _, ua := range []string{"device-2", "device-3"} {
		r := e.do(req{method: "POST", path: "/auth/login", body: credsBody(s1.email, testPassword), header: map[string]string{"User-Agent": ua}})
		wantStatus(t, r, http.StatusOK)
		u := &user{email: s1.email}
		u.take(t, r)
		ids[r.json(t)["session"].(map[string]any)["id"].(string)] = u
	}

	r := e.get("/auth/sessions", s1.accessCookie())
	wantStatus(t, r, http.StatusOK)
	list := r.json(t)["sessions"].([]any)
	if len(list) != 3 {
		t.Fatalf("sessions = %d, want 3", len(list))
	}
	current := ""
	agents := map[string]bool{}
	for _, s := range list {
		m := s.(map[string]any)
		agents[m["user_agent"].(string)] = true
		if m["current"] == true {
			if current != "" {
				t.Fatal("two sessions marked current")
			}
			current = m["id"].(string)
		} else if ids[m["id"].(string)] == nil {
			t.Fatalf("listed session %v is not one of ours", m["id"])
		}
	}
	if current == "" || ids[current] != nil || !agents["device-2"] || !agents["device-3"] {
		t.Fatalf("current %q, user agents %v", current, agents)
	}

	// Terminate the others.
	for id, u := range ids {
		wantStatus(t, e.do(req{method: "DELETE", path: "/auth/sessions/" + id, cookie: s1.accessCookie()}), http.StatusNoContent)
		wantRejected(t, e.get("/api/protected", u.accessCookie()))
		wantRejected(t, postRefresh(e, u.refreshCookie()))
	}
	if n := len(e.get("/auth/sessions", s1.accessCookie()).json(t)["sessions"].([]any)); n != 1 {
		t.Fatalf("sessions after terminating the others = %d, want 1", n)
	}
	wantStatus(t, e.get("/api/protected", s1.accessCookie()), http.StatusOK)
	wantStatus(t, postRefresh(e, s1.refreshCookie()), http.StatusOK)
}

func TestF17ReauthForSensitiveChanges(t *testing.T) {
	e := newEnv(t)
	u := e.register("vera@example.org")
	const next = "a much better passphrase 2"
	tests := []struct {
		name string
		body map[string]string
		want int
	}{
		{"no current password", map[string]string{"new_password": next}, http.StatusBadRequest},
		{"wrong current password", map[string]string{"current_password": "wrong password!", "new_password": next}, http.StatusForbidden},
		{"empty current password", map[string]string{"current_password": "", "new_password": next}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{method: "POST", path: "/auth/password", cookie: u.accessCookie(), body: tt.body})
			wantStatus(t, r, tt.want)
			wantNoCredentialCookie(t, r.Cookies())
		})
	}
	// There is no e-mail change: the field is refused, and the address stays.
	r := e.do(req{method: "PATCH", path: "/auth/me", cookie: u.accessCookie(), body: map[string]string{"email": "evil@example.org"}})
	wantStatus(t, r, http.StatusBadRequest)
	if email := e.get("/auth/me", u.accessCookie()).json(t)["user"].(map[string]any)["email"]; email != u.email {
		t.Fatalf("email = %v after a refused change", email)
	}
	// Nothing changed: the old password works and the new one does not.
	_, lr := e.login(u.email, next)
	wantStatus(t, lr, http.StatusUnauthorized)
	_, lr = e.login(u.email, testPassword)
	wantStatus(t, lr, http.StatusOK)
}

// parseLogEvents parses a JSON log, one object per line; a line that is not a
// JSON object is a forged or broken line and fails the test.
func parseLogEvents(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(logs) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not a JSON object: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// capturedLog is a JSON log the test reads while the server writes it.
type capturedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *capturedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *capturedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// captureLogs sends the service's and the handler's logs to l.
func captureLogs(l *capturedLog) option {
	return func(c *gatehouseConfig, h *httpapiConfig) {
		c.Logger = slog.New(slog.NewJSONHandler(l, nil))
		h.Logger = c.Logger
	}
}
