package storetest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// accented is a user agent of 401 bytes whose characters, after the
// first, are two bytes each: a cut at an even byte count falls inside one.
var accented = "a" + strings.Repeat("é", 200)

// clientTexts are user agents a client can send, or a cut can make, each
// with the part of it a store must keep: the whole of valid text of a
// plausible length, and the valid leading part of anything else.
var clientTexts = []struct {
	name, text, keep string
}{
	{"accented", accented, accented},
	// What cutting accented at 256 bytes leaves: a lone lead byte at the end.
	{"cut inside a character", accented[:256], accented[:255]},
	{"NUL", "curl\x00/8", "curl"},
	{"stray byte", "Mozilla\xff/5.0", "Mozilla"},
	{"long", strings.Repeat("x", 64<<10), strings.Repeat("x", 256)},
}

// checkKeptText fails t unless got is what a store may keep of text whose
// part keep must survive: valid UTF-8 without NUL, starting with keep.
func checkKeptText(t *testing.T, what, got, keep string) {
	t.Helper()
	if !utf8.ValidString(got) || strings.ContainsRune(got, 0) {
		t.Errorf("%s = %q: want valid UTF-8 without NUL", what, got)
	}
	if !strings.HasPrefix(got, keep) {
		t.Errorf("%s = %q: want it to start with %q", what, got, keep)
	}
}

// testSessionText stores sessions whose user agent a client chose or a
// cut broke, and expects each stored (PostgreSQL refuses invalid UTF-8
// and NUL in text) and read back as valid text.
func testSessionText(t *testing.T, open func(*testing.T) Stores) {
	st := open(t)
	createUser(t, st, newUser("alice", "alice@example.org"))
	for i, c := range clientTexts {
		t.Run(c.name, func(t *testing.T) {
			s := newSession(fmt.Sprintf("s-text-%d", i), "alice", at(0))
			s.UserAgent = c.text
			createSession(t, st, s)
			got, err := st.Sessions.Session(t.Context(), s.ID)
			if err != nil {
				t.Fatalf("Session(%q): %v", s.ID, err)
			}
			checkKeptText(t, "UserAgent", got.UserAgent, c.keep)
		})
	}
}

// testAuditText appends events whose user agent a client chose or a cut
// broke, and expects them stored and read back as valid text.
func testAuditText(t *testing.T, st gatehouse.AuditStore) {
	var events []gatehouse.Event
	for i, c := range clientTexts {
		events = append(events, gatehouse.Event{Time: at(0), Name: gatehouse.EventLoginFailure,
			UserID: fmt.Sprint(i), UserAgent: c.text, Outcome: "failure"})
	}
	if err := st.AppendEvents(t.Context(), events); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	got, err := st.AuditEvents(t.Context(), gatehouse.AuditQuery{})
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	if len(got) != len(clientTexts) {
		t.Fatalf("AuditEvents returned %d events, want %d", len(got), len(clientTexts))
	}
	for _, e := range got {
		i, err := strconv.Atoi(e.UserID)
		if err != nil || i < 0 || i >= len(clientTexts) {
			t.Fatalf("event with UserID %q: not one appended", e.UserID)
		}
		checkKeptText(t, "UserAgent of "+clientTexts[i].name, e.UserAgent, clientTexts[i].keep)
	}
}
