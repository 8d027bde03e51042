package gatehouse_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/throttle"
	"github.com/gatehouse/gatehouse/token"
)

const (
	testPassword = "correct horse battery staple"
	newPassword  = "a much better passphrase 2"
)

// tinyParams keep argon2id cheap in tests; production parameters come from the policy.
var tinyParams = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

var (
	masterKey  = bytes.Repeat([]byte{7}, gatehouse.MasterKeySize)
	refreshKey = bytes.Repeat([]byte{9}, 32)
	client     = gatehouse.Client{IP: "192.0.2.1", UserAgent: "service-test"}
)

// clock is a settable time source, so that expiry needs no sleeping.
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

// fixture is a Service on a real SQLite file in a temporary directory.
type fixture struct {
	svc   *gatehouse.Service
	db    *sqlite.DB
	path  string
	clock *clock
	cfg   gatehouse.Config
}

// newFixture opens a new store and builds a Service on it; opts adjust the
// policy before the Service is built.
func newFixture(t *testing.T, opts ...func(*gatehouse.Config)) *fixture {
	t.Helper()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	return newFixtureAt(t, filepath.Join(t.TempDir(), "gatehouse.db"), clk, opts...)
}

// newFixtureAt builds a Service on the SQLite file at path, opened anew, as a
// second server instance sharing the database would.
func newFixtureAt(t *testing.T, path string, clk *clock, opts ...func(*gatehouse.Config)) *fixture {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := gatehouse.NewKeyring(db, masterKey, token.EdDSA, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.EnsureActive(t.Context()); err != nil {
		t.Fatal(err)
	}
	cfg := gatehouse.Config{
		Users: db, Sessions: db, Keys: keys,
		Hasher:  password.NewHasher(password.Options{Params: tinyParams}),
		Limiter: throttle.NewMemory(clk.Now),
		Issuer:  "https://auth.test", Audience: "gatehouse",
		AccessTTL: 10 * time.Minute, Leeway: 30 * time.Second,
		IdleTimeout: 24 * time.Hour, AbsoluteLifetime: 72 * time.Hour, ReuseGrace: 10 * time.Second,
		PasswordRules:    password.Rules{MinLength: 8, MaxLength: 1024},
		RegistrationOpen: true,
		AccountLimit:     gatehouse.Limit{MaxFailures: 5, Window: 15 * time.Minute},
		IPLimit:          gatehouse.Limit{MaxFailures: 50, Window: 15 * time.Minute},
		RefreshKey:       refreshKey,
		Now:              clk.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := gatehouse.NewService(cfg)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return &fixture{svc: svc, db: db, path: path, clock: clk, cfg: cfg}
}

func (f *fixture) register(t *testing.T, email string) (*gatehouse.User, *gatehouse.Grant) {
	t.Helper()
	u, g, err := f.svc.Register(t.Context(), email, testPassword, client)
	if err != nil {
		t.Fatalf("Register(%q): %v", email, err)
	}
	return u, g
}

func (f *fixture) login(t *testing.T, email, pw string) *gatehouse.Grant {
	t.Helper()
	_, g, err := f.svc.Login(t.Context(), email, pw, client)
	if err != nil {
		t.Fatalf("Login(%q): %v", email, err)
	}
	return g
}

func (f *fixture) refresh(t *testing.T, rt string) *gatehouse.Grant {
	t.Helper()
	g, err := f.svc.Refresh(t.Context(), rt, client)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	return g
}

func (f *fixture) principal(t *testing.T, g *gatehouse.Grant) *gatehouse.Principal {
	t.Helper()
	p, err := f.svc.Authenticate(t.Context(), g.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func wantThrottled(t *testing.T, what string, err error, retry time.Duration) {
	t.Helper()
	var te *gatehouse.ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, gatehouse.ErrThrottled) {
		t.Fatalf("%s: got error %v, want *ThrottledError", what, err)
	}
	if te.RetryAfter != retry {
		t.Fatalf("%s: RetryAfter = %v, want %v", what, te.RetryAfter, retry)
	}
}

func wantInputError(t *testing.T, what string, err error, field string, kind error) {
	t.Helper()
	var ie *gatehouse.InputError
	if !errors.As(err, &ie) || !errors.Is(err, kind) {
		t.Fatalf("%s: got error %v, want *InputError wrapping %v", what, err, kind)
	}
	if ie.Field != field {
		t.Fatalf("%s: InputError.Field = %q, want %q", what, ie.Field, field)
	}
}

func TestServiceRegister(t *testing.T) {
	f := newFixture(t)
	u, g := f.register(t, "  Alice@Example.ORG ")
	if u.Email != "alice@example.org" || u.ID == "" {
		t.Fatalf("registered user = %+v, want normalised email and an id", u)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("stored hash %q is not an argon2id PHC string with the configured params", u.PasswordHash)
	}
	if g.Session.UserID != u.ID || len(g.RefreshToken) != 43 || g.AccessToken == "" {
		t.Fatalf("grant = %+v", g)
	}
	if p := f.principal(t, g); p.UserID != u.ID || p.Email != u.Email || p.SessionID != g.Session.ID {
		t.Fatalf("principal = %+v", p)
	}

	tests := []struct {
		name, email, pw string
		field           string
		want            error
	}{
		{"taken", "ALICE@example.org", testPassword, "", gatehouse.ErrEmailTaken},
		{"bad email", "not-an-email", testPassword, "email", gatehouse.ErrInvalidInput},
		{"empty email", " ", testPassword, "email", gatehouse.ErrInvalidInput},
		{"short password", "bob@example.org", "short", "password", gatehouse.ErrWeakPassword},
		{"too long password", "bob@example.org", strings.Repeat("x", 1025), "password", gatehouse.ErrWeakPassword},
		{"common password", "bob@example.org", "password123", "password", gatehouse.ErrWeakPassword},
		{"product name", "bob@example.org", "Gatehouse2026!", "password", gatehouse.ErrWeakPassword},
		{"own email", "robert@example.org", "Robert-rules-2026", "password", gatehouse.ErrWeakPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, g, err := f.svc.Register(t.Context(), tt.email, tt.pw, client)
			if u != nil || g != nil {
				t.Fatalf("Register returned a user or grant with error %v", err)
			}
			if tt.field == "" {
				wantErr(t, "Register", err, tt.want)
				return
			}
			wantInputError(t, "Register", err, tt.field, tt.want)
		})
	}

	t.Run("closed", func(t *testing.T) {
		f := newFixture(t, func(c *gatehouse.Config) { c.RegistrationOpen = false })
		_, _, err := f.svc.Register(t.Context(), "carol@example.org", testPassword, client)
		wantErr(t, "Register", err, gatehouse.ErrRegistrationClosed)
		// The operator can still create accounts, which can then log in.
		if _, err := f.svc.AddUser(t.Context(), "carol@example.org", testPassword); err != nil {
			t.Fatalf("AddUser: %v", err)
		}
		f.login(t, "carol@example.org", testPassword)
		_, err = f.svc.AddUser(t.Context(), "Carol@example.org", testPassword)
		wantErr(t, "AddUser of a taken email", err, gatehouse.ErrEmailTaken)
	})
}

func TestServiceLogin(t *testing.T) {
	f := newFixture(t)
	u, _ := f.register(t, "dora@example.org")
	disabled, _ := f.register(t, "ed@example.org")
	if err := f.svc.DisableUser(t.Context(), disabled.ID); err != nil {
		t.Fatal(err)
	}

	got, g, err := f.svc.Login(t.Context(), " DORA@example.org", testPassword, client)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if got.ID != u.ID || g.Session.UserID != u.ID {
		t.Fatalf("Login returned user %s session user %s, want %s", got.ID, g.Session.UserID, u.ID)
	}

	// An unknown email, a wrong password and a disabled account are one error (G-01).
	for _, tt := range []struct{ name, email, pw string }{
		{"wrong password", "dora@example.org", "wrong password!"},
		{"unknown email", "nobody@example.org", testPassword},
		{"disabled", "ed@example.org", testPassword},
		{"empty password", "dora@example.org", ""},
		{"empty email", "", testPassword},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, g, err := f.svc.Login(t.Context(), tt.email, tt.pw, client)
			wantErr(t, "Login", err, gatehouse.ErrInvalidCredentials)
			if u != nil || g != nil {
				t.Fatal("failed login returned a user or grant")
			}
		})
	}
	t.Run("too long", func(t *testing.T) {
		_, _, err := f.svc.Login(t.Context(), "dora@example.org", strings.Repeat("x", 1025), client)
		wantInputError(t, "Login", err, "password", gatehouse.ErrInvalidInput)
	})
}

func TestServiceLoginThrottled(t *testing.T) {
	t.Run("account", func(t *testing.T) {
		f := newFixture(t)
		f.register(t, "fay@example.org")
		for i := range 5 {
			_, _, err := f.svc.Login(t.Context(), "fay@example.org", "wrong password!", client)
			wantErr(t, "wrong password", err, gatehouse.ErrInvalidCredentials)
			if i == 0 {
				f.clock.Advance(time.Minute)
			}
		}
		// The window started at the first failure, a minute ago.
		_, _, err := f.svc.Login(t.Context(), "FAY@example.org", testPassword, gatehouse.Client{IP: "198.51.100.9"})
		wantThrottled(t, "correct password while throttled", err, 14*time.Minute)
		f.clock.Advance(14 * time.Minute)
		f.login(t, "fay@example.org", testPassword)
	})
	t.Run("success resets the account", func(t *testing.T) {
		f := newFixture(t)
		f.register(t, "gus@example.org")
		for range 4 {
			f.svc.Login(t.Context(), "gus@example.org", "wrong password!", client)
		}
		f.login(t, "gus@example.org", testPassword)
		for range 5 {
			_, _, err := f.svc.Login(t.Context(), "gus@example.org", "wrong password!", client)
			wantErr(t, "wrong password after a success", err, gatehouse.ErrInvalidCredentials)
		}
		_, _, err := f.svc.Login(t.Context(), "gus@example.org", "wrong password!", client)
		wantThrottled(t, "sixth failure", err, 15*time.Minute)
	})
	t.Run("ip", func(t *testing.T) {
		f := newFixture(t, func(c *gatehouse.Config) { c.IPLimit = gatehouse.Limit{MaxFailures: 3, Window: time.Minute} })
		f.register(t, "hal@example.org")
		for i := range 3 {
			_, _, err := f.svc.Login(t.Context(), "user"+string(rune('a'+i))+"@example.org", "wrong password!", client)
			wantErr(t, "spraying", err, gatehouse.ErrInvalidCredentials)
		}
		_, _, err := f.svc.Login(t.Context(), "hal@example.org", testPassword, client)
		wantThrottled(t, "after spraying", err, time.Minute)
		// Another address is not affected.
		if _, _, err := f.svc.Login(t.Context(), "hal@example.org", testPassword, gatehouse.Client{IP: "192.0.2.2"}); err != nil {
			t.Fatalf("Login from another address: %v", err)
		}
	})
}

// eventLog is an EventSink that keeps what it is given.
type eventLog struct {
	mu     sync.Mutex
	events []gatehouse.Event
}

func (l *eventLog) Record(_ context.Context, e gatehouse.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) named(name string) []gatehouse.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []gatehouse.Event
	for _, e := range l.events {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// TestServiceSecurityEvents checks the events G-14 reads: each names the
// account concerned where there is one, and carries no secret.
func TestServiceSecurityEvents(t *testing.T) {
	sink := &eventLog{}
	f := newFixture(t, func(c *gatehouse.Config) { c.Events = sink })
	u, g := f.register(t, "yael@example.org")
	for range 5 {
		f.svc.Login(t.Context(), "yael@example.org", "wrong password!", client)
		f.svc.Login(t.Context(), "nobody@example.org", "wrong password!", client)
	}
	f.svc.Login(t.Context(), "yael@example.org", testPassword, client)
	f.svc.Login(t.Context(), "nobody@example.org", testPassword, client)
	f.clock.Advance(15 * time.Minute)
	g2 := f.refresh(t, g.RefreshToken)
	f.clock.Advance(11 * time.Second)
	f.svc.Refresh(t.Context(), g.RefreshToken, client)

	for _, tt := range []struct {
		name, reason, user string
	}{
		{gatehouse.EventRegister, "", u.ID},
		{gatehouse.EventLoginFailure, "bad_password", u.ID},
		{gatehouse.EventLoginFailure, "unknown_user", ""},
		{gatehouse.EventThrottled, "account", u.ID},
		{gatehouse.EventRefresh, "", u.ID},
		{gatehouse.EventRefreshReused, "reuse", u.ID},
	} {
		var found bool
		for _, e := range sink.named(tt.name) {
			if e.Reason != tt.reason {
				continue
			}
			if e.Time.IsZero() || e.IP != client.IP || e.Outcome == "" {
				t.Fatalf("%s event lacks time, address or outcome: %+v", tt.name, e)
			}
			if e.UserID == tt.user {
				found = true
			}
		}
		if !found {
			t.Fatalf("no %s event with reason %q for user %q among %+v", tt.name, tt.reason, tt.user, sink.named(tt.name))
		}
	}
	for _, e := range sink.events {
		for _, secret := range []string{testPassword, "wrong password!", g.AccessToken, g.RefreshToken, g2.AccessToken, g2.RefreshToken} {
			if strings.Contains(fmt.Sprintf("%+v", e), secret) {
				t.Fatalf("event %s carries a secret", e.Name)
			}
		}
	}
}

func TestServiceRefresh(t *testing.T) {
	f := newFixture(t)
	_, g1 := f.register(t, "ida@example.org")
	g2 := f.refresh(t, g1.RefreshToken)
	if g2.RefreshToken == g1.RefreshToken || g2.AccessToken == g1.AccessToken {
		t.Fatal("refresh did not rotate both tokens")
	}
	if g2.Session.ID != g1.Session.ID || g2.Session.Generation != 1 {
		t.Fatalf("refreshed session %s generation %d, want %s generation 1", g2.Session.ID, g2.Session.Generation, g1.Session.ID)
	}
	f.principal(t, g2)

	for _, tt := range []struct{ name, token string }{
		{"empty", ""},
		{"short", "abc"},
		{"unknown", strings.Repeat("A", 43)},
		{"non-canonical last character", strings.Repeat("A", 42) + "B"},
		{"padded", strings.Repeat("A", 43) + "="},
		{"standard alphabet", strings.Repeat("+", 43)},
		{"access token", g2.AccessToken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := f.svc.Refresh(t.Context(), tt.token, client)
			wantErr(t, "Refresh", err, gatehouse.ErrRefreshInvalid)
			if g != nil {
				t.Fatal("failed refresh returned a grant")
			}
		})
	}
	// The session survived all of that.
	f.refresh(t, g2.RefreshToken)
}

// TestServiceRefreshGrace covers F-05 and F-06 at the domain level.
func TestServiceRefreshGrace(t *testing.T) {
	t.Run("predecessor within grace gets the same successor", func(t *testing.T) {
		f := newFixture(t)
		_, g1 := f.register(t, "jan@example.org")
		g2 := f.refresh(t, g1.RefreshToken)
		f.clock.Advance(10 * time.Second) // the window includes its end
		again := f.refresh(t, g1.RefreshToken)
		if again.RefreshToken != g2.RefreshToken {
			t.Fatal("replay within grace got a different successor: the family forked")
		}
		sess, err := f.db.Session(t.Context(), g1.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sess.Generation != 1 {
			t.Fatalf("generation = %d after a replay within grace, want 1", sess.Generation)
		}
		f.refresh(t, g2.RefreshToken)
	})
	t.Run("predecessor after grace revokes the family", func(t *testing.T) {
		f := newFixture(t)
		_, g1 := f.register(t, "kim@example.org")
		g2 := f.refresh(t, g1.RefreshToken)
		f.clock.Advance(11 * time.Second)
		_, err := f.svc.Refresh(t.Context(), g1.RefreshToken, client)
		wantErr(t, "replay after grace", err, gatehouse.ErrRefreshReused)
		_, err = f.svc.Refresh(t.Context(), g2.RefreshToken, client)
		wantErr(t, "successor after reuse", err, gatehouse.ErrSessionEnded)
		_, err = f.svc.Authenticate(t.Context(), g2.AccessToken)
		wantErr(t, "access token after reuse", err, gatehouse.ErrUnauthenticated)
		sess, _ := f.db.Session(t.Context(), g1.Session.ID)
		if sess.Reason != gatehouse.ReasonRefreshReused {
			t.Fatalf("session reason = %q, want %q", sess.Reason, gatehouse.ReasonRefreshReused)
		}
	})
	t.Run("two generations old within grace revokes the family", func(t *testing.T) {
		f := newFixture(t)
		_, g1 := f.register(t, "lea@example.org")
		g2 := f.refresh(t, g1.RefreshToken)
		g3 := f.refresh(t, g2.RefreshToken)
		_, err := f.svc.Refresh(t.Context(), g1.RefreshToken, client)
		wantErr(t, "grandparent within grace", err, gatehouse.ErrRefreshReused)
		_, err = f.svc.Refresh(t.Context(), g3.RefreshToken, client)
		wantErr(t, "current after reuse", err, gatehouse.ErrSessionEnded)
	})
	t.Run("strict mode (ReuseGrace 0) honours no replay", func(t *testing.T) {
		f := newFixture(t, func(c *gatehouse.Config) { c.ReuseGrace = 0 })
		_, g1 := f.register(t, "max@example.org")
		g2 := f.refresh(t, g1.RefreshToken)
		// The clock has not moved: the replay comes in the same instant.
		_, err := f.svc.Refresh(t.Context(), g1.RefreshToken, client)
		wantErr(t, "immediate replay with no grace", err, gatehouse.ErrRefreshReused)
		_, err = f.svc.Refresh(t.Context(), g2.RefreshToken, client)
		wantErr(t, "successor after reuse", err, gatehouse.ErrSessionEnded)
	})
}

func TestServiceSessionLifetime(t *testing.T) {
	short := func(c *gatehouse.Config) { c.IdleTimeout, c.AbsoluteLifetime = time.Hour, 3*time.Hour }
	t.Run("idle", func(t *testing.T) {
		f := newFixture(t, short)
		_, g := f.register(t, "ned@example.org")
		f.clock.Advance(time.Hour - time.Second)
		g = f.refresh(t, g.RefreshToken)
		f.clock.Advance(time.Hour)
		_, err := f.svc.Refresh(t.Context(), g.RefreshToken, client)
		wantErr(t, "refresh after the idle timeout", err, gatehouse.ErrSessionEnded)
	})
	t.Run("absolute", func(t *testing.T) {
		f := newFixture(t, short)
		_, g := f.register(t, "ola@example.org")
		end := g.Session.ExpiresAt
		for range 3 {
			f.clock.Advance(50 * time.Minute)
			g = f.refresh(t, g.RefreshToken)
		}
		f.clock.Advance(25 * time.Minute) // 175 minutes in
		g = f.refresh(t, g.RefreshToken)
		if !g.AccessExpiresAt.Equal(end) || !g.RefreshExpiresAt.Equal(end) {
			t.Fatalf("near the end, tokens expire at %v and %v, want the session end %v", g.AccessExpiresAt, g.RefreshExpiresAt, end)
		}
		f.clock.Advance(5 * time.Minute)
		_, err := f.svc.Refresh(t.Context(), g.RefreshToken, client)
		wantErr(t, "refresh at the absolute end", err, gatehouse.ErrSessionEnded)
	})
}

func TestServiceLogout(t *testing.T) {
	f := newFixture(t)
	f.register(t, "pia@example.org")
	tests := []struct {
		name          string
		access, fresh bool
	}{
		{"both tokens", true, true},
		{"access token only", true, false},
		{"refresh token only", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := f.login(t, "pia@example.org", testPassword)
			var at, rt string
			if tt.access {
				at = g.AccessToken
			}
			if tt.fresh {
				rt = g.RefreshToken
			}
			if err := f.svc.Logout(t.Context(), at, rt, client); err != nil {
				t.Fatalf("Logout: %v", err)
			}
			_, err := f.svc.Authenticate(t.Context(), g.AccessToken)
			wantErr(t, "access token after logout", err, gatehouse.ErrUnauthenticated)
			_, err = f.svc.Refresh(t.Context(), g.RefreshToken, client)
			wantErr(t, "refresh token after logout", err, gatehouse.ErrSessionEnded)
			if err := f.svc.Logout(t.Context(), at, rt, client); err != nil {
				t.Fatalf("second Logout: %v", err)
			}
		})
	}
	t.Run("nothing to end", func(t *testing.T) {
		for _, tok := range [][2]string{{"", ""}, {"garbage", "garbage"}, {"", strings.Repeat("A", 43)}} {
			if err := f.svc.Logout(t.Context(), tok[0], tok[1], client); err != nil {
				t.Fatalf("Logout(%q, %q) = %v, want nil", tok[0], tok[1], err)
			}
		}
	})
}

func TestServiceChangePassword(t *testing.T) {
	f := newFixture(t)
	_, g := f.register(t, "quinn@example.org")
	other := f.login(t, "quinn@example.org", testPassword)
	p := f.principal(t, g)

	for _, tt := range []struct{ name, current, next string }{
		{"wrong current", "wrong password!", newPassword},
		{"empty current", "", newPassword},
		{"too long current", strings.Repeat("x", 1025), newPassword},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ng, err := f.svc.ChangePassword(t.Context(), p, tt.current, tt.next, client)
			wantErr(t, "ChangePassword", err, gatehouse.ErrCurrentPassword)
			if ng != nil {
				t.Fatal("failed change returned a grant")
			}
		})
	}
	for _, tt := range []struct{ name, next string }{
		{"short new", "short"},
		{"common new", "password123"},
		{"too long new", strings.Repeat("x", 1025)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.ChangePassword(t.Context(), p, testPassword, tt.next, client)
			wantInputError(t, "ChangePassword", err, "new_password", gatehouse.ErrWeakPassword)
		})
	}
	f.login(t, "quinn@example.org", testPassword) // unchanged so far; also clears the failures

	ng, err := f.svc.ChangePassword(t.Context(), p, testPassword, newPassword, client)
	if err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if ng.Session.ID != g.Session.ID || ng.RefreshToken == g.RefreshToken {
		t.Fatal("change did not give the current session a new refresh token")
	}
	f.principal(t, ng)
	_, err = f.svc.Authenticate(t.Context(), other.AccessToken)
	wantErr(t, "other session's access token", err, gatehouse.ErrUnauthenticated)
	_, err = f.svc.Refresh(t.Context(), other.RefreshToken, client)
	wantErr(t, "other session's refresh token", err, gatehouse.ErrSessionEnded)
	_, _, err = f.svc.Login(t.Context(), "quinn@example.org", testPassword, client)
	wantErr(t, "old password", err, gatehouse.ErrInvalidCredentials)
	f.login(t, "quinn@example.org", newPassword)
	// The session's own pre-change refresh token is now a rotated one: reuse.
	_, err = f.svc.Refresh(t.Context(), g.RefreshToken, client)
	wantErr(t, "pre-change refresh token", err, gatehouse.ErrRefreshReused)

	t.Run("throttled like login", func(t *testing.T) {
		f := newFixture(t)
		_, g := f.register(t, "rex@example.org")
		p := f.principal(t, g)
		for range 5 {
			_, err := f.svc.ChangePassword(t.Context(), p, "wrong password!", newPassword, client)
			wantErr(t, "wrong current", err, gatehouse.ErrCurrentPassword)
		}
		_, err := f.svc.ChangePassword(t.Context(), p, testPassword, newPassword, client)
		wantThrottled(t, "correct current while throttled", err, 15*time.Minute)
		_, _, err = f.svc.Login(t.Context(), "rex@example.org", testPassword, client)
		wantThrottled(t, "login while throttled", err, 15*time.Minute)
	})
}

func TestServiceRevokeSession(t *testing.T) {
	f := newFixture(t)
	_, a1 := f.register(t, "sam@example.org")
	a2 := f.login(t, "sam@example.org", testPassword)
	_, b1 := f.register(t, "tia@example.org")
	pa := f.principal(t, a1)

	list, err := f.svc.Sessions(t.Context(), pa)
	if err != nil || len(list) != 2 {
		t.Fatalf("Sessions = %d sessions, %v; want 2", len(list), err)
	}
	if err := f.svc.RevokeSession(t.Context(), pa, a2.Session.ID, client); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	_, err = f.svc.Authenticate(t.Context(), a2.AccessToken)
	wantErr(t, "revoked session's access token", err, gatehouse.ErrUnauthenticated)
	_, err = f.svc.Refresh(t.Context(), a2.RefreshToken, client)
	wantErr(t, "revoked session's refresh token", err, gatehouse.ErrSessionEnded)

	for _, tt := range []struct{ name, id string }{
		{"already revoked", a2.Session.ID},
		{"another user's", b1.Session.ID},
		{"unknown", "nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := f.svc.RevokeSession(t.Context(), pa, tt.id, client)
			wantErr(t, "RevokeSession", err, gatehouse.ErrNotFound)
		})
	}
	f.principal(t, b1)
	f.principal(t, a1)
	if list, _ := f.svc.Sessions(t.Context(), pa); len(list) != 1 || list[0].ID != a1.Session.ID {
		t.Fatalf("Sessions after revoking one = %v, want only the current", list)
	}
	if err := f.svc.LogoutAll(t.Context(), pa, client); err != nil {
		t.Fatalf("LogoutAll: %v", err)
	}
	_, err = f.svc.Authenticate(t.Context(), a1.AccessToken)
	wantErr(t, "after LogoutAll", err, gatehouse.ErrUnauthenticated)
	f.principal(t, b1)
}

func TestServiceDisableUser(t *testing.T) {
	f := newFixture(t)
	u, g := f.register(t, "uma@example.org")
	if err := f.svc.DisableUser(t.Context(), u.ID); err != nil {
		t.Fatalf("DisableUser: %v", err)
	}
	_, err := f.svc.Authenticate(t.Context(), g.AccessToken)
	wantErr(t, "access token of a disabled user", err, gatehouse.ErrUnauthenticated)
	_, err = f.svc.Refresh(t.Context(), g.RefreshToken, client)
	wantErr(t, "refresh token of a disabled user", err, gatehouse.ErrSessionEnded)
	_, _, err = f.svc.Login(t.Context(), "uma@example.org", testPassword, client)
	wantErr(t, "login of a disabled user", err, gatehouse.ErrInvalidCredentials)
	wantErr(t, "DisableUser of an unknown id", f.svc.DisableUser(t.Context(), "nope"), gatehouse.ErrNotFound)
}

func TestServiceAuthenticate(t *testing.T) {
	f := newFixture(t)
	u, g := f.register(t, "vic@example.org")
	p := f.principal(t, g)
	if p.UserID != u.ID || p.Email != u.Email || p.SessionID != g.Session.ID || p.TokenID == "" {
		t.Fatalf("principal = %+v", p)
	}
	if want := f.clock.Now().Add(10 * time.Minute); !p.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt = %v, want %v", p.ExpiresAt, want)
	}
	tampered := g.AccessToken[:len(g.AccessToken)-4] + "AAAA"
	for _, tt := range []struct{ name, token string }{
		{"empty", ""},
		{"garbage", "garbage"},
		{"refresh token", g.RefreshToken},
		{"bad signature", tampered},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.svc.Authenticate(t.Context(), tt.token)
			wantErr(t, "Authenticate", err, gatehouse.ErrUnauthenticated)
			if p != nil {
				t.Fatal("failed authentication returned a principal")
			}
		})
	}
	f.clock.Advance(10*time.Minute + 31*time.Second)
	_, err := f.svc.Authenticate(t.Context(), g.AccessToken)
	wantErr(t, "expired token", err, gatehouse.ErrUnauthenticated)
}

// TestServiceRehashOnLogin is H-09: raising the argon2 cost re-hashes a
// user's password at their next successful login.
func TestServiceRehashOnLogin(t *testing.T) {
	f := newFixture(t)
	u, _ := f.register(t, "wes@example.org")
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash before = %q", u.PasswordHash)
	}
	stronger := password.Params{MemoryKiB: 128, Iterations: 2, Parallelism: 1}
	b := newFixtureAt(t, f.path, f.clock, func(c *gatehouse.Config) {
		c.Hasher = password.NewHasher(password.Options{Params: stronger})
	})

	// A failed login does not rewrite anything.
	if _, _, err := b.svc.Login(t.Context(), "wes@example.org", "wrong password!", client); !errors.Is(err, gatehouse.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if got, _ := b.db.UserByID(t.Context(), u.ID); got.PasswordHash != u.PasswordHash {
		t.Fatal("a failed login rewrote the hash")
	}

	b.login(t, "wes@example.org", testPassword)
	got, err := b.db.UserByID(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Fatalf("hash after login = %q, want params m=128,t=2,p=1", got.PasswordHash)
	}
	b.login(t, "wes@example.org", testPassword)
	if again, _ := b.db.UserByID(t.Context(), u.ID); again.PasswordHash != got.PasswordHash {
		t.Fatal("a login with current parameters rewrote the hash again")
	}
	// The new hash still verifies under the old service: parameters travel
	// in the PHC string.
	f.login(t, "wes@example.org", testPassword)
}

// TestServiceSyncRevocations runs two instances on one database file: a
// session ended through one is refused by the other once it syncs.
func TestServiceSyncRevocations(t *testing.T) {
	a := newFixture(t)
	b := newFixtureAt(t, a.path, a.clock)
	_, g := a.register(t, "xia@example.org")
	seen := a.login(t, "xia@example.org", testPassword)
	// Instance b honours a's tokens, and remembers the sessions it saw alive.
	b.principal(t, g)
	b.principal(t, seen)
	unseen := a.login(t, "xia@example.org", testPassword)

	since := a.clock.Now()
	a.clock.Advance(time.Second)
	for _, gr := range []*gatehouse.Grant{g, seen, unseen} {
		if err := a.svc.Logout(t.Context(), gr.AccessToken, "", client); err != nil {
			t.Fatal(err)
		}
	}
	// A session b never saw is checked against the store: refused at once.
	_, err := b.svc.Authenticate(t.Context(), unseen.AccessToken)
	wantErr(t, "unseen session before sync", err, gatehouse.ErrUnauthenticated)
	// A session b saw alive is honoured from memory until the next sync;
	// Service.Run bounds that window by its interval.
	b.principal(t, seen)

	next, err := b.svc.SyncRevocations(t.Context(), since)
	if err != nil {
		t.Fatalf("SyncRevocations: %v", err)
	}
	if want := b.clock.Now().Add(-5 * time.Second); !next.Equal(want) {
		t.Fatalf("next since = %v, want %v", next, want)
	}
	for _, gr := range []*gatehouse.Grant{g, seen, unseen} {
		_, err := b.svc.Authenticate(t.Context(), gr.AccessToken)
		wantErr(t, "after sync", err, gatehouse.ErrUnauthenticated)
		if !b.svc.Revocations().Revoked(gr.Session.ID) {
			t.Fatalf("session %s not in b's revocation set", gr.Session.ID)
		}
	}
	_, err = b.svc.Refresh(t.Context(), seen.RefreshToken, client)
	wantErr(t, "refresh through b", err, gatehouse.ErrSessionEnded)
}

func TestRevocations(t *testing.T) {
	r := gatehouse.NewRevocations(time.Minute)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if r.Revoked("a") || r.Len() != 0 {
		t.Fatal("new set is not empty")
	}
	r.Add("a", t0)
	r.Add("a", t0.Add(30*time.Second)) // keeps the first entry
	r.Add("b", t0.Add(30*time.Second))
	if !r.Revoked("a") || !r.Revoked("b") || r.Revoked("c") || r.Len() != 2 {
		t.Fatalf("after adds: a=%v b=%v c=%v len=%d", r.Revoked("a"), r.Revoked("b"), r.Revoked("c"), r.Len())
	}
	r.Prune(t0.Add(time.Minute)) // a's deadline itself: still kept
	if !r.Revoked("a") || r.Len() != 2 {
		t.Fatal("Prune at the deadline dropped an entry")
	}
	r.Prune(t0.Add(time.Minute + time.Second))
	if r.Revoked("a") || !r.Revoked("b") || r.Len() != 1 {
		t.Fatalf("after first prune: a=%v b=%v len=%d, want only b", r.Revoked("a"), r.Revoked("b"), r.Len())
	}
	r.Prune(t0.Add(2 * time.Minute))
	if r.Revoked("b") || r.Len() != 0 {
		t.Fatalf("after second prune: b=%v len=%d, want empty", r.Revoked("b"), r.Len())
	}

	// Concurrent adds of one id count it once.
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { r.Add("c", t0) })
	}
	wg.Wait()
	if r.Len() != 1 {
		t.Fatalf("Len after concurrent adds of one id = %d, want 1", r.Len())
	}
}

// TestServiceRefreshReadsStoreState: a refresh honours what the store says
// now, through the store's joined read (one store for users and sessions)
// and through the three separate reads (another user store): a user
// disabled in the store directly, without its sessions being revoked, is
// refused; and the session a refresh returns is the one the store holds.
func TestServiceRefreshReadsStoreState(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  func(*gatehouse.Config)
	}{
		{"joined read", func(*gatehouse.Config) {}},
		{"separate reads", func(c *gatehouse.Config) { c.Users = &usersOnly{c.Users} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opt)
			u, g := f.register(t, "quinn@example.org")
			g2 := f.refresh(t, g.RefreshToken)
			stored, err := f.db.Session(t.Context(), g2.Session.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Generation != g2.Session.Generation || !stored.RotatedAt.Equal(g2.Session.RotatedAt) ||
				!stored.LastUsedAt.Equal(g2.Session.LastUsedAt) || string(stored.RefreshHash) != string(g2.Session.RefreshHash) {
				t.Fatalf("refresh returned session %+v, the store holds %+v", g2.Session, stored)
			}
			if err := f.db.SetUserDisabled(t.Context(), u.ID, true, f.clock.Now()); err != nil {
				t.Fatal(err)
			}
			_, err = f.svc.Refresh(t.Context(), g2.RefreshToken, client)
			wantErr(t, "refresh of a user disabled in the store", err, gatehouse.ErrSessionEnded)
		})
	}
}

// usersOnly is a UserStore that is not also the session store, so the
// Service reads a refresh's record, session and user separately.
type usersOnly struct{ gatehouse.UserStore }
