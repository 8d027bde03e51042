package throttle

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestHitLimitAndWindow(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	m := NewMemory(c.now)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		ok, _, _ := m.Hit(ctx, "k", 3, time.Minute)
		if !ok {
			t.Fatalf("attempt %d: got throttled, want allowed", i)
		}
	}
	ok, retry, _ := m.Hit(ctx, "k", 3, time.Minute)
	if ok || retry != time.Minute {
		t.Fatalf("4th attempt: got ok=%v retry=%v, want throttled for 1m", ok, retry)
	}
	if ok, _, _ := m.Hit(ctx, "other", 3, time.Minute); !ok {
		t.Fatal("other key throttled")
	}
	c.t = c.t.Add(30 * time.Second)
	if _, retry, _ := m.Hit(ctx, "k", 3, time.Minute); retry != 30*time.Second {
		t.Fatalf("retry after = %v, want 30s", retry)
	}
	c.t = c.t.Add(30 * time.Second)
	if ok, _, _ := m.Hit(ctx, "k", 3, time.Minute); !ok {
		t.Fatal("after the window: got throttled, want allowed")
	}
}

func TestUndoAndReset(t *testing.T) {
	m := NewMemory(nil)
	ctx := context.Background()
	m.Hit(ctx, "k", 2, time.Minute)
	m.Hit(ctx, "k", 2, time.Minute)
	m.Undo(ctx, "k")
	if ok, _, _ := m.Hit(ctx, "k", 2, time.Minute); !ok {
		t.Fatal("after Undo: got throttled, want allowed")
	}
	if ok, _, _ := m.Hit(ctx, "k", 2, time.Minute); ok {
		t.Fatal("3rd counted attempt: got allowed, want throttled")
	}
	m.Reset(ctx, "k")
	if ok, _, _ := m.Hit(ctx, "k", 2, time.Minute); !ok {
		t.Fatal("after Reset: got throttled, want allowed")
	}
}

// TestParallelBurst shows the counter is atomic: of 200 simultaneous
// attempts exactly limit get through.
func TestParallelBurst(t *testing.T) {
	m := NewMemory(nil)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _, _ := m.Hit(context.Background(), "k", 5, time.Minute); ok {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := allowed.Load(); got != 5 {
		t.Fatalf("allowed %d of 200, want 5", got)
	}
}

func TestSweep(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	m := NewMemory(c.now)
	m.Hit(context.Background(), "a", 1, time.Second)
	c.t = c.t.Add(2 * time.Second)
	m.Sweep()
	if n := len(m.entries); n != 0 {
		t.Fatalf("entries after sweep = %d, want 0", n)
	}
}
