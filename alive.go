package gatehouse

import (
	"sync"
	"sync/atomic"
	"time"
)

// aliveCache remembers sessions this instance has seen alive, with the
// owner's id and email, so that authenticating a request needs no store
// round trip. Revocation removes entries; the Revocations set is checked
// first in any case.
//
// Every authenticated request reads it and only a session's first request
// on this instance writes it, so it is a sync.Map: reads take no lock and
// write no shared memory, which a read lock would on every request.
type aliveCache struct {
	max int
	n   atomic.Int64 // entries held, about: eviction only needs a bound
	m   sync.Map     // session id -> aliveEntry
}

type aliveEntry struct {
	userID string
	email  string
	until  time.Time
}

func newAliveCache(max int) *aliveCache {
	return &aliveCache{max: max}
}

func (c *aliveCache) get(id string, now time.Time) (aliveEntry, bool) {
	v, ok := c.m.Load(id)
	if !ok {
		return aliveEntry{}, false
	}
	e := v.(aliveEntry)
	if now.After(e.until) {
		return aliveEntry{}, false
	}
	return e, true
}

func (c *aliveCache) put(id, userID, email string, until time.Time) aliveEntry {
	e := aliveEntry{userID: userID, email: email, until: until}
	if _, loaded := c.m.Swap(id, e); !loaded && c.n.Add(1) > int64(c.max) {
		// Evict an arbitrary other entry; a miss only costs one store lookup.
		c.m.Range(func(k, _ any) bool {
			if k == id {
				return true
			}
			c.drop(k.(string))
			return false
		})
	}
	return e
}

func (c *aliveCache) drop(id string) {
	if _, ok := c.m.LoadAndDelete(id); ok {
		c.n.Add(-1)
	}
}

func (c *aliveCache) dropAll(ids []string) {
	for _, id := range ids {
		c.drop(id)
	}
}
