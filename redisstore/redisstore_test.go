package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storetest"
	"github.com/redis/go-redis/v9"
)

// defaultTestURL is the Redis the tests use unless GATEHOUSE_TEST_REDIS_URL
// names another. Every test works under a random key prefix of its own and
// deletes its keys when it ends.
const defaultTestURL = "redis://127.0.0.1:6379/0"

// testRedis says where the shared test Redis is, or why the tests cannot use it.
var testRedis struct {
	url  string
	skip string
}

func TestMain(m *testing.M) {
	testRedis.url = os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if testRedis.url == "" {
		testRedis.url = defaultTestURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	c, err := Open(ctx, testRedis.url, Options{})
	cancel()
	if err != nil {
		testRedis.skip = fmt.Sprintf("skipping: Redis is not reachable (%v): start one on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL", err)
	} else {
		c.Close()
	}
	os.Exit(m.Run())
}

// needRedis skips t when the test Redis is not reachable, or fails it when
// CI is set: there the tests must run.
func needRedis(t *testing.T) {
	t.Helper()
	if testRedis.skip == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", testRedis.skip)
	}
	t.Skip(testRedis.skip)
}

// testPrefix returns a key prefix no other test uses.
func testPrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "gatehouse-test:" + hex.EncodeToString(b) + ":"
}

// openTest opens a client on the test Redis under prefix (a fresh one when
// empty), closed and with its keys deleted when the test ends.
func openTest(t *testing.T, prefix string) *Client {
	t.Helper()
	needRedis(t)
	if prefix == "" {
		prefix = testPrefix()
	}
	c, err := Open(t.Context(), testRedis.url, Options{Prefix: prefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		deleteKeys(t, c.rdb, prefix)
		c.Close()
	})
	return c
}

func deleteKeys(t *testing.T, rdb *redis.Client, prefix string) {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Errorf("list test keys: %v", err)
		return
	}
	if len(keys) > 0 {
		if err := rdb.Del(ctx, keys...).Err(); err != nil {
			t.Errorf("delete test keys: %v", err)
		}
	}
}

// wantUnavailable fails t unless err matches gatehouse.ErrUnavailable and
// came within limit.
func wantUnavailable(t *testing.T, what string, err error, took, limit time.Duration) {
	t.Helper()
	if !errors.Is(err, gatehouse.ErrUnavailable) {
		t.Errorf("%s: got error %v, want ErrUnavailable", what, err)
	}
	if took > limit {
		t.Errorf("%s took %v, want at most %v", what, took.Round(time.Millisecond), limit)
	}
}

func TestOpen(t *testing.T) {
	for _, bad := range []string{"http://127.0.0.1:6379", "redis://127.0.0.1:6379/notadb"} {
		if _, err := Open(t.Context(), bad, Options{}); err == nil || errors.Is(err, gatehouse.ErrUnavailable) {
			t.Errorf("Open(%q): err = %v, want an invalid URL error", bad, err)
		}
	}
	start := time.Now()
	_, err := Open(t.Context(), "redis://"+freeAddr(t)+"/0", Options{})
	wantUnavailable(t, "Open of a closed port", err, time.Since(start), 2*time.Second)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// eventually retries f until it succeeds, failing t after limit.
func eventually(t *testing.T, limit time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOutage kills the Redis under a client: the limiter and the broker
// fail fast with ErrUnavailable, and both work again, without reopening,
// once Redis is back.
func TestOutage(t *testing.T) {
	srv := testenv.StartRedis(t)
	c, err := Open(t.Context(), srv.URL(), Options{Prefix: testPrefix()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	lim, b := c.Limiter(), c.Broker()
	if ok, _, err := lim.Hit(t.Context(), "k", 5, time.Minute); !ok || err != nil {
		t.Fatalf("Hit before the outage = %v, %v", ok, err)
	}
	got, done := storetest.Listen(t, t.Context(), b)
	storetest.PublishUntilHeard(t, b, revocation("before"), got)

	srv.Stop()
	select {
	case err := <-done:
		if !errors.Is(err, gatehouse.ErrUnavailable) {
			t.Errorf("Listen when Redis died returned %v, want ErrUnavailable", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Listen did not return when Redis died")
	}
	for i := range 3 {
		start := time.Now()
		ok, _, err := lim.Hit(t.Context(), "k", 5, time.Minute)
		wantUnavailable(t, fmt.Sprintf("Hit %d during the outage", i), err, time.Since(start), 1500*time.Millisecond)
		if ok {
			t.Errorf("Hit %d during the outage let the attempt through", i)
		}
	}
	start := time.Now()
	err = c.Ping(t.Context())
	wantUnavailable(t, "Ping during the outage", err, time.Since(start), 1500*time.Millisecond)
	start = time.Now()
	err = b.Publish(t.Context(), revocation("lost"))
	wantUnavailable(t, "Publish during the outage", err, time.Since(start), 1500*time.Millisecond)
	start = time.Now()
	err = b.Listen(t.Context(), func(gatehouse.Revocation) {})
	wantUnavailable(t, "Listen during the outage", err, time.Since(start), 1500*time.Millisecond)

	srv.Start()
	eventually(t, 3*time.Second, "Hit after Redis is back", func() error {
		_, _, err := lim.Hit(t.Context(), "k", 5, time.Minute)
		return err
	})
	if err := c.Ping(t.Context()); err != nil {
		t.Errorf("Ping after Redis is back: %v", err)
	}
	got, _ = storetest.Listen(t, t.Context(), b)
	storetest.PublishUntilHeard(t, b, revocation("after"), got)
}
