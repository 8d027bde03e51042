package gatehouse

import (
	"cmp"
	"slices"
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

	subMu sync.Mutex
	subs  map[chan Revocation]struct{}
}

// NewRevocations returns an empty set that keeps entries for keep.
func NewRevocations(keep time.Duration) *Revocations {
	return &Revocations{keep: keep}
}

// Add marks a session as ended at at. It reports whether the session was
// new to the set; subscribers hear of new ones only.
func (r *Revocations) Add(sessionID string, at time.Time) bool {
	if _, loaded := r.m.LoadOrStore(sessionID, at.Add(r.keep)); loaded {
		return false
	}
	r.n.Add(1)
	r.subMu.Lock()
	for ch := range r.subs {
		select {
		case ch <- Revocation{SessionID: sessionID, RevokedAt: at}:
		default:
			// A subscriber that does not keep up misses the push; it
			// must resynchronise from the store (RevokedSince).
		}
	}
	r.subMu.Unlock()
	return true
}

// Subscribe returns a channel that receives every session newly added to
// the set, and a function that ends the subscription.
func (r *Revocations) Subscribe(buffer int) (<-chan Revocation, func()) {
	ch := make(chan Revocation, buffer)
	r.subMu.Lock()
	if r.subs == nil {
		r.subs = make(map[chan Revocation]struct{})
	}
	r.subs[ch] = struct{}{}
	r.subMu.Unlock()
	return ch, func() {
		r.subMu.Lock()
		delete(r.subs, ch)
		r.subMu.Unlock()
	}
}

// Revoked reports whether the session has ended.
func (r *Revocations) Revoked(sessionID string) bool {
	_, ok := r.m.Load(sessionID)
	return ok
}

// Since returns the sessions revoked at or after since that the set still
// holds, oldest first. It is the snapshot the revocation feed gives other
// services.
func (r *Revocations) Since(since time.Time) []Revocation {
	var list []Revocation
	r.m.Range(func(k, v any) bool {
		if at := v.(time.Time).Add(-r.keep); !at.Before(since) {
			list = append(list, Revocation{SessionID: k.(string), RevokedAt: at})
		}
		return true
	})
	slices.SortFunc(list, func(a, b Revocation) int {
		return cmp.Or(a.RevokedAt.Compare(b.RevokedAt), cmp.Compare(a.SessionID, b.SessionID))
	})
	return list
}

// Keep is how long an entry is held after its revocation.
func (r *Revocations) Keep() time.Duration { return r.keep }

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
