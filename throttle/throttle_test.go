package throttle

import (
	"context"
	"fmt"
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

// hitAll hits every key once with limit, window and reports the keys
// refused.
func hitAll(m *Memory, limit int, window time.Duration, keys ...string) []string {
	var refused []string
	for _, k := range keys {
		if ok, _, _ := m.Hit(context.Background(), k, limit, window); !ok {
			refused = append(refused, k)
		}
	}
	return refused
}

// TestRefundedFloodDoesNotLockOutNewcomers is the attack of issue 13, item
// 1: one address sends attempts for random emails that are all refunded
// (the hashing pool refused them) but its own count, until the table would
// be full. A fresh address and a fresh account must still get in, and the
// table must hold only what was not refunded.
func TestRefundedFloodDoesNotLockOutNewcomers(t *testing.T) {
	const bound = 1000
	m := NewMemory(nil, WithMaxKeys(bound))
	ctx := context.Background()
	for i := range 20 * bound {
		email := fmt.Sprintf("random-%d@example.org", i)
		keys := []string{"account:" + email, "pair:attacker:" + email, "streak:1:" + email}
		hitAll(m, 1<<30, time.Hour, "ip:attacker")
		if refused := hitAll(m, 5, 15*time.Minute, keys...); len(refused) > 0 {
			t.Fatalf("flood attempt %d: %v refused", i, refused)
		}
		for _, k := range keys {
			m.Undo(ctx, k)
		}
		if n := m.Len(); n > bound {
			t.Fatalf("after flood attempt %d: %d keys, want at most %d", i, n, bound)
		}
	}
	if n := m.Len(); n != 1 {
		t.Errorf("after the refunded flood: %d keys, want 1 (the attacker's address)", n)
	}
	if refused := hitAll(m, 5, 15*time.Minute, "ip:newcomer", "account:new@example.org", "pair:newcomer:new@example.org"); len(refused) > 0 {
		t.Errorf("a fresh address and account after the flood: %v refused", refused)
	}
}

// TestFullTableEvictsInsteadOfRefusing fills the table with counts that
// are kept (failed attempts) and expects every further new key admitted,
// the table never above its bound.
func TestFullTableEvictsInsteadOfRefusing(t *testing.T) {
	const bound = 100
	c := &clock{t: time.Unix(1000, 0)}
	m := NewMemory(c.now, WithMaxKeys(bound))
	for i := range 10 * bound {
		c.t = c.t.Add(time.Millisecond)
		if refused := hitAll(m, 5, time.Hour, fmt.Sprint("k", i)); len(refused) > 0 {
			t.Fatalf("new key %d with the table full: refused", i)
		}
		if n := m.Len(); n > bound {
			t.Fatalf("after key %d: %d keys, want at most %d", i, n, bound)
		}
	}
	if n := m.Len(); n != bound {
		t.Errorf("table holds %d keys, want %d", n, bound)
	}
}

// TestEvictsTheWindowThatEndsFirst checks which count a full table forgets:
// the one closest to being forgotten anyway, and an ended window before
// any live one.
func TestEvictsTheWindowThatEndsFirst(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	m := NewMemory(c.now, WithMaxKeys(3))
	// Each key is used up: its next hit is refused while it is remembered.
	for _, k := range []struct {
		key    string
		window time.Duration
	}{{"hour", time.Hour}, {"minute", time.Minute}, {"day", 24 * time.Hour}} {
		hitAll(m, 0, k.window, k.key)
	}
	hitAll(m, 0, time.Hour, "new")
	if refused := hitAll(m, 0, time.Hour, "hour", "day"); len(refused) != 2 {
		t.Errorf("after eviction, refused %v, want hour and day still counted", refused)
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", m.Len())
	}
	// "new" and "hour" end at the same time; "day" later. Once they have
	// ended, a new key takes an ended slot and "day" stays.
	c.t = c.t.Add(2 * time.Hour)
	hitAll(m, 0, time.Hour, "next")
	if refused := hitAll(m, 0, time.Hour, "day"); len(refused) != 1 {
		t.Error("day was evicted while ended windows were in the table")
	}
	if m.Len() != 2 {
		t.Errorf("Len = %d, want 2 (day and next; the ended windows dropped)", m.Len())
	}
}

func TestUndoToZeroForgetsTheKey(t *testing.T) {
	m := NewMemory(nil)
	ctx := context.Background()
	hitAll(m, 3, time.Minute, "k", "k")
	m.Undo(ctx, "k")
	if m.Len() != 1 {
		t.Fatalf("after one of two attempts refunded: Len = %d, want 1", m.Len())
	}
	m.Undo(ctx, "k")
	if m.Len() != 0 {
		t.Fatalf("after every attempt refunded: Len = %d, want 0", m.Len())
	}
	m.Undo(ctx, "never")
	if m.Len() != 0 {
		t.Fatalf("Undo of an unknown key: Len = %d, want 0", m.Len())
	}
	// A refused attempt is not counted, so Undo after it gives back a
	// counted one and the key stays refused.
	hitAll(m, 1, time.Minute, "r", "r", "r")
	m.Undo(ctx, "r")
	if refused := hitAll(m, 1, time.Minute, "r"); len(refused) != 1 {
		t.Error("Undo after a refusal opened the key")
	}
}

func TestDefaultBound(t *testing.T) {
	if m := NewMemory(nil); m.maxKeys != 1<<20 {
		t.Errorf("default bound %d keys, want %d", m.maxKeys, 1<<20)
	}
	if m := NewMemory(nil, WithMaxKeys(0)); m.maxKeys != 1 {
		t.Errorf("WithMaxKeys(0): bound %d, want 1", m.maxKeys)
	}
}

// BenchmarkHitFullTable measures a new key arriving at a full table, the
// cost of every attempt in a flood.
func BenchmarkHitFullTable(b *testing.B) {
	m := NewMemory(nil, WithMaxKeys(1<<16))
	keys := make([]string, 1<<18)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	for i := 0; b.Loop(); i++ {
		m.Hit(context.Background(), keys[i%len(keys)], 5, time.Hour)
	}
}
