// Package throttle counts failed attempts per key in fixed windows, in
// memory. It is the single-instance limiter; the Redis limiter shares its
// semantics so that throttling holds across instances.
package throttle

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// DefaultMaxKeys bounds the table unless WithMaxKeys says otherwise: about
// a hundred bytes a key, so some 100 MiB at worst.
const DefaultMaxKeys = 1 << 20

type entry struct {
	key   string
	count int
	reset time.Time
	index int // in Memory.byReset
}

// Memory is an in-memory limiter safe for concurrent use.
//
// Its table is bounded, since an attacker spraying random emails would
// otherwise grow it without limit. When it is full, a new key takes the
// place of the entry whose window ends first. It never refuses an attempt
// because the table is full: that would let anyone who can fill it (with
// attempts that are refunded, say) lock every new client and account out.
// The price is that a flood wide enough to fill the table shortens the
// windows of the counts it evicts; a deployment that must hold counts
// against floods from many addresses shares them in Redis instead.
type Memory struct {
	now     func() time.Time
	maxKeys int

	mu      sync.Mutex
	entries map[string]*entry
	byReset resetHeap // the same entries, the earliest window end first
}

// Option configures a Memory.
type Option func(*Memory)

// WithMaxKeys bounds the table to n keys (DefaultMaxKeys by default; at
// least 1).
func WithMaxKeys(n int) Option {
	return func(m *Memory) { m.maxKeys = max(n, 1) }
}

// NewMemory returns an empty limiter reading the clock from now (time.Now if nil).
func NewMemory(now func() time.Time, opts ...Option) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, maxKeys: DefaultMaxKeys, entries: make(map[string]*entry)}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Hit counts one attempt for key. The window starts at the first attempt;
// once more than limit attempts fall in it, Hit reports false and how long
// until the window ends. Counting happens before the caller does the
// expensive work, so a burst of parallel attempts cannot slip past the limit.
func (m *Memory) Hit(_ context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if ok && !now.Before(e.reset) {
		m.removeLocked(e)
		ok = false
	}
	if !ok {
		m.makeRoomLocked(now)
		e = &entry{key: key, reset: now.Add(window)}
		m.entries[key] = e
		heap.Push(&m.byReset, e)
	}
	if e.count > limit {
		return false, e.reset.Sub(now), nil
	}
	e.count++
	if e.count > limit {
		return false, e.reset.Sub(now), nil
	}
	return true, 0, nil
}

// Undo takes back one attempt for key, for an attempt that turned out to
// succeed or could not be decided. A key whose count comes back to zero is
// forgotten, so that refunded attempts leave nothing in the table.
func (m *Memory) Undo(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil
	}
	if e.count > 0 {
		e.count--
	}
	if e.count == 0 {
		m.removeLocked(e)
	}
	return nil
}

// Reset forgets every attempt for key.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok {
		m.removeLocked(e)
	}
	return nil
}

// Sweep drops entries whose window has ended.
func (m *Memory) Sweep() {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
}

// Len reports how many keys the table holds.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// makeRoomLocked drops the entries whose window has ended and, if the
// table is still full, the one whose window ends first, so that one more
// fits. Each entry is dropped once, so this costs O(log n) per Hit,
// amortised, however fast keys arrive.
func (m *Memory) makeRoomLocked(now time.Time) {
	m.sweepLocked(now)
	for len(m.entries) >= m.maxKeys {
		m.removeLocked(m.byReset[0])
	}
}

func (m *Memory) sweepLocked(now time.Time) {
	for len(m.byReset) > 0 && !now.Before(m.byReset[0].reset) {
		m.removeLocked(m.byReset[0])
	}
}

func (m *Memory) removeLocked(e *entry) {
	heap.Remove(&m.byReset, e.index)
	delete(m.entries, e.key)
}

// resetHeap orders entries by the end of their window (container/heap).
type resetHeap []*entry

func (h resetHeap) Len() int           { return len(h) }
func (h resetHeap) Less(i, j int) bool { return h[i].reset.Before(h[j].reset) }
func (h resetHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *resetHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *resetHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
