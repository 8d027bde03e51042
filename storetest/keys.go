package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// newKey returns a key in the next state created at created, not yet stored.
// Its sealed bytes hold every byte value, zero included.
func newKey(id string, created time.Time) *gatehouse.KeyRecord {
	sealed := make([]byte, 256+len(id))
	for i := range 256 {
		sealed[i] = byte(i)
	}
	copy(sealed[256:], id)
	return &gatehouse.KeyRecord{
		ID:        id,
		Algorithm: "EdDSA",
		State:     gatehouse.KeyNext,
		Sealed:    sealed,
		CreatedAt: created,
	}
}

func createKey(t *testing.T, st Stores, k *gatehouse.KeyRecord) {
	t.Helper()
	if err := st.Keys.CreateKey(t.Context(), k); err != nil {
		t.Fatalf("CreateKey(%q): %v", k.ID, err)
	}
}

// checkKeys fails t unless the store holds exactly want, in that order.
func checkKeys(t *testing.T, st Stores, want ...*gatehouse.KeyRecord) {
	t.Helper()
	got, err := st.Keys.Keys(t.Context())
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Keys = %q, want %q", keyIDs(got), keyIDs(want))
	}
	for i := range want {
		diffKey(got[i], want[i]).report(t, fmt.Sprintf("Keys()[%d]", i))
	}
}

func keyIDs(list []*gatehouse.KeyRecord) []string {
	ids := make([]string, len(list))
	for i, k := range list {
		ids[i] = k.ID
	}
	return ids
}

func testKeys(t *testing.T, open func(*testing.T) Stores) {
	t.Run("Empty", func(t *testing.T) {
		checkKeys(t, open(t))
	})

	t.Run("CreateAndList", func(t *testing.T) {
		st := open(t)
		middle := newKey("k-middle", at(time.Hour))
		newest := newKey("k-newest", at(2*time.Hour))
		newest.State, newest.ActivatedAt = gatehouse.KeyActive, at(3*time.Hour)
		oldest := newKey("k-oldest", at(0))
		oldest.State, oldest.ActivatedAt, oldest.RetiredAt = gatehouse.KeyRetired, at(time.Minute), at(90*time.Minute)
		oldest.Algorithm = "ES256"
		// Inserted out of order: Keys sorts by CreatedAt.
		for _, k := range []*gatehouse.KeyRecord{middle, newest, oldest} {
			createKey(t, st, k)
		}
		checkKeys(t, st, oldest, middle, newest)
	})

	t.Run("Duplicate", func(t *testing.T) {
		st := open(t)
		k := newKey("k-1", at(0))
		createKey(t, st, k)
		dup := newKey("k-1", at(time.Hour))
		dup.Algorithm = "RS256"
		wantErr(t, "CreateKey with an existing id", st.Keys.CreateKey(t.Context(), dup), gatehouse.ErrConflict)
		checkKeys(t, st, k)
	})

	t.Run("UpdateKeyState", func(t *testing.T) {
		st := open(t)
		k := newKey("k-1", at(0))
		other := newKey("k-2", at(time.Hour))
		createKey(t, st, k)
		createKey(t, st, other)

		active := *k
		active.State, active.ActivatedAt = gatehouse.KeyActive, at(2*time.Hour)
		if err := st.Keys.UpdateKeyState(t.Context(), &active); err != nil {
			t.Fatalf("UpdateKeyState to active: %v", err)
		}
		checkKeys(t, st, &active, other)

		retired := active
		retired.State, retired.RetiredAt = gatehouse.KeyRetired, at(3*time.Hour)
		if err := st.Keys.UpdateKeyState(t.Context(), &retired); err != nil {
			t.Fatalf("UpdateKeyState to retired: %v", err)
		}
		checkKeys(t, st, &retired, other)

		absent := newKey("k-absent", at(0))
		absent.State = gatehouse.KeyActive
		wantErr(t, "UpdateKeyState of an absent key", st.Keys.UpdateKeyState(t.Context(), absent), gatehouse.ErrNotFound)
		checkKeys(t, st, &retired, other)
	})

	t.Run("SwapKeyState", func(t *testing.T) {
		st := open(t)
		k := newKey("k-1", at(0))
		createKey(t, st, k)

		active := *k
		active.State, active.ActivatedAt = gatehouse.KeyActive, at(time.Hour)
		if err := st.Keys.SwapKeyState(t.Context(), &active, gatehouse.KeyNext); err != nil {
			t.Fatalf("SwapKeyState next to active: %v", err)
		}
		checkKeys(t, st, &active)

		// A second instance acting on the state it read before: refused.
		again := *k
		again.State, again.ActivatedAt = gatehouse.KeyActive, at(2*time.Hour)
		wantErr(t, "SwapKeyState from a state the key has left", st.Keys.SwapKeyState(t.Context(), &again, gatehouse.KeyNext), gatehouse.ErrConflict)
		checkKeys(t, st, &active)

		retired := active
		retired.State, retired.RetiredAt = gatehouse.KeyRetired, at(3*time.Hour)
		if err := st.Keys.SwapKeyState(t.Context(), &retired, gatehouse.KeyActive); err != nil {
			t.Fatalf("SwapKeyState active to retired: %v", err)
		}
		// A retired key never comes back.
		wantErr(t, "SwapKeyState of a retired key as if active", st.Keys.SwapKeyState(t.Context(), &active, gatehouse.KeyActive), gatehouse.ErrConflict)
		checkKeys(t, st, &retired)

		absent := newKey("k-absent", at(0))
		wantErr(t, "SwapKeyState of an absent key", st.Keys.SwapKeyState(t.Context(), absent, gatehouse.KeyNext), gatehouse.ErrNotFound)
	})

	t.Run("DeleteKey", func(t *testing.T) {
		st := open(t)
		k := newKey("k-1", at(0))
		other := newKey("k-2", at(time.Hour))
		createKey(t, st, k)
		createKey(t, st, other)
		if err := st.Keys.DeleteKey(t.Context(), k.ID); err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		checkKeys(t, st, other)
		wantErr(t, "DeleteKey of a deleted key", st.Keys.DeleteKey(t.Context(), k.ID), gatehouse.ErrNotFound)
		wantErr(t, "DeleteKey of an absent key", st.Keys.DeleteKey(t.Context(), "k-absent"), gatehouse.ErrNotFound)
	})
}
