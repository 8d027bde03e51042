package token

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// Cache is a Verifier that remembers the tokens it has accepted, so that a
// token presented again costs a map lookup instead of a signature check and
// two JSON decodings. It is keyed by the exact token bytes, so a token that
// differs in any byte (a tampered one) is a miss and goes through the full
// verification. The cheap shape and length checks run before the cache is
// consulted, so hostile input never reaches it. An entry is served only
// until the token's exp plus the leeway and only while the key that
// verified it is still in the key set, and the cache holds at most a fixed
// number of entries. Session revocation is the caller's check, after this.
type Cache struct {
	v      *Verifier
	seed   maphash.Seed
	shards [cacheShards]cacheShard
	max    int // entries per shard
}

const cacheShards = 32

type cacheShard struct {
	mu    sync.RWMutex
	m     map[string]cacheEntry
	swept time.Time // last sweep for expired entries
}

type cacheEntry struct {
	claims   Claims
	kid      string
	notAfter time.Time
}

// NewCache returns a cache of at most size accepted tokens in front of v.
func NewCache(v *Verifier, size int) *Cache {
	per := size / cacheShards
	if per < 1 {
		per = 1
	}
	c := &Cache{v: v, seed: maphash.MakeSeed(), max: per}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

// Verify is Verifier.Verify, answered from the cache when raw was accepted
// before and is still within its lifetime.
func (c *Cache) Verify(raw string) (Claims, error) {
	v := c.v
	if err := v.configError(); err != nil {
		return Claims{}, err
	}
	dot1, dot2, err := checkShape(raw, v.maxLength())
	if err != nil {
		return Claims{}, err
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	sh := &c.shards[c.shard(raw)]
	sh.mu.RLock()
	e, ok := sh.m[raw]
	sh.mu.RUnlock()
	if ok {
		if now().Before(e.notAfter) {
			if _, still := v.Keys.VerificationKey(e.kid); still {
				return e.claims, nil
			}
		}
		sh.mu.Lock()
		delete(sh.m, raw)
		sh.mu.Unlock()
	}
	cl, kid, err := v.verifyShaped(raw, dot1, dot2)
	if err != nil {
		return Claims{}, err
	}
	e = cacheEntry{claims: cl, kid: kid, notAfter: cl.ExpiresAt.Add(v.Leeway)}
	sh.mu.Lock()
	if len(sh.m) >= c.max {
		// Sweeping the shard for expired entries costs a pass over all of
		// them, so a flood of first-seen tokens must not pay it on every
		// insertion: at most once a second, else evict arbitrary entries.
		// A miss only costs one verification.
		if t := now(); t.Sub(sh.swept) >= time.Second || t.Before(sh.swept) {
			sh.swept = t
			for k, old := range sh.m {
				if !t.Before(old.notAfter) {
					delete(sh.m, k)
				}
			}
		}
		for k := range sh.m {
			if len(sh.m) < c.max {
				break
			}
			delete(sh.m, k)
		}
	}
	// A copy: raw is usually a substring of the request's Cookie header,
	// which the entry would otherwise keep alive, every cookie in it.
	sh.m[strings.Clone(raw)] = e
	sh.mu.Unlock()
	return cl, nil
}

// shard picks the shard from the last 16 bytes of raw, in a token the end
// of its signature: the shard's map hashes the whole token anyway, and
// hashing it twice was a tenth of what a first-seen token costs beyond the
// library. Only verified tokens are stored, and nobody can choose the
// signature bytes of those, so nobody can pile entries into one shard.
func (c *Cache) shard(raw string) uint64 {
	return maphash.String(c.seed, raw[max(0, len(raw)-16):]) % cacheShards
}

// Len reports how many tokens the cache holds.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}
