package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// newSession returns a live session of user with every field set, not yet
// stored, used last at lastUsed.
func newSession(id, user string, lastUsed time.Time) *gatehouse.Session {
	return &gatehouse.Session{
		ID:          id,
		UserID:      user,
		CreatedAt:   at(0),
		LastUsedAt:  lastUsed,
		ExpiresAt:   at(30 * 24 * time.Hour),
		UserAgent:   "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
		IP:          "2001:db8::7",
		Generation:  0,
		RefreshHash: hash(id + "/0"),
		RotatedAt:   at(0),
	}
}

func createSession(t *testing.T, st Stores, s *gatehouse.Session) {
	t.Helper()
	if err := st.Sessions.CreateSession(t.Context(), s); err != nil {
		t.Fatalf("CreateSession(%q): %v", s.ID, err)
	}
}

// checkSession fails t unless the stored session with want.ID equals want.
func checkSession(t *testing.T, st Stores, want *gatehouse.Session) {
	t.Helper()
	got, err := st.Sessions.Session(t.Context(), want.ID)
	if err != nil {
		t.Errorf("Session(%q): %v", want.ID, err)
		return
	}
	diffSession(got, want).report(t, "Session("+want.ID+")")
}

// checkRecord fails t unless the refresh record of h is of session id at gen.
func checkRecord(t *testing.T, st Stores, h []byte, id string, gen int) {
	t.Helper()
	got, err := st.Sessions.RefreshRecord(t.Context(), h)
	if err != nil {
		t.Errorf("RefreshRecord(%x): %v, want the record of %s generation %d", h, err, id, gen)
		return
	}
	var d diff
	d.bytes("Hash", got.Hash, h)
	d.eq("SessionID", got.SessionID, id)
	d.eq("Generation", got.Generation, gen)
	d.report(t, "RefreshRecord")
}

func checkNoRecord(t *testing.T, st Stores, h []byte) {
	t.Helper()
	rec, err := st.Sessions.RefreshRecord(t.Context(), h)
	if err == nil {
		t.Errorf("RefreshRecord(%x) = %+v, want ErrNotFound", h, rec)
		return
	}
	wantErr(t, "RefreshRecord", err, gatehouse.ErrNotFound)
}

func revoke(t *testing.T, st Stores, id, reason string, now time.Time) {
	t.Helper()
	if err := st.Sessions.RevokeSession(t.Context(), id, reason, now); err != nil {
		t.Fatalf("RevokeSession(%q): %v", id, err)
	}
}

func testSessions(t *testing.T, open func(*testing.T) Stores) {
	// openWithUsers returns stores holding users "alice" and "bob".
	openWithUsers := func(t *testing.T) Stores {
		t.Helper()
		st := open(t)
		createUser(t, st, newUser("alice", "alice@example.org"))
		createUser(t, st, newUser("bob", "bob@example.org"))
		return st
	}

	t.Run("CreateAndGet", func(t *testing.T) {
		st := openWithUsers(t)
		s := newSession("s-1", "alice", at(time.Minute))
		bare := newSession("s-2", "alice", at(time.Minute))
		bare.UserAgent, bare.IP, bare.Generation, bare.RotatedAt = "", "", 7, time.Time{}
		for _, want := range []*gatehouse.Session{s, bare} {
			createSession(t, st, want)
			checkSession(t, st, want)
			checkRecord(t, st, want.RefreshHash, want.ID, want.Generation)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		st := openWithUsers(t)
		createSession(t, st, newSession("s-1", "alice", at(0)))
		_, err := st.Sessions.Session(t.Context(), "s-absent")
		wantErr(t, "Session of an absent id", err, gatehouse.ErrNotFound)
		checkNoRecord(t, st, hash("never issued"))
		err = st.Sessions.RevokeSession(t.Context(), "s-absent", gatehouse.ReasonLogout, at(time.Hour))
		wantErr(t, "RevokeSession of an absent id", err, gatehouse.ErrNotFound)
	})

	t.Run("Rotate", func(t *testing.T) {
		st := openWithUsers(t)
		s := newSession("s-1", "alice", at(time.Minute))
		s.Generation = 3
		createSession(t, st, s)
		old := s.RefreshHash
		now := at(2 * time.Hour)
		r := gatehouse.Rotation{SessionID: s.ID, From: 3, NewHash: hash("s-1/4"), Now: now}
		if err := st.Sessions.RotateRefresh(t.Context(), r); err != nil {
			t.Fatalf("RotateRefresh from generation 3: %v", err)
		}
		want := *s
		want.Generation, want.RefreshHash, want.LastUsedAt, want.RotatedAt = 4, r.NewHash, now, now
		checkSession(t, st, &want)
		checkRecord(t, st, old, s.ID, 3)
		checkRecord(t, st, r.NewHash, s.ID, 4)

		// The same compare-and-swap again: the session is no longer at 3.
		again := gatehouse.Rotation{SessionID: s.ID, From: 3, NewHash: hash("s-1/4 again"), Now: at(3 * time.Hour)}
		wantErr(t, "second RotateRefresh from generation 3", st.Sessions.RotateRefresh(t.Context(), again), gatehouse.ErrConflict)
		checkSession(t, st, &want)
		checkNoRecord(t, st, again.NewHash)

		// Every token ever issued keeps its record.
		next := gatehouse.Rotation{SessionID: s.ID, From: 4, NewHash: hash("s-1/5"), Now: at(4 * time.Hour)}
		if err := st.Sessions.RotateRefresh(t.Context(), next); err != nil {
			t.Fatalf("RotateRefresh from generation 4: %v", err)
		}
		checkRecord(t, st, old, s.ID, 3)
		checkRecord(t, st, r.NewHash, s.ID, 4)
		checkRecord(t, st, next.NewHash, s.ID, 5)
	})

	t.Run("RotateFromWrongGeneration", func(t *testing.T) {
		st := openWithUsers(t)
		s := newSession("s-1", "alice", at(time.Minute))
		s.Generation = 3
		createSession(t, st, s)
		for _, from := range []int{2, 4} {
			r := gatehouse.Rotation{SessionID: s.ID, From: from, NewHash: hash("wrong"), Now: at(time.Hour)}
			wantErr(t, "RotateRefresh from another generation", st.Sessions.RotateRefresh(t.Context(), r), gatehouse.ErrConflict)
		}
		checkSession(t, st, s)
		checkNoRecord(t, st, hash("wrong"))
	})

	t.Run("RotateRevoked", func(t *testing.T) {
		st := openWithUsers(t)
		s := newSession("s-1", "alice", at(time.Minute))
		createSession(t, st, s)
		revoke(t, st, s.ID, gatehouse.ReasonLogout, at(time.Hour))
		r := gatehouse.Rotation{SessionID: s.ID, From: s.Generation, NewHash: hash("after revoke"), Now: at(2 * time.Hour)}
		wantErr(t, "RotateRefresh of a revoked session", st.Sessions.RotateRefresh(t.Context(), r), gatehouse.ErrConflict)
		want := *s
		want.RevokedAt, want.Reason = at(time.Hour), gatehouse.ReasonLogout
		checkSession(t, st, &want)
		checkNoRecord(t, st, r.NewHash)
	})

	t.Run("RotateAbsent", func(t *testing.T) {
		st := openWithUsers(t)
		r := gatehouse.Rotation{SessionID: "s-absent", From: 0, NewHash: hash("absent"), Now: at(time.Hour)}
		err := st.Sessions.RotateRefresh(t.Context(), r)
		if err == nil {
			t.Fatalf("RotateRefresh of an absent session: got nil error, want ErrConflict or ErrNotFound")
		}
		if !errors.Is(err, gatehouse.ErrConflict) && !errors.Is(err, gatehouse.ErrNotFound) {
			t.Errorf("RotateRefresh of an absent session: got %v, want ErrConflict or ErrNotFound", err)
		}
		checkNoRecord(t, st, r.NewHash)
	})

	t.Run("RotateRace", func(t *testing.T) {
		st := openWithUsers(t)
		s := newSession("s-1", "alice", at(time.Minute))
		createSession(t, st, s)
		const n = 20
		errs := make([]error, n)
		rotations := make([]gatehouse.Rotation, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			rotations[i] = gatehouse.Rotation{
				SessionID: s.ID, From: 0, NewHash: hash(fmt.Sprintf("race/%d", i)), Now: at(time.Hour + time.Duration(i)*time.Second),
			}
			wg.Go(func() {
				<-start
				errs[i] = st.Sessions.RotateRefresh(t.Context(), rotations[i])
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("rotations %d and %d from generation 0 both succeeded", winner, i)
			case err == nil:
				winner = i
			default:
				wantErr(t, "losing RotateRefresh", err, gatehouse.ErrConflict)
			}
		}
		if winner < 0 {
			t.Fatalf("none of %d concurrent rotations succeeded", n)
		}
		want := *s
		r := rotations[winner]
		want.Generation, want.RefreshHash, want.LastUsedAt, want.RotatedAt = 1, r.NewHash, r.Now, r.Now
		checkSession(t, st, &want)
		for i, r := range rotations {
			if i == winner {
				checkRecord(t, st, r.NewHash, s.ID, 1)
			} else {
				checkNoRecord(t, st, r.NewHash)
			}
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		st := openWithUsers(t)
		s := newSession("s-1", "alice", at(time.Minute))
		createSession(t, st, s)
		revoke(t, st, s.ID, gatehouse.ReasonLogout, at(time.Hour))
		want := *s
		want.RevokedAt, want.Reason = at(time.Hour), gatehouse.ReasonLogout
		checkSession(t, st, &want)

		// A second revocation succeeds and changes nothing.
		revoke(t, st, s.ID, gatehouse.ReasonRefreshReused, at(2*time.Hour))
		checkSession(t, st, &want)
	})

	t.Run("RevokeUserSessions", func(t *testing.T) {
		st := openWithUsers(t)
		a1 := newSession("a-1", "alice", at(time.Minute))
		a2 := newSession("a-2", "alice", at(time.Minute))
		a3 := newSession("a-3", "alice", at(time.Minute))
		a4 := newSession("a-4", "alice", at(time.Minute))
		b1 := newSession("b-1", "bob", at(time.Minute))
		for _, s := range []*gatehouse.Session{a1, a2, a3, a4, b1} {
			createSession(t, st, s)
		}
		revoke(t, st, a4.ID, gatehouse.ReasonLogout, at(time.Hour))
		now := at(2 * time.Hour)

		ids, err := st.Sessions.RevokeUserSessions(t.Context(), "alice", a2.ID, gatehouse.ReasonPasswordChange, now)
		if err != nil {
			t.Fatalf("RevokeUserSessions: %v", err)
		}
		slices.Sort(ids)
		if want := []string{"a-1", "a-3"}; !slices.Equal(ids, want) {
			t.Errorf("RevokeUserSessions(alice, except a-2) = %q, want %q", ids, want)
		}
		for _, s := range []*gatehouse.Session{a1, a3} {
			want := *s
			want.RevokedAt, want.Reason = now, gatehouse.ReasonPasswordChange
			checkSession(t, st, &want)
		}
		checkSession(t, st, a2) // the exception
		checkSession(t, st, b1) // another user's
		wantA4 := *a4
		wantA4.RevokedAt, wantA4.Reason = at(time.Hour), gatehouse.ReasonLogout
		checkSession(t, st, &wantA4) // the first revocation stays

		later := at(3 * time.Hour)
		ids, err = st.Sessions.RevokeUserSessions(t.Context(), "alice", "", gatehouse.ReasonLogoutAll, later)
		if err != nil {
			t.Fatalf("RevokeUserSessions without exception: %v", err)
		}
		if want := []string{"a-2"}; !slices.Equal(ids, want) {
			t.Errorf("RevokeUserSessions(alice, no exception) = %q, want %q", ids, want)
		}
		ids, err = st.Sessions.RevokeUserSessions(t.Context(), "alice", "", gatehouse.ReasonLogoutAll, later)
		if err != nil || len(ids) != 0 {
			t.Errorf("RevokeUserSessions with nothing live = %q, %v; want none, nil", ids, err)
		}
		checkSession(t, st, b1)
	})

	t.Run("ActiveSessions", func(t *testing.T) {
		st := openWithUsers(t)
		now := at(10 * 24 * time.Hour)
		used1 := newSession("used-1", "alice", at(time.Hour))
		used3 := newSession("used-3", "alice", at(3*time.Hour))
		used2 := newSession("used-2", "alice", at(2*time.Hour))
		revoked := newSession("revoked", "alice", at(4*time.Hour))
		expired := newSession("expired", "alice", at(5*time.Hour))
		expired.ExpiresAt = now.Add(-time.Second)
		bobs := newSession("bobs", "bob", at(6*time.Hour))
		for _, s := range []*gatehouse.Session{used1, used3, used2, revoked, expired, bobs} {
			createSession(t, st, s)
		}
		revoke(t, st, revoked.ID, gatehouse.ReasonLogout, at(5*time.Hour))

		got, err := st.Sessions.ActiveSessions(t.Context(), "alice", now)
		if err != nil {
			t.Fatalf("ActiveSessions: %v", err)
		}
		want := []*gatehouse.Session{used3, used2, used1}
		if len(got) != len(want) {
			t.Fatalf("ActiveSessions(alice) = %q, want %q", sessionIDs(got), sessionIDs(want))
		}
		for i := range want {
			diffSession(got[i], want[i]).report(t, fmt.Sprintf("ActiveSessions(alice)[%d]", i))
		}

		none, err := st.Sessions.ActiveSessions(t.Context(), "nobody", now)
		if err != nil || len(none) != 0 {
			t.Errorf("ActiveSessions(nobody) = %q, %v; want none, nil", sessionIDs(none), err)
		}
	})

	t.Run("RevokedSince", func(t *testing.T) {
		st := openWithUsers(t)
		since := at(time.Hour)
		revokedAt := map[string]time.Time{
			"before":   since.Add(-time.Millisecond),
			"at-since": since,
			"after":    since.Add(time.Minute),
			"bobs":     since.Add(2 * time.Minute),
		}
		for _, id := range []string{"before", "at-since", "after", "bobs", "live"} {
			user := "alice"
			if id == "bobs" {
				user = "bob"
			}
			createSession(t, st, newSession(id, user, at(time.Minute)))
			if when, ok := revokedAt[id]; ok {
				revoke(t, st, id, gatehouse.ReasonLogout, when)
			}
		}
		got, err := st.Sessions.RevokedSince(t.Context(), since)
		if err != nil {
			t.Fatalf("RevokedSince: %v", err)
		}
		slices.SortFunc(got, func(a, b gatehouse.Revocation) int { return a.RevokedAt.Compare(b.RevokedAt) })
		wantIDs := []string{"at-since", "after", "bobs"}
		var gotIDs []string
		for _, r := range got {
			gotIDs = append(gotIDs, r.SessionID)
		}
		if !slices.Equal(gotIDs, wantIDs) {
			t.Fatalf("RevokedSince = %q, want %q", gotIDs, wantIDs)
		}
		for _, r := range got {
			if !sameTime(r.RevokedAt, revokedAt[r.SessionID]) {
				t.Errorf("RevokedSince: %s RevokedAt = %s, want %s", r.SessionID, fmtTime(r.RevokedAt), fmtTime(revokedAt[r.SessionID]))
			}
		}
	})

	t.Run("DeleteSessionsBefore", func(t *testing.T) {
		st := openWithUsers(t)
		cut := at(20 * 24 * time.Hour)
		expired := newSession("expired", "alice", at(time.Minute))
		expired.ExpiresAt = cut.Add(-time.Hour)
		revoked := newSession("revoked", "alice", at(time.Minute))
		live := newSession("live", "alice", at(time.Minute))
		live.ExpiresAt = cut.Add(time.Hour)
		revokedLater := newSession("revoked-later", "bob", at(time.Minute))
		revokedLater.ExpiresAt = cut.Add(time.Hour)
		for _, s := range []*gatehouse.Session{expired, revoked, live, revokedLater} {
			createSession(t, st, s)
		}
		revoke(t, st, revoked.ID, gatehouse.ReasonLogout, cut.Add(-time.Hour))
		revoke(t, st, revokedLater.ID, gatehouse.ReasonLogout, cut.Add(time.Minute))
		// Rotate the doomed and a surviving session, so that both have an
		// old refresh record besides the current one.
		for _, s := range []*gatehouse.Session{expired, live} {
			r := gatehouse.Rotation{SessionID: s.ID, From: 0, NewHash: hash(s.ID + "/1"), Now: at(time.Hour)}
			if err := st.Sessions.RotateRefresh(t.Context(), r); err != nil {
				t.Fatalf("RotateRefresh(%s): %v", s.ID, err)
			}
		}

		n, err := st.Sessions.DeleteSessionsBefore(t.Context(), cut)
		if err != nil {
			t.Fatalf("DeleteSessionsBefore: %v", err)
		}
		if n != 2 {
			t.Errorf("DeleteSessionsBefore = %d, want 2", n)
		}
		for _, id := range []string{"expired", "revoked"} {
			_, err := st.Sessions.Session(t.Context(), id)
			wantErr(t, "Session("+id+") after DeleteSessionsBefore", err, gatehouse.ErrNotFound)
		}
		checkNoRecord(t, st, hash("expired/0"))
		checkNoRecord(t, st, hash("expired/1"))
		checkNoRecord(t, st, hash("revoked/0"))
		for _, id := range []string{"live", "revoked-later"} {
			if _, err := st.Sessions.Session(t.Context(), id); err != nil {
				t.Errorf("Session(%s) after DeleteSessionsBefore: %v", id, err)
			}
		}
		checkRecord(t, st, hash("live/0"), "live", 0)
		checkRecord(t, st, hash("live/1"), "live", 1)
		checkRecord(t, st, hash("revoked-later/0"), "revoked-later", 0)
	})
}

func sessionIDs(list []*gatehouse.Session) []string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids
}
