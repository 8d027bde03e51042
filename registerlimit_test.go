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

// countingBreaches is a BreachChecker that knows no breached password and
// counts the lookups it is asked for.
type countingBreaches struct{ n atomic.Int64 }

func (c *countingBreaches) Breached(context.Context, string) (bool, error) {
	c.n.Add(1)
	return false, nil
}

// withRegistrationLimit limits sign-ups to n per hour per address.
func withRegistrationLimit(n int) func(*gatehouse.Config) {
	return func(c *gatehouse.Config) { c.RegistrationLimit = gatehouse.Limit{MaxFailures: n, Window: time.Hour} }
}

// TestI10RegistrationThrottled floods sign-up from one address (I-10): the
// first attempts are served whatever their outcome, the next is refused
// with a *ThrottledError before the breached-password lookup and hashing,
// creates nothing and is recorded; another address is not affected, and
// the address may sign up again once the window ends.
func TestI10RegistrationThrottled(t *testing.T) {
	sink, breaches := &eventLog{}, &countingBreaches{}
	f := newFixture(t, withRegistrationLimit(3), func(c *gatehouse.Config) { c.Events, c.Breached = sink, breaches })
	flooder := from("198.51.100.7", "")
	for i := range 2 {
		if _, _, err := f.svc.Register(t.Context(), fmt.Sprintf("flood%d@example.org", i), testPassword, flooder); err != nil {
			t.Fatalf("sign-up %d within the limit: %v", i, err)
		}
	}
	f.clock.Advance(10 * time.Minute)
	// A taken email counts too: it reached the store, and it is what
	// enumeration through sign-up wants.
	_, _, err := f.svc.Register(t.Context(), "flood0@example.org", testPassword, flooder)
	wantErr(t, "taken email within the limit", err, gatehouse.ErrEmailTaken)
	// A password the local rules refuse costs nothing and does not count.
	_, _, err = f.svc.Register(t.Context(), "weak@example.org", "short", flooder)
	wantInputError(t, "weak password", err, "password", gatehouse.ErrWeakPassword)

	lookups, hashes := breaches.n.Load(), f.cfg.Hasher.Totals().Acquired
	_, _, err = f.svc.Register(t.Context(), "flood3@example.org", testPassword, flooder)
	wantThrottled(t, "fourth sign-up", err, 50*time.Minute) // the window started at the first
	if _, err := f.db.UserByEmail(t.Context(), "flood3@example.org"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("refused sign-up: UserByEmail = %v, want ErrNotFound", err)
	}
	if n, h := breaches.n.Load(), f.cfg.Hasher.Totals().Acquired; n != lookups || h != hashes {
		t.Fatalf("refused sign-up: %d breach lookups and %d hashes, want none", n-lookups, h-hashes)
	}
	th := sink.named(gatehouse.EventThrottled)
	if len(th) != 1 || th[0].Reason != "registration" || th[0].IP != flooder.IP || th[0].Outcome != "failure" || th[0].UserID != "" {
		t.Fatalf("throttled events %+v, want one with reason registration from %s", th, flooder.IP)
	}

	// Another address is not affected.
	if _, _, err := f.svc.Register(t.Context(), "neighbour@example.org", testPassword, from("198.51.100.8", "")); err != nil {
		t.Fatalf("sign-up from another address: %v", err)
	}
	// The window ends: the address may sign up again.
	f.clock.Advance(50*time.Minute - time.Second)
	_, _, err = f.svc.Register(t.Context(), "flood3@example.org", testPassword, flooder)
	wantThrottled(t, "a second before the window ends", err, time.Second)
	f.clock.Advance(time.Second)
	if _, _, err := f.svc.Register(t.Context(), "flood3@example.org", testPassword, flooder); err != nil {
		t.Fatalf("sign-up after the window: %v", err)
	}
}

// TestRegistrationLimitIPv6 checks that an IPv6 client counts by its /64,
// as at login: every address of one customer's prefix shares the limit.
func TestRegistrationLimitIPv6(t *testing.T) {
	f := newFixture(t, withRegistrationLimit(2))
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"} {
		if _, _, err := f.svc.Register(t.Context(), fmt.Sprintf("v6-%d@example.org", i), testPassword, from(ip, "")); err != nil {
			t.Fatalf("sign-up %d from %s: %v", i, ip, err)
		}
	}
	_, _, err := f.svc.Register(t.Context(), "v6-2@example.org", testPassword, from("2001:db8:1:2::abcd", ""))
	wantThrottled(t, "third sign-up from the /64", err, time.Hour)
	if _, _, err := f.svc.Register(t.Context(), "v6-3@example.org", testPassword, from("2001:db8:1:3::1", "")); err != nil {
		t.Fatalf("sign-up from the next /64: %v", err)
	}
}

// TestRegistrationLimitScope checks what the limit does not touch: the
// operator's AddUser, logins, and a Service without a limit.
func TestRegistrationLimitScope(t *testing.T) {
	f := newFixture(t, withRegistrationLimit(1))
	for i := range 3 {
		if _, err := f.svc.AddUser(t.Context(), fmt.Sprintf("op%d@example.org", i), testPassword); err != nil {
			t.Fatalf("AddUser %d: %v", i, err)
		}
	}
	f.register(t, "first@example.org")
	_, _, err := f.svc.Register(t.Context(), "second@example.org", testPassword, client)
	wantThrottled(t, "second sign-up", err, time.Hour)
	f.login(t, "first@example.org", testPassword)
	f.login(t, "op0@example.org", testPassword)

	off := newFixture(t) // the zero RegistrationLimit is off
	for i := range 30 {
		off.register(t, fmt.Sprintf("many%d@example.org", i))
	}
}

// TestRegistrationLimitUnavailable: a sign-up that cannot be counted is
// refused with ErrUnavailable, as a login is, never let through unlimited.
func TestRegistrationLimitUnavailable(t *testing.T) {
	f := newFixture(t, withRegistrationLimit(20), func(c *gatehouse.Config) { c.Limiter = downLimiter{} })
	_, _, err := f.svc.Register(t.Context(), "nobody@example.org", testPassword, client)
	wantErr(t, "sign-up with the limiter down", err, gatehouse.ErrUnavailable)
	if _, err := f.db.UserByEmail(t.Context(), "nobody@example.org"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("UserByEmail = %v, want ErrNotFound", err)
	}
	if _, err := gatehouse.NewService(func() gatehouse.Config {
		c := f.cfg
		c.RegistrationLimit = gatehouse.Limit{MaxFailures: 20}
		return c
	}()); err == nil {
		t.Fatal("NewService accepted a RegistrationLimit without a window")
	}
}

// downLimiter is a Limiter whose backend cannot be reached.
type downLimiter struct{}

var errLimiterDown = errors.New("limiter down")

func (downLimiter) Hit(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	return false, 0, errLimiterDown
}
func (downLimiter) Undo(context.Context, string) error  { return errLimiterDown }
func (downLimiter) Reset(context.Context, string) error { return errLimiterDown }
