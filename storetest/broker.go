package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Brokers are the gatehouse.RevocationBroker values RunBroker tests.
type Brokers struct {
	// Publisher and Listener are two separate connections of one
	// deployment, as two instances would hold.
	Publisher, Listener gatehouse.RevocationBroker
	// Raw sends payload on the brokers' channel as it is, bypassing
	// Publish, as a stray or hostile publisher would.
	Raw func(t *testing.T, payload string)
	// Other, if not nil, is a broker of another deployment on the same
	// server: it must hear nothing the other two publish.
	Other gatehouse.RevocationBroker
}

// RunBroker runs the conformance suite of gatehouse.RevocationBroker. open
// must return brokers released by t.Cleanup.
//
// A revocation published on one connection is heard on the other, in UTC
// and equal to the one published (given to the microsecond); payloads that
// are not revocations are ignored and the listener goes on, hearing the
// next one within a second; a broker of another deployment hears nothing;
// and Listen returns context.Canceled when its context ends.
func RunBroker(t *testing.T, open func(t *testing.T) Brokers) {
	// No t.Helper: a failure is reported at the line of this suite that
	// found it.
	b := open(t)
	if b.Publisher == nil || b.Listener == nil || b.Raw == nil {
		t.Fatalf("open returned %+v, want Publisher, Listener and Raw set", b)
	}

	ctx, cancel := context.WithCancel(t.Context())
	got, done := Listen(t, ctx, b.Listener)
	var otherGot <-chan gatehouse.Revocation
	if b.Other != nil {
		otherGot, _ = Listen(t, ctx, b.Other)
	}
	r := gatehouse.Revocation{SessionID: "s-1", RevokedAt: time.Date(2031, 3, 14, 15, 9, 26, 535_897_000, time.FixedZone("IST", 19800))}
	PublishUntilHeard(t, b.Publisher, r, got)
	drain(got)

	// Whatever else is on the channel is ignored, and the listener goes on.
	for _, junk := range []string{`not json`, `{}`, `{"session_id":"s-2"}`, `{"session_id":"","revoked_at":"2031-03-14T00:00:00Z"}`} {
		b.Raw(t, junk)
	}
	start := time.Now()
	next := gatehouse.Revocation{SessionID: "s-3", RevokedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := b.Publisher.Publish(t.Context(), next); err != nil {
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
	if otherGot != nil {
		select {
		case h := <-otherGot:
			t.Errorf("a listener of another deployment heard %+v", h)
		default:
		}
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

// Listen runs b.Listen in the background, sending what it hears on the
// first channel returned (dropping what does not fit its buffer of 16) and
// its result on the second.
func Listen(t *testing.T, ctx context.Context, b gatehouse.RevocationBroker) (<-chan gatehouse.Revocation, <-chan error) {
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

// PublishUntilHeard publishes r on b until got, fed by Listen, hears it,
// and fails t if what it hears is not r in UTC, or nothing within 3s. A
// subscription takes effect a moment after Listen is called, and what is
// published before is not delivered.
func PublishUntilHeard(t *testing.T, b gatehouse.RevocationBroker, r gatehouse.Revocation, got <-chan gatehouse.Revocation) {
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

// drain empties c of what it holds now.
func drain(c <-chan gatehouse.Revocation) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}
