package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// RunAudit runs the conformance suite of gatehouse.AuditStore. open is
// called once per subtest and must return an empty store, released by
// t.Cleanup.
func RunAudit(t *testing.T, open func(t *testing.T) gatehouse.AuditStore) {
	t.Helper()
	t.Run("RoundTrip", func(t *testing.T) { testAuditRoundTrip(t, open(t)) })
	t.Run("Query", func(t *testing.T) { testAuditQuery(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { testAuditDelete(t, open(t)) })
	t.Run("ClientText", func(t *testing.T) { testAuditText(t, open(t)) })
}

// testAuditRoundTrip stores events whose text is hostile, and expects it
// back byte for byte: data, never interpreted.
func testAuditRoundTrip(t *testing.T, st gatehouse.AuditStore) {
	want := []gatehouse.Event{
		{Time: at(0), Name: gatehouse.EventLoginFailure, UserID: "u1", IP: "192.0.2.1",
			UserAgent: "agent'); DROP TABLE audit_events;--\n\x1b[31mred\u202e", Outcome: "failure", Reason: "bad_password"},
		{Time: at(time.Second), Name: gatehouse.EventKeyRotated, KeyID: "kid-1", Outcome: "success", Reason: "activated"},
		{Time: at(2 * time.Second), Name: gatehouse.EventLoginSuccess, UserID: "u1", SessionID: "s1", IP: "2001:db8::1", UserAgent: "ok", Outcome: "success"},
	}
	if err := st.AppendEvents(t.Context(), want); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	if err := st.AppendEvents(t.Context(), nil); err != nil {
		t.Fatalf("AppendEvents of no events: %v", err)
	}
	got, err := st.AuditEvents(t.Context(), gatehouse.AuditQuery{})
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("AuditEvents returned %d events, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !sameTime(g.Time, w.Time) {
			t.Errorf("event %d: Time = %v, want %v", i, g.Time, w.Time)
		}
		g.Time, w.Time = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
	}
}

// testAuditQuery checks the filters and that the limit keeps the newest.
func testAuditQuery(t *testing.T, st gatehouse.AuditStore) {
	var events []gatehouse.Event
	for i := range 10 {
		user := "alice"
		if i%2 == 1 {
			user = "bob"
		}
		events = append(events, gatehouse.Event{Time: at(time.Duration(i) * time.Minute), Name: gatehouse.EventRefresh,
			UserID: user, SessionID: fmt.Sprintf("s%d", i), Outcome: "success"})
	}
	if err := st.AppendEvents(t.Context(), events); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	for _, tt := range []struct {
		name string
		q    gatehouse.AuditQuery
		want []string // session ids, in order
	}{
		{"all", gatehouse.AuditQuery{}, []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"}},
		{"user", gatehouse.AuditQuery{UserID: "bob"}, []string{"s1", "s3", "s5", "s7", "s9"}},
		{"since", gatehouse.AuditQuery{Since: at(7 * time.Minute)}, []string{"s7", "s8", "s9"}},
		{"user since", gatehouse.AuditQuery{UserID: "alice", Since: at(3 * time.Minute)}, []string{"s4", "s6", "s8"}},
		{"limit keeps the newest", gatehouse.AuditQuery{Limit: 3}, []string{"s7", "s8", "s9"}},
		{"nobody", gatehouse.AuditQuery{UserID: "carol"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.AuditEvents(t.Context(), tt.q)
			if err != nil {
				t.Fatalf("AuditEvents: %v", err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.SessionID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.want) {
				t.Fatalf("AuditEvents(%+v) = %v, want %v (oldest first)", tt.q, ids, tt.want)
			}
		})
	}
}

func testAuditDelete(t *testing.T, st gatehouse.AuditStore) {
	var events []gatehouse.Event
	for i := range 5 {
		events = append(events, gatehouse.Event{Time: at(time.Duration(i) * time.Hour), Name: gatehouse.EventLogout, SessionID: fmt.Sprint(i)})
	}
	if err := st.AppendEvents(t.Context(), events); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	n, err := st.DeleteEventsBefore(t.Context(), at(3*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("DeleteEventsBefore = %d, %v; want 3, nil", n, err)
	}
	got, err := st.AuditEvents(t.Context(), gatehouse.AuditQuery{})
	if err != nil || len(got) != 2 || got[0].SessionID != "3" {
		t.Fatalf("after delete: %+v, %v; want the events of hours 3 and 4", got, err)
	}
}
