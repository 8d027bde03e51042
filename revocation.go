package gatehouse

import (
	"sync"
	"sync/atomic"
	"time"
)

// Revocations is the in-memory set of ended sessions that access tokens are
// checked against on every request. An access token is self-contained, so
// without this set a logout would leave it valid until it expires (ASVS
// 7.4.1); with it, logout takes effect at once without a store round trip.
//
// An entry is kept for the access-token lifetime plus leeway after the
// revocation: any token of that session issued earlier has expired by then.
// Reads are lock-free (sync.Map), because every request reads and only
// session ends write.
type Revocations struct {
	keep time.Duration
	m    sync.Map // session id -> time.Time until which to keep it
	n    atomic.Int64
}

// NewRevocations returns an empty set that keeps entries for keep.
func NewRevocations(keep time.Duration) *Revocations {
	return &Revocations{keep: keep}
}

// Add marks a session as ended at at.
func (r *Revocations) Add(sessionID string, at time.Time) {
	if _, loaded := r.m.LoadOrStore(sessionID, at.Add(r.keep)); !loaded {
		r.n.Add(1)
	}
}

// Revoked reports whether the session has ended.
func (r *Revocations) Revoked(sessionID string) bool {
	_, ok := r.m.Load(sessionID)
	return ok
}

// Len reports how many sessions are held.
func (r *Revocations) Len() int { return int(r.n.Load()) }

// Prune drops entries that no live access token can refer to any more.
func (r *Revocations) Prune(now time.Time) {
	r.m.Range(func(k, v any) bool {
		if now.After(v.(time.Time)) {
			r.m.Delete(k)
			r.n.Add(-1)
		}
		return true
	})
}
