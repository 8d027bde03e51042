package redisstore

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/throttle"
	"github.com/gatehouse/gatehouse/token"
)

// TestLimiterPrimitivesMatchMemory runs the sequences of Hit, Undo and
// Reset that the service's progressive delay is built from (a test-and-set
// flag, a gate closed for a while, a check that leaves an open gate open)
// on the Redis limiter and on throttle.Memory, and expects the same answers
// from both: the delay means the same on one instance and on many.
func TestLimiterPrimitivesMatchMemory(t *testing.T) {
	c := openTest(t, "")
	limiters := map[string]gatehouse.Limiter{"redis": c.Limiter(), "memory": throttle.NewMemory(nil)}
	type step struct {
		op     string // hit, undo, reset, sleep
		key    string
		limit  int
		window time.Duration
	}
	const gate = 300 * time.Millisecond
	steps := []step{
		// A flag: the first Hit with limit 1 succeeds, every later one fails.
		{"hit", "flag", 1, time.Minute}, {"hit", "flag", 1, time.Minute}, {"hit", "flag", 1, time.Minute},
		// Undo of a flag only one caller set opens it again.
		{"hit", "flag2", 1, time.Minute}, {"undo", "flag2", 0, 0}, {"hit", "flag2", 1, time.Minute},
		// A gate closed for 300ms: checks fail while it lasts...
		{"hit", "gate", 0, gate}, {"hit", "gate", 1, time.Nanosecond}, {"hit", "gate", 1, time.Nanosecond},
		// ...and pass once it has expired.
		{"sleep", "", 0, gate + 100*time.Millisecond}, {"hit", "gate", 1, time.Nanosecond},
		// A reset reopens a closed gate at once.
		{"reset", "gate", 0, 0}, {"hit", "gate", 0, time.Minute}, {"reset", "gate", 0, 0}, {"hit", "gate", 1, time.Nanosecond},
	}
	results := map[string][]bool{}
	for name, l := range limiters {
		for _, s := range steps {
			switch s.op {
			case "hit":
				ok, _, err := l.Hit(t.Context(), t.Name()+s.key, s.limit, s.window)
				if err != nil {
					t.Fatalf("%s: Hit: %v", name, err)
				}
				results[name] = append(results[name], ok)
			case "undo":
				l.Undo(t.Context(), t.Name()+s.key)
			case "reset":
				l.Reset(t.Context(), t.Name()+s.key)
			case "sleep":
				time.Sleep(s.window)
			}
		}
	}
	want := []bool{true, false, false, true, true, false, false, false, true, false, true}
	for name, got := range results {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s answers %v, want %v", name, got, want)
		}
	}
}

// TestLoginDelayOnRedis runs the service's progressive delay, known-device
// exemption and atomic account limit on the Redis limiter, in real time.
func TestLoginDelayOnRedis(t *testing.T) {
	c := openTest(t, "")
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
	const delay = 300 * time.Millisecond
	newSvc := func(d time.Duration) *gatehouse.Service {
		svc, err := gatehouse.NewService(gatehouse.Config{
			Users: db, Sessions: db, Keys: keys, Limiter: c.Limiter(),
			Hasher: password.NewHasher(password.Options{Params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}}),
			Issuer: "https://auth.example.org", Audience: "gatehouse",
			AccessTTL: 10 * time.Minute, Leeway: 30 * time.Second,
			IdleTimeout: time.Hour, AbsoluteLifetime: 24 * time.Hour,
			PasswordRules: password.Rules{MinLength: 8, MaxLength: 1024}, RegistrationOpen: true,
			AccountLimit: gatehouse.Limit{MaxFailures: 5, Window: time.Minute},
			IPLimit:      gatehouse.Limit{MaxFailures: 1000, Window: time.Minute},
			LoginDelay:   d,
			RefreshKey:   bytes.Repeat([]byte{9}, 32), DeviceKey: bytes.Repeat([]byte{5}, 32),
		})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := newSvc(delay)
	const pw = "correct horse battery staple"
	client := gatehouse.Client{IP: "192.0.2.1"}
	_, g, err := svc.Register(t.Context(), "redis-delay@example.org", pw, client)
	if err != nil {
		t.Fatal(err)
	}
	throttledWithin := func(what string, err error, max time.Duration) {
		t.Helper()
		var te *gatehouse.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > max {
			t.Fatalf("%s: %v, want throttled for at most %v", what, err, max)
		}
	}
	for k := 1; k <= 2; k++ {
		_, _, err := svc.Login(t.Context(), "redis-delay@example.org", "wrong password!", client)
		if !errors.Is(err, gatehouse.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", k, err)
		}
		wait := delay << (k - 1)
		_, _, err = svc.Login(t.Context(), "redis-delay@example.org", pw, client)
		throttledWithin(fmt.Sprintf("right password just after failure %d", k), err, wait)
		// The owner's browser is not held back.
		if _, _, err := svc.Login(t.Context(), "redis-delay@example.org", pw, gatehouse.Client{IP: "198.51.100.7", Device: g.DeviceToken}); err != nil {
			t.Fatalf("known device during delay %d: %v", k, err)
		}
		time.Sleep(wait + 50*time.Millisecond)
	}
	if _, _, err := svc.Login(t.Context(), "redis-delay@example.org", pw, client); err != nil {
		t.Fatalf("right password after the delays: %v", err)
	}

	// A parallel burst against a fresh account: exactly the limit gets
	// through, counted atomically in Redis.
	burst := newSvc(0)
	if _, _, err := burst.Register(t.Context(), "redis-burst@example.org", pw, client); err != nil {
		t.Fatal(err)
	}
	var checked, throttled atomic.Int64
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			_, _, err := burst.Login(t.Context(), "redis-burst@example.org", "wrong password!", gatehouse.Client{IP: fmt.Sprintf("10.0.0.%d", i)})
			switch {
			case errors.Is(err, gatehouse.ErrInvalidCredentials):
				checked.Add(1)
			case errors.Is(err, gatehouse.ErrThrottled):
				throttled.Add(1)
			default:
				t.Errorf("burst attempt %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if checked.Load() != 5 || throttled.Load() != 27 {
		t.Fatalf("32 parallel failures on Redis: %d checked, %d throttled; want 5 and 27", checked.Load(), throttled.Load())
	}
}
