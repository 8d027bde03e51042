// Package storetest is the conformance suite for implementations of the
// gatehouse storage interfaces, in the manner of testing/fstest.TestFS. A
// store package runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Stores {
//			db := openTestDB(t) // empty, closed by t.Cleanup
//			return storetest.Stores{Users: db, Sessions: db, Keys: db}
//		})
//	}
//
// The suite checks the contracts the interface comments state: the errors
// each method returns (matched with errors.Is), that a refresh rotation is a
// compare-and-swap that exactly one of many concurrent callers wins, what
// revocation keeps, that values round-trip, and, for a store that is a
// gatehouse.RefreshLookup, that its one read agrees with the three it
// stands for. Byte slices must round-trip
// exactly. Times must come back in UTC and equal to the millisecond; a store
// may truncate them (toward the past) to the millisecond or finer, and must
// do so consistently, so that a bound compares with a stored time as the
// two instants would.
package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Stores are the implementations under test. They may be one value.
type Stores struct {
	Users    gatehouse.UserStore
	Sessions gatehouse.SessionStore
	Keys     gatehouse.KeyStore
}

// Run runs the conformance suite. open is called once per subtest and must
// return empty stores, released by t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	t.Helper()
	opener := func(t *testing.T) Stores {
		t.Helper()
		st := open(t)
		if st.Users == nil || st.Sessions == nil || st.Keys == nil {
			t.Fatalf("open returned %+v, want every store set", st)
		}
		return st
	}
	t.Run("Users", func(t *testing.T) { testUsers(t, opener) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, opener) })
	t.Run("SessionText", func(t *testing.T) { testSessionText(t, opener) })
	t.Run("RefreshLookup", func(t *testing.T) { testRefreshLookup(t, opener) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, opener) })
}

// base is an arbitrary instant with sub-millisecond digits, in a zone other
// than UTC, so that the suite sees how stores truncate and convert times.
var base = time.Date(2031, time.March, 14, 15, 9, 26, 535_897_932, time.FixedZone("IST", 5*3600+1800))

// at is base moved by d.
func at(d time.Duration) time.Time { return base.Add(d) }

// hash returns a distinct 32-byte value for s. Its first byte is zero, to
// catch a store that treats bytes as a NUL-terminated string.
func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	h[0] = 0
	return h[:]
}

// sameTime reports whether got is want as the suite requires a store to
// return it: in UTC and equal to the millisecond. A zero want needs a zero got.
func sameTime(got, want time.Time) bool {
	if want.IsZero() || got.IsZero() {
		return want.IsZero() && got.IsZero()
	}
	return got.Location() == time.UTC && got.Truncate(time.Millisecond).Equal(want.Truncate(time.Millisecond))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	return t.Format(time.RFC3339Nano)
}

// diff collects the fields of a value that differ from what was expected.
type diff []string

func (d *diff) eq(name string, got, want any) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s: got %#v, want %#v", name, got, want))
	}
}

func (d *diff) time(name string, got, want time.Time) {
	if !sameTime(got, want) {
		*d = append(*d, fmt.Sprintf("%s: got %s, want %s (UTC, to the millisecond)", name, fmtTime(got), fmtTime(want.UTC())))
	}
}

func (d *diff) bytes(name string, got, want []byte) {
	if !bytes.Equal(got, want) {
		*d = append(*d, fmt.Sprintf("%s: got %x, want %x", name, got, want))
	}
}

// report fails t with every difference, naming what was compared.
func (d diff) report(t *testing.T, what string) {
	t.Helper()
	if len(d) > 0 {
		t.Errorf("%s:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

func diffUser(got, want *gatehouse.User) diff {
	var d diff
	d.eq("ID", got.ID, want.ID)
	d.eq("Email", got.Email, want.Email)
	d.eq("DisplayName", got.DisplayName, want.DisplayName)
	d.eq("PasswordHash", got.PasswordHash, want.PasswordHash)
	d.eq("Disabled", got.Disabled, want.Disabled)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	return d
}

func diffSession(got, want *gatehouse.Session) diff {
	var d diff
	d.eq("ID", got.ID, want.ID)
	d.eq("UserID", got.UserID, want.UserID)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.eq("UserAgent", got.UserAgent, want.UserAgent)
	d.eq("IP", got.IP, want.IP)
	d.eq("Generation", got.Generation, want.Generation)
	d.bytes("RefreshHash", got.RefreshHash, want.RefreshHash)
	d.time("RotatedAt", got.RotatedAt, want.RotatedAt)
	d.time("RevokedAt", got.RevokedAt, want.RevokedAt)
	d.eq("Reason", got.Reason, want.Reason)
	return d
}

func diffKey(got, want *gatehouse.KeyRecord) diff {
	var d diff
	d.eq("ID", got.ID, want.ID)
	d.eq("Algorithm", got.Algorithm, want.Algorithm)
	d.eq("State", got.State, want.State)
	d.bytes("Sealed", got.Sealed, want.Sealed)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("ActivatedAt", got.ActivatedAt, want.ActivatedAt)
	d.time("RetiredAt", got.RetiredAt, want.RetiredAt)
	return d
}

// wantErr fails t unless err matches target with errors.Is.
func wantErr(t *testing.T, call string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", call, err, target)
	}
}
