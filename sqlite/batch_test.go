package sqlite

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TestBatchedRotationsAnswerAlone checks that rotations committed in one
// transaction each get the answer they would get alone: of many rotations
// of one session from one generation exactly one wins; a rotation whose
// new hash is taken fails without taking its batch with it; every other
// session's rotation succeeds and is stored.
func TestBatchedRotationsAnswerAlone(t *testing.T) {
	db := openTest(t)
	const sessions, racers = 48, 8
	for i := range sessions {
		seed(t, db, fmt.Sprintf("s%d", i))
	}
	contested := seed(t, db, "contested")
	dup := sha256.Sum256([]byte("taken"))

	var wg sync.WaitGroup
	errs := make([]error, sessions)
	raceErrs := make([]error, racers)
	dupErrs := make([]error, 2)
	start := make(chan struct{})
	for i := range sessions {
		wg.Go(func() {
			<-start
			h := sha256.Sum256(fmt.Appendf(nil, "s%d/1", i))
			errs[i] = db.RotateRefresh(t.Context(), gatehouse.Rotation{SessionID: fmt.Sprintf("s%d", i), From: 0, NewHash: h[:], Now: time.Now()})
		})
	}
	for i := range racers {
		wg.Go(func() {
			<-start
			h := sha256.Sum256(fmt.Appendf(nil, "contested/%d", i))
			raceErrs[i] = db.RotateRefresh(t.Context(), gatehouse.Rotation{SessionID: contested.ID, From: 0, NewHash: h[:], Now: time.Now()})
		})
	}
	for i := range dupErrs {
		id := fmt.Sprintf("dup%d", i)
		seed(t, db, id)
		wg.Go(func() {
			<-start
			dupErrs[i] = db.RotateRefresh(t.Context(), gatehouse.Rotation{SessionID: id, From: 0, NewHash: dup[:], Now: time.Now()})
		})
	}
	close(start)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("rotation of s%d: %v", i, err)
			continue
		}
		s, err := db.Session(t.Context(), fmt.Sprintf("s%d", i))
		if err != nil || s.Generation != 1 {
			t.Errorf("s%d after rotation: generation %v, %v; want 1", i, s.Generation, err)
		}
	}
	won := 0
	for _, err := range raceErrs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, gatehouse.ErrConflict):
			t.Errorf("losing rotation: %v, want ErrConflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d racing rotations of one session won, want exactly 1", won, racers)
	}
	ok := 0
	for _, err := range dupErrs {
		if err == nil {
			ok++
		} else if !errors.Is(err, gatehouse.ErrConflict) {
			t.Errorf("rotation to a taken hash: %v, want ErrConflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d rotations to one hash succeeded, want 1", ok)
	}
	// The loser of the duplicate hash was rolled back whole: its session
	// is still at generation 0.
	gens := 0
	for i := range dupErrs {
		s, err := db.Session(t.Context(), fmt.Sprintf("dup%d", i))
		if err != nil {
			t.Fatal(err)
		}
		gens += s.Generation
	}
	if gens != 1 {
		t.Errorf("the two sessions rotated to one hash have generations summing to %d, want 1", gens)
	}
}

// TestRotationCancelledBeforeItsTurn checks that a rotation whose context
// ended before its batch began is not applied and reports the context's
// error.
func TestRotationCancelledBeforeItsTurn(t *testing.T) {
	db := openTest(t)
	s := seed(t, db, "s")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	h := sha256.Sum256([]byte("next"))
	err := db.RotateRefresh(ctx, gatehouse.Rotation{SessionID: s.ID, From: 0, NewHash: h[:], Now: time.Now()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RotateRefresh with a cancelled context = %v, want context.Canceled", err)
	}
	got, err := db.Session(t.Context(), s.ID)
	if err != nil || got.Generation != 0 {
		t.Fatalf("session after a cancelled rotation: generation %v, %v; want 0", got.Generation, err)
	}
}

// TestAuditAppendsShareRotationCommits checks that audit appends made while
// rotations are written are committed with them, each write answered on
// its own: every rotation and every event is stored, and an append whose
// context ended before its turn stores nothing.
func TestAuditAppendsShareRotationCommits(t *testing.T) {
	db := openTest(t)
	const n = 24
	for i := range n {
		seed(t, db, fmt.Sprintf("s%d", i))
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	var wg sync.WaitGroup
	rotErrs, appendErrs := make([]error, n), make([]error, n)
	var lateErr error
	start := make(chan struct{})
	at := time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)
	for i := range n {
		wg.Go(func() {
			<-start
			h := sha256.Sum256(fmt.Appendf(nil, "s%d/1", i))
			rotErrs[i] = db.RotateRefresh(t.Context(), gatehouse.Rotation{SessionID: fmt.Sprintf("s%d", i), From: 0, NewHash: h[:], Now: at})
		})
		wg.Go(func() {
			<-start
			e := gatehouse.Event{Time: at, Name: gatehouse.EventRefresh, SessionID: fmt.Sprintf("s%d", i), Outcome: "success"}
			appendErrs[i] = db.AppendEvents(t.Context(), []gatehouse.Event{e, e})
		})
	}
	wg.Go(func() {
		<-start
		lateErr = db.AppendEvents(cancelled, []gatehouse.Event{{Time: at, Name: "late"}})
	})
	close(start)
	wg.Wait()

	for i := range n {
		if rotErrs[i] != nil {
			t.Errorf("rotation of s%d: %v", i, rotErrs[i])
		}
		if appendErrs[i] != nil {
			t.Errorf("append %d: %v", i, appendErrs[i])
		}
	}
	if !errors.Is(lateErr, context.Canceled) {
		t.Errorf("append with a cancelled context = %v, want context.Canceled", lateErr)
	}
	events, err := db.AuditEvents(t.Context(), gatehouse.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2*n {
		t.Errorf("%d events stored, want %d", len(events), 2*n)
	}
	for _, e := range events {
		if e.Name == "late" {
			t.Error("the append whose context had ended was stored")
		}
	}
	for i := range n {
		s, err := db.Session(t.Context(), fmt.Sprintf("s%d", i))
		if err != nil || s.Generation != 1 {
			t.Errorf("s%d after rotation: generation %v, %v; want 1", i, s.Generation, err)
		}
	}
}
