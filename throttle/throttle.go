// Package throttle counts failed attempts per key in fixed windows, in
// memory. It is the single-instance limiter; the Redis limiter shares its
// semantics so that throttling holds across instances.
package throttle

import (
	"context"
	"sync"
	"time"
)

// maxKeys bounds the table: an attacker spraying random emails must not be
// able to grow it without limit. When full, expired entries are swept and, if
// that is not enough, new keys are refused (fail closed: the attempt is
// throttled) rather than forgetting the counts of keys under attack.
const maxKeys = 1 << 20

type entry struct {
	count int
	reset time.Time
}

// Memory is an in-memory limiter safe for concurrent use.
type Memory struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
}

// NewMemory returns an empty limiter reading the clock from now (time.Now if nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, entries: make(map[string]*entry)}
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
		ok = false
	}
	if !ok {
		if len(m.entries) >= maxKeys {
			m.sweepLocked(now)
			if len(m.entries) >= maxKeys {
				return false, window, nil
			}
		}
		e = &entry{reset: now.Add(window)}
		m.entries[key] = e
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

// Undo takes back one attempt for key, for an attempt that turned out to succeed.
func (m *Memory) Undo(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok && e.count > 0 {
		e.count--
	}
	return nil
}

// Reset forgets every attempt for key.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}

// Sweep drops entries whose window has ended.
func (m *Memory) Sweep() {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
}

func (m *Memory) sweepLocked(now time.Time) {
	for k, e := range m.entries {
		if !now.Before(e.reset) {
			delete(m.entries, k)
		}
	}
}
