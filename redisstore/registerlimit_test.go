package redisstore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TestRegistrationLimitAcrossInstances runs two services, as two instances,
// on one Redis: sign-ups from one address are counted once for both, so a
// flood spread over the instances gets no more than the limit (I-10).
func TestRegistrationLimitAcrossInstances(t *testing.T) {
	prefix := testPrefix()
	limit := func(c *gatehouse.Config) {
		c.RegistrationOpen = true
		c.RegistrationLimit = gatehouse.Limit{MaxFailures: 3, Window: time.Minute}
	}
	a := newService(t, nil, openTest(t, prefix).Limiter(), limit)
	b := newService(t, nil, openTest(t, prefix).Limiter(), limit)
	const pw = "correct horse battery staple"
	flooder := gatehouse.Client{IP: "198.51.100.7"}
	for i, svc := range []*gatehouse.Service{a, b, a} {
		if _, _, err := svc.Register(t.Context(), fmt.Sprintf("flood%d@example.org", i), pw, flooder); err != nil {
			t.Fatalf("sign-up %d within the limit: %v", i, err)
		}
	}
	for name, svc := range map[string]*gatehouse.Service{"A": a, "B": b} {
		_, _, err := svc.Register(t.Context(), "flood-"+name+"@example.org", pw, flooder)
		var te *gatehouse.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > time.Minute {
			t.Fatalf("fourth sign-up on %s: %v, want throttled for at most a minute", name, err)
		}
	}
	if _, _, err := b.Register(t.Context(), "neighbour@example.org", pw, gatehouse.Client{IP: "198.51.100.8"}); err != nil {
		t.Fatalf("sign-up from another address: %v", err)
	}
}
