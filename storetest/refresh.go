package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// testRefreshLookup checks RefreshSession, for stores that implement
// gatehouse.RefreshLookup, against what the three reads it stands for
// return: RefreshRecord, Session and UserByID.
func testRefreshLookup(t *testing.T, open func(*testing.T) Stores) {
	st := open(t)
	l, ok := st.Sessions.(gatehouse.RefreshLookup)
	if !ok {
		t.Skip("the session store is not a gatehouse.RefreshLookup")
	}
	alice, bob := newUser("alice", "alice@example.org"), newUser("bob", "bob@example.org")
	createUser(t, st, alice)
	createUser(t, st, bob)
	s1, s2 := newSession("s-1", "alice", at(time.Minute)), newSession("s-2", "bob", at(time.Minute))
	s2.Generation, s2.UserAgent, s2.IP, s2.RotatedAt = 7, "", "", time.Time{}
	createSession(t, st, s1)
	createSession(t, st, s2)

	// check fails t unless RefreshSession(h) is the record of h at gen,
	// with session want and its user wantUser.
	check := func(what string, h []byte, gen int, want *gatehouse.Session, wantUser *gatehouse.User) {
		t.Helper()
		rec, sess, u, err := l.RefreshSession(t.Context(), h)
		if err != nil {
			t.Errorf("%s: RefreshSession: %v", what, err)
			return
		}
		var d diff
		d.bytes("Hash", rec.Hash, h)
		d.eq("SessionID", rec.SessionID, want.ID)
		d.eq("Generation", rec.Generation, gen)
		d.report(t, what+": RefreshSession record")
		diffSession(sess, want).report(t, what+": RefreshSession session")
		diffUser(u, wantUser).report(t, what+": RefreshSession user")
	}

	check("new session", s1.RefreshHash, 0, s1, alice)
	check("another user's session", s2.RefreshHash, 7, s2, bob)

	_, _, _, err := l.RefreshSession(t.Context(), hash("never issued"))
	wantErr(t, "RefreshSession of an unknown hash", err, gatehouse.ErrNotFound)

	// After a rotation the old token's record still names the session,
	// which is read as it is now.
	r := gatehouse.Rotation{SessionID: s1.ID, From: 0, NewHash: hash("s-1/1"), Now: at(time.Hour)}
	if err := st.Sessions.RotateRefresh(t.Context(), r); err != nil {
		t.Fatalf("RotateRefresh: %v", err)
	}
	rotated := *s1
	rotated.Generation, rotated.RefreshHash, rotated.LastUsedAt, rotated.RotatedAt = 1, r.NewHash, r.Now, r.Now
	check("rotated-out token", s1.RefreshHash, 0, &rotated, alice)
	check("current token", r.NewHash, 1, &rotated, alice)

	// A revoked session and a disabled user are returned as they are:
	// refusing them is the service's decision.
	revoke(t, st, s1.ID, gatehouse.ReasonLogout, at(2*time.Hour))
	rotated.RevokedAt, rotated.Reason = at(2*time.Hour), gatehouse.ReasonLogout
	check("revoked session", r.NewHash, 1, &rotated, alice)
	if err := st.Users.SetUserDisabled(t.Context(), bob.ID, true, at(3*time.Hour)); err != nil {
		t.Fatalf("SetUserDisabled: %v", err)
	}
	disabled := *bob
	disabled.Disabled, disabled.UpdatedAt = true, at(3*time.Hour)
	check("disabled user", s2.RefreshHash, 7, s2, &disabled)
}
