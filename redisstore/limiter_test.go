package redisstore

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/throttle"
)

func TestLimiterHitLimitAndWindow(t *testing.T) {
	lim := openTest(t, "").Limiter()
	ctx := t.Context()
	const window = 400 * time.Millisecond
	for i := 1; i <= 3; i++ {
		if ok, _, err := lim.Hit(ctx, "k", 3, window); !ok || err != nil {
			t.Fatalf("attempt %d: got %v, %v; want allowed", i, ok, err)
		}
	}
	ok, retry, err := lim.Hit(ctx, "k", 3, window)
	if ok || err != nil || retry <= 0 || retry > window {
		t.Fatalf("4th attempt: got ok=%v retry=%v err=%v, want throttled for at most %v", ok, retry, err, window)
	}
	if ok, _, _ := lim.Hit(ctx, "other", 3, window); !ok {
		t.Fatal("other key throttled")
	}
	time.Sleep(retry + 20*time.Millisecond)
	if ok, _, err := lim.Hit(ctx, "k", 3, window); !ok || err != nil {
		t.Fatalf("after the window: got %v, %v; want allowed", ok, err)
	}
}

// TestLimiterMatchesMemory runs the same attempts against the in-memory
// limiter and the Redis one: they must agree on every answer.
func TestLimiterMatchesMemory(t *testing.T) {
	type op struct {
		do  string // "hit", "undo" or "reset"
		key string
	}
	hits := func(key string, n int) []op {
		var ops []op
		for range n {
			ops = append(ops, op{"hit", key})
		}
		return ops
	}
	join := func(parts ...[]op) []op {
		var all []op
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	for _, tc := range []struct {
		name  string
		limit int
		ops   []op
	}{
		{"LimitReached", 2, hits("a", 5)},
		{"UndoGivesOneBack", 2, join(hits("a", 2), []op{{"undo", "a"}}, hits("a", 2))},
		{"UndoAfterRefusalKeepsRefusing", 2, join(hits("a", 6), []op{{"undo", "a"}}, hits("a", 2))},
		{"UndoOfNothing", 1, join([]op{{"undo", "a"}, {"undo", "a"}}, hits("a", 2))},
		{"Reset", 1, join(hits("a", 3), []op{{"reset", "a"}}, hits("a", 2))},
		{"KeysApart", 1, join(hits("a", 2), hits("b", 2))},
		{"ZeroLimit", 0, hits("a", 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := throttle.NewMemory(nil)
			red := openTest(t, "").Limiter()
			for i, o := range tc.ops {
				switch o.do {
				case "hit":
					want, _, _ := mem.Hit(context.Background(), o.key, tc.limit, time.Minute)
					got, _, err := red.Hit(t.Context(), o.key, tc.limit, time.Minute)
					if err != nil || got != want {
						t.Fatalf("op %d (hit %s): Redis says %v, %v; memory says %v", i, o.key, got, err, want)
					}
				case "undo":
					mem.Undo(context.Background(), o.key)
					if err := red.Undo(t.Context(), o.key); err != nil {
						t.Fatalf("op %d: Undo: %v", i, err)
					}
				case "reset":
					mem.Reset(context.Background(), o.key)
					if err := red.Reset(t.Context(), o.key); err != nil {
						t.Fatalf("op %d: Reset: %v", i, err)
					}
				}
			}
		})
	}
}

// TestLimiterParallelBurst shows the count is atomic across instances: of
// 200 simultaneous attempts made through two clients (two instances),
// exactly limit get through.
func TestLimiterParallelBurst(t *testing.T) {
	prefix := testPrefix()
	a, b := openTest(t, prefix).Limiter(), openTest(t, prefix).Limiter()
	var allowed, failed atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 200 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			<-start
			ok, _, err := l.Hit(context.Background(), "k", 5, time.Minute)
			if err != nil {
				failed.Add(1)
			}
			if ok {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of 200 hits failed", n)
	}
	if got := allowed.Load(); got != 5 {
		t.Fatalf("allowed %d of 200 across two instances, want 5", got)
	}
}

// TestLimiterKeys checks that counters live under the prefix, hashed, and
// always expire.
func TestLimiterKeys(t *testing.T) {
	prefix := testPrefix()
	c := openTest(t, prefix)
	lim := c.Limiter()
	lim.Hit(t.Context(), "login:account:alice@example.org", 5, time.Minute)
	lim.Undo(t.Context(), "login:account:bob@example.org") // creates nothing
	mine, err := c.rdb.Keys(t.Context(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 || mine[0] != lim.key("login:account:alice@example.org") {
		t.Fatalf("keys under the prefix = %q, want just the hashed counter of alice", mine)
	}
	ttl, err := c.rdb.PTTL(t.Context(), mine[0]).Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("counter TTL = %v, %v; want within the window", ttl, err)
	}
	if strings.Contains(mine[0], "alice") {
		t.Errorf("key %q holds the address in clear", mine[0])
	}
}
