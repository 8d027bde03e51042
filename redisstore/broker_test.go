package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func revocation(id string) gatehouse.Revocation {
	return gatehouse.Revocation{SessionID: id, RevokedAt: time.Now().UTC().Truncate(time.Microsecond)}
}

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

// publishUntilHeard publishes r until the listener hears it: the
// subscription takes effect a moment after Listen is called, and what is
// published before is not delivered.
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

func drain(c <-chan gatehouse.Revocation) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func TestBroker(t *testing.T) {
	prefix := testPrefix()
	a, b := openTest(t, prefix), openTest(t, prefix)
	other := openTest(t, "") // another deployment on the same Redis

	ctx, cancel := context.WithCancel(t.Context())
	got, done := listen(t, ctx, b.Broker())
	otherGot, _ := listen(t, ctx, other.Broker())
	r := revocation("s-1")
	r.RevokedAt = r.RevokedAt.In(time.FixedZone("IST", 19800))
	publishUntilHeard(t, a.Broker(), r, got)
	drain(got)

	// Whatever else is on the channel is ignored, and the listener goes on.
	for _, junk := range []string{`not json`, `{}`, `{"session_id":"s-2"}`, `{"session_id":"","revoked_at":"2031-03-14T00:00:00Z"}`} {
		if err := a.rdb.Publish(t.Context(), a.Broker().channel(), junk).Err(); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	next := revocation("s-3")
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
	select {
	case h := <-otherGot:
		t.Errorf("a listener under another prefix heard %+v", h)
	default:
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
