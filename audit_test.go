package gatehouse_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TestG14AuditTrail runs every kind of security event through a Service
// whose sink is an AuditTrail on the SQLite store, and reads the table
// back: each event is there with its time, user, address and outcome, and
// no field holds a password, a token, a refresh value or a device token.
func TestG14AuditTrail(t *testing.T) {
	var trail *gatehouse.AuditTrail
	f := newFixture(t, withDevices, withDelay, func(c *gatehouse.Config) {
		c.Stuffing = gatehouse.StuffingAlarm{MaxFailures: 3, Window: time.Minute}
		trail = gatehouse.NewAuditTrail(c.Users.(gatehouse.AuditStore), gatehouse.AuditOptions{Now: c.Now})
		c.Events = trail
	})
	t.Cleanup(func() { trail.Close() })
	ctx := t.Context()
	injected := "agent\n{\"event\":\"forged\"}\x1b[2J\u202e"
	c := gatehouse.Client{IP: "192.0.2.44", UserAgent: injected}

	u, g, err := f.svc.Register(ctx, "audit@example.org", testPassword, c)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{testPassword, newPassword, wrongPassword, g.AccessToken, g.RefreshToken, g.DeviceToken}
	_, g2, err := f.svc.Login(ctx, "audit@example.org", testPassword, c)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, g2.AccessToken, g2.RefreshToken, g2.DeviceToken)
	f.svc.Login(ctx, "audit@example.org", wrongPassword, c)
	f.svc.Login(ctx, "audit@example.org", wrongPassword, c) // within the delay: throttled
	f.svc.Login(ctx, "nobody@example.org", wrongPassword, c)
	f.svc.Login(ctx, "nobody2@example.org", wrongPassword, c)
	f.svc.Login(ctx, "nobody3@example.org", wrongPassword, c) // the fourth failure: stuffing alarm
	g3, err := f.svc.Refresh(ctx, g.RefreshToken, c)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, g3.AccessToken, g3.RefreshToken)
	f.clock.Advance(11 * time.Second)
	f.svc.Refresh(ctx, g.RefreshToken, c) // reuse
	f.clock.Advance(2 * time.Second)
	_, g4, err := f.svc.Login(ctx, "audit@example.org", testPassword, gatehouse.Client{IP: c.IP, UserAgent: injected, Device: g2.DeviceToken})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, g4.AccessToken, g4.RefreshToken, g4.DeviceToken)
	p4 := f.principal(t, g4)
	g5, err := f.svc.ChangePassword(ctx, p4, testPassword, newPassword, c)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, g5.AccessToken, g5.RefreshToken)
	_, g6, err := f.svc.Login(ctx, "audit@example.org", newPassword, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RevokeSession(ctx, f.principal(t, g5), g6.Session.ID, c); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Logout(ctx, g5.AccessToken, "", c); err != nil {
		t.Fatal(err)
	}
	_, g7, _ := f.svc.Login(ctx, "audit@example.org", newPassword, c)
	if err := f.svc.LogoutAll(ctx, f.principal(t, g7), c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cfg.Keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	trail.Close()

	events, err := f.db.AuditEvents(context.Background(), gatehouse.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	type kind struct{ name, reason string }
	seen := map[kind]gatehouse.Event{}
	for _, e := range events {
		seen[kind{e.Name, e.Reason}] = e
		for _, field := range []string{e.Name, e.UserID, e.SessionID, e.KeyID, e.IP, e.UserAgent, e.Outcome, e.Reason} {
			for _, s := range secrets {
				if s != "" && strings.Contains(field, s) {
					t.Fatalf("audit row %+v holds a secret (%.12s…)", e, s)
				}
			}
		}
		if e.Time.IsZero() || e.Outcome == "" {
			t.Errorf("audit row without time or outcome: %+v", e)
		}
	}
	for _, want := range []struct {
		kind
		user bool
	}{
		{kind{gatehouse.EventRegister, ""}, true},
		{kind{gatehouse.EventLoginSuccess, ""}, true},
		{kind{gatehouse.EventLoginSuccess, "known_device"}, true},
		{kind{gatehouse.EventLoginFailure, "bad_password"}, true},
		{kind{gatehouse.EventLoginFailure, "unknown_user"}, false},
		{kind{gatehouse.EventThrottled, "delay"}, true},
		{kind{gatehouse.EventStuffingAlarm, "threshold"}, false},
		{kind{gatehouse.EventRefresh, ""}, true},
		{kind{gatehouse.EventRefreshReused, "reuse"}, true},
		{kind{gatehouse.EventPasswordChanged, ""}, true},
		{kind{gatehouse.EventSessionRevoked, ""}, true},
		{kind{gatehouse.EventLogout, ""}, true},
		{kind{gatehouse.EventLogoutAll, ""}, true},
		{kind{gatehouse.EventKeyRotated, "activated"}, false},
	} {
		e, ok := seen[want.kind]
		if !ok {
			t.Errorf("no %s event with reason %q in the audit trail", want.name, want.reason)
			continue
		}
		if want.user && e.UserID != u.ID {
			t.Errorf("%s event names user %q, want %q", want.name, e.UserID, u.ID)
		}
		if want.user && (e.IP != c.IP || e.UserAgent != injected) {
			t.Errorf("%s event: ip %q, user agent %q; want them stored as sent", want.name, e.IP, e.UserAgent)
		}
	}
	if e := seen[kind{gatehouse.EventKeyRotated, "activated"}]; e.KeyID == "" {
		t.Errorf("key.rotated event names no key: %+v", e)
	}
	if st := trail.Stats(); st.Dropped != 0 || st.Failed != 0 || st.Written != uint64(len(events)) {
		t.Errorf("trail stats %+v, want %d written and nothing lost", st, len(events))
	}
}

// stuckStore is an AuditStore whose writes wait until released.
type stuckStore struct {
	release chan struct{}
	mu      sync.Mutex
	stored  []gatehouse.Event
}

func (s *stuckStore) AppendEvents(ctx context.Context, events []gatehouse.Event) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored = append(s.stored, events...)
	return nil
}

func (s *stuckStore) AuditEvents(context.Context, gatehouse.AuditQuery) ([]gatehouse.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gatehouse.Event(nil), s.stored...), nil
}

func (s *stuckStore) DeleteEventsBefore(context.Context, time.Time) (int64, error) { return 0, nil }

// TestAuditTrailBounded: with the store stuck, recording never blocks, the
// buffer holds what it can and the rest is dropped and counted; once the
// store answers, what was buffered is written.
func TestAuditTrailBounded(t *testing.T) {
	st := &stuckStore{release: make(chan struct{})}
	trail := gatehouse.NewAuditTrail(st, gatehouse.AuditOptions{Buffer: 8, WriteTimeout: time.Minute})
	ev := func(i int) gatehouse.Event {
		return gatehouse.Event{Time: time.Now(), Name: gatehouse.EventLoginFailure, Reason: "bad_password", UserID: string(rune('a' + i%26))}
	}
	// The first event is taken by the writer, which then waits for the store.
	trail.Record(t.Context(), ev(0))
	for trail.Stats().Queued != 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	for i := 1; i < 100; i++ {
		trail.Record(t.Context(), ev(i))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("recording 99 events with the store stuck took %v", d)
	}
	stats := trail.Stats()
	if stats.Queued != 8 || stats.Dropped != 91 {
		t.Fatalf("store stuck, buffer of 8: %d queued, %d dropped of 99; want 8 and 91", stats.Queued, stats.Dropped)
	}
	close(st.release)
	trail.Close()
	stats = trail.Stats()
	stored, _ := st.AuditEvents(t.Context(), gatehouse.AuditQuery{})
	if uint64(len(stored)) != stats.Written || stats.Written+stats.Dropped != 100 {
		t.Fatalf("after release: %d stored, stats %+v; want written + dropped = 100", len(stored), stats)
	}
	trail.Record(t.Context(), gatehouse.Event{Name: gatehouse.EventLogout})
	if trail.Stats().Dropped != stats.Dropped+1 {
		t.Fatal("an event recorded after Close was not counted as dropped")
	}
}

// TestAuditTrailThrottledOncePerMinute: a throttled client sends request
// after request; the table keeps one throttled row a minute per address and
// reason, and counts the rest as suppressed.
func TestAuditTrailThrottledOncePerMinute(t *testing.T) {
	st := &stuckStore{release: make(chan struct{})}
	close(st.release)
	trail := gatehouse.NewAuditTrail(st, gatehouse.AuditOptions{})
	now := time.Now()
	for i := range 50 {
		trail.Record(t.Context(), gatehouse.Event{Time: now.Add(time.Duration(i) * time.Second), Name: gatehouse.EventThrottled, IP: "192.0.2.7", Reason: "ip"})
		trail.Record(t.Context(), gatehouse.Event{Time: now.Add(time.Duration(i) * time.Second), Name: gatehouse.EventThrottled, IP: "192.0.2.8", Reason: "ip"})
	}
	trail.Record(t.Context(), gatehouse.Event{Time: now.Add(61 * time.Second), Name: gatehouse.EventThrottled, IP: "192.0.2.7", Reason: "ip"})
	// Other events are never suppressed.
	for range 3 {
		trail.Record(t.Context(), gatehouse.Event{Time: now, Name: gatehouse.EventLoginFailure, IP: "192.0.2.7", Reason: "bad_password"})
	}
	trail.Close()
	stored, _ := st.AuditEvents(t.Context(), gatehouse.AuditQuery{})
	if len(stored) != 6 || trail.Stats().Suppressed != 98 {
		t.Fatalf("%d rows stored, %d suppressed; want 6 (3 throttled, 3 failures) and 98", len(stored), trail.Stats().Suppressed)
	}
}

// TestAuditTrailStorableText: text a store cannot keep (invalid UTF-8, NUL)
// is replaced, so one odd user agent cannot fail a whole batch.
func TestAuditTrailStorableText(t *testing.T) {
	f := newFixture(t)
	trail := gatehouse.NewAuditTrail(f.db, gatehouse.AuditOptions{})
	trail.Record(t.Context(), gatehouse.Event{Time: time.Now(), Name: gatehouse.EventLoginFailure, UserAgent: "a\x00b\xffc"})
	trail.Close()
	got, err := f.db.AuditEvents(t.Context(), gatehouse.AuditQuery{})
	if err != nil || len(got) != 1 {
		t.Fatalf("AuditEvents = %v, %v", got, err)
	}
	if ua := got[0].UserAgent; ua != "a\uFFFDb\uFFFDc" {
		t.Fatalf("stored user agent %q, want %q", ua, "a\uFFFDb\uFFFDc")
	}
}
