package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storetest"
)

func TestBroker(t *testing.T) {
	storetest.RunBroker(t, func(t *testing.T) storetest.Brokers {
		a, url := openTest(t, Options{})
		b, err := Open(t.Context(), url, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return storetest.Brokers{
			Publisher: a.Broker(),
			Listener:  b.Broker(),
			Raw: func(t *testing.T, payload string) {
				t.Helper()
				if _, err := a.pool.Exec(t.Context(), `SELECT pg_notify($1, $2)`, Channel, payload); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
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
	got, done := storetest.Listen(t, t.Context(), sub.Broker())
	storetest.PublishUntilHeard(t, pub.Broker(), gatehouse.Revocation{SessionID: "before", RevokedAt: time.Now().UTC().Truncate(time.Microsecond)}, got)

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
	got, _ = storetest.Listen(t, t.Context(), sub.Broker())
	storetest.PublishUntilHeard(t, pub.Broker(), gatehouse.Revocation{SessionID: "after", RevokedAt: time.Now().UTC().Truncate(time.Microsecond)}, got)
}
