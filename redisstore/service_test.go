package redisstore

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/token"
)

// newService builds a Service on a fresh SQLite file with broker b and
// limiter lim; opts adjust its config. The store is only there because a
// Service needs one; what is tested is the broker or the limiter.
func newService(t *testing.T, b gatehouse.RevocationBroker, lim gatehouse.Limiter, opts ...func(*gatehouse.Config)) *gatehouse.Service {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := gatehouse.NewKeyring(db, bytes.Repeat([]byte{7}, gatehouse.MasterKeySize), token.EdDSA, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.EnsureActive(t.Context()); err != nil {
		t.Fatal(err)
	}
	cfg := gatehouse.Config{
		Users: db, Sessions: db, Keys: keys, Limiter: lim, Broker: b,
		Hasher: password.NewHasher(password.Options{Params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}}),
		Issuer: "https://auth.example.org", Audience: "gatehouse",
		AccessTTL: 10 * time.Minute, Leeway: 30 * time.Second,
		IdleTimeout: time.Hour, AbsoluteLifetime: 24 * time.Hour, ReuseGrace: 10 * time.Second,
		PasswordRules: password.Rules{MinLength: 8, MaxLength: 1024},
		AccountLimit:  gatehouse.Limit{MaxFailures: 5, Window: time.Minute},
		IPLimit:       gatehouse.Limit{MaxFailures: 50, Window: time.Minute},
		RefreshKey:    bytes.Repeat([]byte{9}, 32),
	}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := gatehouse.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// waitRevoked publishes r through pub until svc holds it, and reports how
// long that took.
func waitRevoked(t *testing.T, svc *gatehouse.Service, pub *Broker, r gatehouse.Revocation, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !svc.Revocations().Revoked(r.SessionID) {
		if time.Since(start) > limit {
			t.Fatalf("revocation %s not applied by the service within %v", r.SessionID, limit)
		}
		if err := pub.Publish(t.Context(), r); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestServiceAcrossOutage runs a Service on a Redis that dies and comes
// back: logins fail closed while it is down, and the Service's listener
// reconnects by itself, so revocations published after the restart reach
// it. The store poll is an hour apart here, so only the broker can deliver.
func TestServiceAcrossOutage(t *testing.T) {
	srv := testenv.StartRedis(t)
	prefix := testPrefix()
	c, err := Open(t.Context(), srv.URL(), Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pubc, err := Open(t.Context(), srv.URL(), Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer pubc.Close()
	pub := pubc.Broker()

	svc := newService(t, c.Broker(), c.Limiter())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go svc.Run(ctx, time.Hour)
	waitRevoked(t, svc, pub, revocation("before"), 3*time.Second)

	srv.Stop()
	start := time.Now()
	_, _, err = svc.Login(t.Context(), "alice@example.org", "a wrong password", gatehouse.Client{IP: "192.0.2.1"})
	wantUnavailable(t, "Login while Redis is down", err, time.Since(start), 3*time.Second)

	srv.Start()
	waitRevoked(t, svc, pub, revocation("after"), 5*time.Second)
	if _, _, err := svc.Login(t.Context(), "alice@example.org", "a wrong password", gatehouse.Client{IP: "192.0.2.1"}); err != gatehouse.ErrInvalidCredentials {
		t.Errorf("Login with Redis back: got %v, want ErrInvalidCredentials", err)
	}
}
