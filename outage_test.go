package gatehouse_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// errDown stands for a store that cannot be reached.
var errDown = fmt.Errorf("test: store down: %w", gatehouse.ErrUnavailable)

// flakyStores fail every read the service makes of them while down is set,
// as a store behind a broken network would.
type flakyStores struct {
	gatehouse.UserStore
	gatehouse.SessionStore
	down atomic.Bool
}

func (f *flakyStores) UserByID(ctx context.Context, id string) (*gatehouse.User, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.UserStore.UserByID(ctx, id)
}

func (f *flakyStores) Session(ctx context.Context, id string) (*gatehouse.Session, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.SessionStore.Session(ctx, id)
}

func (f *flakyStores) RevokedSince(ctx context.Context, since time.Time) ([]gatehouse.Revocation, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.SessionStore.RevokedSince(ctx, since)
}

// TestStoreOutage shows what a second instance does while its store is
// unreachable: tokens of sessions it has seen still verify, a session it
// has not seen is ErrUnavailable (a 503, never a 401 that would log the
// user out), and Run keeps trying, so that once the store is back the
// revocations made meanwhile by the other instance reach it.
func TestStoreOutage(t *testing.T) {
	a := newFixture(t)
	flaky := &flakyStores{}
	b := newFixtureAt(t, a.path, a.clock, func(c *gatehouse.Config) {
		flaky.UserStore, flaky.SessionStore = c.Users, c.Sessions
		c.Users, c.Sessions = flaky, flaky
	})
	_, seen := a.register(t, "seen@example.org")
	_, unseen := a.register(t, "unseen@example.org")
	if _, err := b.svc.Authenticate(t.Context(), seen.AccessToken); err != nil {
		t.Fatalf("Authenticate on b before the outage: %v", err)
	}

	flaky.down.Store(true)
	// Run starts during the outage: its first sync fails, and it must not
	// give up.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.svc.Run(ctx, 10*time.Millisecond) }()

	if _, err := b.svc.Authenticate(t.Context(), seen.AccessToken); err != nil {
		t.Errorf("Authenticate of a seen session during the outage: %v, want success", err)
	}
	_, err := b.svc.Authenticate(t.Context(), unseen.AccessToken)
	if !errors.Is(err, gatehouse.ErrUnavailable) || errors.Is(err, gatehouse.ErrUnauthenticated) {
		t.Errorf("Authenticate of an unseen session during the outage: %v, want ErrUnavailable only", err)
	}
	if err := a.svc.Logout(t.Context(), seen.AccessToken, "", client); err != nil {
		t.Fatalf("Logout on a: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // several failed syncs
	select {
	case err := <-done:
		t.Fatalf("Run returned %v during the outage, want it to keep going", err)
	default:
	}

	flaky.down.Store(false)
	deadline := time.Now().Add(2 * time.Second)
	for !b.svc.Revocations().Revoked(seen.Session.ID) {
		if time.Now().After(deadline) {
			t.Fatal("the logout on a never reached b after its store came back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := b.svc.Authenticate(t.Context(), seen.AccessToken); !errors.Is(err, gatehouse.ErrUnauthenticated) {
		t.Errorf("Authenticate on b after the logout: %v, want ErrUnauthenticated", err)
	}
	if _, err := b.svc.Authenticate(t.Context(), unseen.AccessToken); err != nil {
		t.Errorf("Authenticate of the other session after the outage: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v, want nil when its context ends", err)
	}
}
