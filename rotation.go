package gatehouse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/token"
)

// KeyReloadInterval is how often Service.Run reloads the signing keys from
// the store and applies the key schedule (Keyring.Maintain). A key another
// instance created or retired is seen here within this interval.
const KeyReloadInterval = 30 * time.Second

// KeySchedule says when signing keys move through their states:
//
//	next ──(published ≥ PublishLead, active key older than RotationInterval)──► active
//	active ──(a newer key activated)──► retired ──(after Retention)──► deleted
//
// A next key is in the JWKS long before it signs, so that every verifier
// holding a cached JWKS knows it by the time the first token it signed
// arrives; a retired key keeps verifying until every token it signed has
// expired, so that rotation never logs anyone out.
//
// The zero KeySchedule never rotates and never deletes.
type KeySchedule struct {
	// RotationInterval is how long a key signs before the next one takes
	// over. Zero disables automatic rotation.
	RotationInterval time.Duration
	// AccessTTL and Leeway are those of the access tokens the keys sign.
	AccessTTL, Leeway time.Duration
	// JWKSMaxAge is how long verifiers may cache the JWKS document
	// (its Cache-Control max-age).
	JWKSMaxAge time.Duration
}

// PublishLead is how long a next key is published before it may sign:
// AccessTTL plus JWKSMaxAge. A verifier whose cached JWKS predates the key
// refetches within JWKSMaxAge, so it holds the key before any token signed
// by it can exist; AccessTTL on top covers a verifier that missed one
// refresh.
func (s KeySchedule) PublishLead() time.Duration { return s.AccessTTL + s.JWKSMaxAge }

// Retention is how long a retired key keeps verifying before it is
// deleted: AccessTTL plus Leeway, by when every token it signed has
// expired, plus KeyReloadInterval, because an instance that has not yet
// reloaded may sign with the key that long after another retired it.
func (s KeySchedule) Retention() time.Duration {
	return s.AccessTTL + s.Leeway + KeyReloadInterval
}

// SetSchedule sets the schedule Maintain applies.
func (k *Keyring) SetSchedule(s KeySchedule) { k.schedule.Store(&s) }

// Schedule returns the schedule Maintain applies.
func (k *Keyring) Schedule() KeySchedule { return *k.schedule.Load() }

// Maintain reloads the keys from the store and applies the schedule at now:
// it makes sure exactly one key signs and that a next key is published,
// activates the next key once the active one has signed for
// RotationInterval and the next one has been published for PublishLead,
// retiring the previous key, and deletes retired keys after Retention.
//
// Every instance may call it: each state change is a compare-and-swap in
// the store, so two instances acting at once change each key once, and
// both pick the same key to activate.
func (k *Keyring) Maintain(ctx context.Context, now time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadLocked(ctx); err != nil {
		return err
	}
	sched := k.Schedule()
	now = now.UTC()
	recs := k.state.Load().recs
	changed := false
	if active := newest(recs, KeyActive, time.Time{}); active == nil {
		// No key signs (a fresh store, or every key retired by hand):
		// use the next key if there is one, whatever its age.
		if err := k.activateLocked(ctx, newest(recs, KeyNext, time.Time{}), now); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
		changed = true
	} else if sched.RotationInterval > 0 && !now.Before(active.ActivatedAt.Add(sched.RotationInterval)) {
		if next := newest(recs, KeyNext, now.Add(-sched.PublishLead())); next != nil {
			// Losing the compare-and-swap means another instance
			// activated it first: the reload below picks that up.
			if err := k.activateLocked(ctx, next, now); err != nil && !errors.Is(err, ErrConflict) {
				return err
			}
			changed = true
		}
	} else {
		// Several active keys (instances that started at once on an
		// empty store): the newest signs everywhere, retire the rest.
		n, err := k.retireOthersLocked(ctx, recs, active.ID, now)
		if err != nil {
			return err
		}
		changed = n > 0
	}
	if changed {
		if err := k.loadLocked(ctx); err != nil {
			return err
		}
		recs = k.state.Load().recs
	}
	if newest(recs, KeyNext, time.Time{}) == nil {
		if _, err := k.addLocked(ctx, nil, KeyNext, now); err != nil {
			return err
		}
		changed = true
	}
	if sched.AccessTTL > 0 {
		for _, r := range recs {
			if r.State == KeyRetired && !now.Before(r.RetiredAt.Add(sched.Retention())) {
				if err := k.store.DeleteKey(ctx, r.ID); err != nil && !errors.Is(err, ErrNotFound) {
					return fmt.Errorf("gatehouse: delete retired key %s: %w", r.ID, err)
				}
				changed = true
			}
		}
	}
	if changed {
		return k.loadLocked(ctx)
	}
	return nil
}

// Rotate makes the next key (a new one when there is none) the active key
// at once, retires the key that was active, and publishes a new next key.
// It returns the key that now signs.
//
// A key activated this way may not yet be in a verifier's cached JWKS;
// verifiers refetch on an unknown kid, and other Gatehouse instances reload
// on one, so tokens it signs are accepted, but the automatic rotation of
// Maintain, which waits for PublishLead, is the smooth path.
func (k *Keyring) Rotate(ctx context.Context) (*KeyRecord, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadLocked(ctx); err != nil {
		return nil, err
	}
	now := k.now().UTC()
	for attempt := 0; ; attempt++ {
		next := newest(k.state.Load().recs, KeyNext, time.Time{})
		err := k.activateLocked(ctx, next, now)
		if errors.Is(err, ErrConflict) && attempt < 3 {
			// Another instance moved that key meanwhile: look again.
			if err := k.loadLocked(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	if err := k.loadLocked(ctx); err != nil {
		return nil, err
	}
	signing := newest(k.state.Load().recs, KeyActive, time.Time{})
	if _, err := k.addLocked(ctx, nil, KeyNext, now); err != nil {
		return nil, err
	}
	return signing, k.loadLocked(ctx)
}

// Retire retires the key kid: it stops signing at once and keeps verifying
// until Retention has passed. Retiring the only active key first activates
// the next key (a new one when there is none), so that something signs.
// Retiring a retired key does nothing. It returns ErrNotFound for an unknown kid.
func (k *Keyring) Retire(ctx context.Context, kid string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadLocked(ctx); err != nil {
		return err
	}
	now := k.now().UTC()
	recs := k.state.Load().recs
	i := slices.IndexFunc(recs, func(r *KeyRecord) bool { return r.ID == kid })
	if i < 0 {
		return fmt.Errorf("gatehouse: key %s: %w", kid, ErrNotFound)
	}
	rec := recs[i]
	if rec.State == KeyRetired {
		return nil
	}
	if rec.State == KeyActive && countState(recs, KeyActive) == 1 {
		// activateLocked retires every other active key: rec included.
		if err := k.activateLocked(ctx, newest(recs, KeyNext, time.Time{}), now); err != nil {
			return err
		}
	} else if err := k.retireLocked(ctx, rec, now); err != nil {
		return err
	}
	if err := k.loadLocked(ctx); err != nil {
		return err
	}
	if newest(k.state.Load().recs, KeyNext, time.Time{}) == nil {
		if _, err := k.addLocked(ctx, nil, KeyNext, now); err != nil {
			return err
		}
	}
	return k.loadLocked(ctx)
}

// Import stores a key brought from outside: PKCS#8 (DER or PEM) for the
// asymmetric algorithms, the raw secret of at least token.MinHMACBytes for
// HS256. It gets a new random kid. With activate it signs at once (see
// Rotate for what that means for verifiers) and the previous key is
// retired; otherwise it is published as the next key and signs at the next
// rotation. The algorithm must be the one the keyring signs with: the
// policy promises that only that algorithm is accepted.
func (k *Keyring) Import(ctx context.Context, alg string, data []byte, activate bool) (*KeyRecord, error) {
	if alg != k.algorithm {
		return nil, fmt.Errorf("gatehouse: import: the policy signs with %s, not %s (change tokens.algorithm first)", k.algorithm, alg)
	}
	key, err := token.ParsePrivate(alg, data, token.NewKeyID())
	if err != nil {
		return nil, fmt.Errorf("gatehouse: import: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadLocked(ctx); err != nil {
		return nil, err
	}
	now := k.now().UTC()
	rec, err := k.addLocked(ctx, key, KeyNext, now)
	if err != nil {
		return nil, err
	}
	if activate {
		if err := k.activateLocked(ctx, rec, now); err != nil {
			return nil, err
		}
		rec.State, rec.ActivatedAt = KeyActive, now
	}
	return rec, k.loadLocked(ctx)
}

// activateLocked moves next (a new key when nil) from next to active and
// retires every other active key. The keys must be loaded.
func (k *Keyring) activateLocked(ctx context.Context, next *KeyRecord, now time.Time) error {
	if next == nil {
		var err error
		if next, err = k.addLocked(ctx, nil, KeyNext, now); err != nil {
			return err
		}
	}
	up := *next
	up.State, up.ActivatedAt = KeyActive, now
	if err := k.store.SwapKeyState(ctx, &up, KeyNext); err != nil {
		return fmt.Errorf("gatehouse: activate key %s: %w", next.ID, err)
	}
	k.recordActivation(ctx, next.ID)
	_, err := k.retireOthersLocked(ctx, k.state.Load().recs, next.ID, now)
	return err
}

// retireOthersLocked retires every active key in recs but keep, and
// reports how many it retired.
func (k *Keyring) retireOthersLocked(ctx context.Context, recs []*KeyRecord, keep string, now time.Time) (int, error) {
	n := 0
	for _, r := range recs {
		if r.State != KeyActive || r.ID == keep {
			continue
		}
		if err := k.retireLocked(ctx, r, now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// retireLocked moves r to retired. Losing the race to another instance
// that retired it first is success.
func (k *Keyring) retireLocked(ctx context.Context, r *KeyRecord, now time.Time) error {
	up := *r
	up.State, up.RetiredAt = KeyRetired, now
	err := k.store.SwapKeyState(ctx, &up, r.State)
	if errors.Is(err, ErrConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("gatehouse: retire key %s: %w", r.ID, err)
	}
	return nil
}

// newest returns the key in state that was created (for next keys) or
// activated (otherwise) last, and no later than notAfter unless notAfter is
// zero; ties go to the greater id, so every instance picks the same key.
func newest(recs []*KeyRecord, state string, notAfter time.Time) *KeyRecord {
	var best *KeyRecord
	for _, r := range recs {
		if r.State != state {
			continue
		}
		t := keyTime(r)
		if !notAfter.IsZero() && t.After(notAfter) {
			continue
		}
		if best == nil || cmp.Or(t.Compare(keyTime(best)), cmp.Compare(r.ID, best.ID)) > 0 {
			best = r
		}
	}
	return best
}

func keyTime(r *KeyRecord) time.Time {
	if r.State == KeyNext {
		return r.CreatedAt
	}
	return r.ActivatedAt
}

func countState(recs []*KeyRecord, state string) int {
	n := 0
	for _, r := range recs {
		if r.State == state {
			n++
		}
	}
	return n
}
