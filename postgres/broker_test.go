package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// listen runs b.Listen in the background, sending what it hears on the
// returned channel and its result on the other.
func listen(t *testing.T, ctx context.Context, b *Broker) (<-chan gatehouse.Revocation, <-chan error) {
	t.Helper()
	got := make(chan gatehouse.Revocation, 16)
	done := make(chan error, 1)
	go func() {
		done <- b.Listen(ctx, func(r gatehouse.Revocation) {
			select {
			case got <- r:
			default:
			}
		})
	}()
	return got, done
}

// publishUntilHeard publishes r until the listener hears it: LISTEN takes
// effect a moment after Listen is called, and what is published before is
// not delivered.
func publishUntilHeard(t *testing.T, b *Broker, r gatehouse.Revocation, got <-chan gatehouse.Revocation) {
	t.Helper()
	deadline := time.After(3 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := b.Publish(t.Context(), r); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		select {
		case h := <-got:
			if h.SessionID != r.SessionID || !h.RevokedAt.Equal(r.RevokedAt) || h.RevokedAt.Location() != time.UTC {
				t.Fatalf("heard %+v, want %+v in UTC", h, r)
			}
			return
		case <-deadline:
			t.Fatalf("revocation %s never heard", r.SessionID)
		case <-tick.C:
		}
	}
}

func TestBroker(t *testing.T) {
	a, url := openTest(t, Options{})
	b, err := Open(t.Context(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	ctx, cancel := context.WithCancel(t.Context())
	got, done := listen(t, ctx, b.Broker())
	r := gatehouse.Revocation{SessionID: "s-1", RevokedAt: time.Date(2031, 3, 14, 15, 9, 26, 535_897_000, time.FixedZone("IST", 19800))}
	publishUntilHeard(t, a.Broker(), r, got)
	drain(got)

	// Whatever else is on the channel is ignored, and the listener goes on.
	for _, junk := range []string{`not json`, `{}`, `{"session_id":"s-2"}`, `{"session_id":"","revoked_at":"2031-03-14T00:00:00Z"}`} {
		if _, err := a.pool.Exec(t.Context(), `SELECT pg_notify($1, $2)`, Channel, junk); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	next := gatehouse.Revocation{SessionID: "s-3", RevokedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := a.Broker().Publish(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-got:
		if h.SessionID != next.SessionID {
			t.Errorf("after junk payloads heard %+v, want %+v", h, next)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("revocation took %v to arrive, want under a second", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("revocation after junk payloads never heard")
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Listen after cancel returned %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
}

// TestBrokerOutage cuts the listener's connection: Listen returns an error
// matching ErrUnavailable at once, and a new Listen after the network is
// back hears revocations again.
func TestBrokerOutage(t *testing.T) {
	pub, url := openTest(t, Options{})
	p := testenv.StartProxy(t, hostOf(t, url))
	sub, err := Open(t.Context(), withHost(t, url, p.Addr()), Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got, done := listen(t, t.Context(), sub.Broker())
	publishUntilHeard(t, pub.Broker(), gatehouse.Revocation{SessionID: "before", RevokedAt: time.Now().UTC().Truncate(time.Microsecond)}, got)

	p.Stop()
	select {
	case err := <-done:
		if !errors.Is(err, gatehouse.ErrUnavailable) {
			t.Errorf("Listen when its connection broke returned %v, want ErrUnavailable", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Listen did not return when its connection broke")
	}
	start := time.Now()
	err = sub.Broker().Listen(t.Context(), func(gatehouse.Revocation) {})
	wantUnavailable(t, "Listen during the outage", err, time.Since(start), 2*time.Second)

	p.Start(t)
	got, _ = listen(t, t.Context(), sub.Broker())
	publishUntilHeard(t, pub.Broker(), gatehouse.Revocation{SessionID: "after", RevokedAt: time.Now().UTC().Truncate(time.Microsecond)}, got)
}

func drain(c <-chan gatehouse.Revocation) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}
