package gatehouse

import (
	"sync"
	"time"
)

// aliveCache remembers sessions this instance has seen alive, with the
// owner's id and email, so that authenticating a request needs no store
// round trip. Revocation removes entries; the Revocations set is checked
// first in any case.
type aliveCache struct {
	max int
	mu  sync.RWMutex
	m   map[string]aliveEntry
}

type aliveEntry struct {
	userID string
	email  string
	until  time.Time
}

func newAliveCache(max int) *aliveCache {
	return &aliveCache{max: max, m: make(map[string]aliveEntry)}
}

func (c *aliveCache) get(id string, now time.Time) (aliveEntry, bool) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && now.After(e.until) {
		return aliveEntry{}, false
	}
	return e, ok
}

func (c *aliveCache) put(id, userID, email string, until time.Time) aliveEntry {
	e := aliveEntry{userID: userID, email: email, until: until}
	c.mu.Lock()
	if len(c.m) >= c.max {
		// Evict an arbitrary entry; a miss only costs one store lookup.
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[id] = e
	c.mu.Unlock()
	return e
}

func (c *aliveCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

func (c *aliveCache) dropAll(ids []string) {
	c.mu.Lock()
	for _, id := range ids {
		delete(c.m, id)
	}
	c.mu.Unlock()
}
