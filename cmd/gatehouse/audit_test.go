package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqlite"
)

// audit runs `gatehouse audit args...` and returns its output.
func audit(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"audit"}, args...), getenvFrom(nil), nil, &out, io.Discard)
	return out.String(), err
}

// TestG14AuditCommand runs a server, logs in and fails, adds events with
// hostile text (as an attacker's user agent would be stored), and reads
// the trail back with `gatehouse audit`: the table escapes every control
// and format character, --json is one valid object a line, and --user and
// --since select. (G-14: log injection neutralised on output.)
func TestG14AuditCommand(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", data, "--admin-addr", "")
	for _, email := range []string{"alice@example.org", "bob@example.org"} {
		if res, body := call(t, jar{}, "POST", s.url+"/auth/register", `{"email":"`+email+`","password":"correct horse battery staple"}`); res.StatusCode != 201 {
			t.Fatalf("register: %d %s", res.StatusCode, body)
		}
	}
	call(t, jar{}, "POST", s.url+"/auth/login", `{"email":"alice@example.org","password":"wrong password!"}`)
	s.stop()
	if err := s.wait(t); err != nil {
		t.Fatal(err)
	}

	db, err := sqlite.Open(t.Context(), filepath.Join(data, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	alice, err := db.UserByEmail(t.Context(), "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	hostile := "evil\n2026-01-01T00:00:00Z\tlogin.success\x1b[2J\u202etxt\\x41"
	err = db.AppendEvents(t.Context(), []gatehouse.Event{
		{Time: time.Now(), Name: gatehouse.EventLoginFailure, UserID: alice.ID, IP: "192.0.2.66", UserAgent: hostile, Outcome: "failure", Reason: "bad_password"},
		{Time: time.Now().Add(-48 * time.Hour), Name: gatehouse.EventLogout, UserID: alice.ID, Outcome: "success"},
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	table, err := audit(t, "--data", data)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	// Header, two registrations, a failed login, and the two added events.
	if len(lines) != 6 {
		t.Fatalf("audit printed %d lines, want 6:\n%s", len(lines), table)
	}
	if !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(table, "register") || !strings.Contains(table, "bad_password") {
		t.Fatalf("audit table lacks the header or the events:\n%s", table)
	}
	for _, raw := range []string{"\x1b", "\u202e", "\t", "\r"} {
		if strings.Contains(table, raw) {
			t.Errorf("audit table contains the raw character %q", raw)
		}
	}
	if want := `evil\x0a2026-01-01T00:00:00Z\x09login.success\x1b[2J\u202etxt\\x41`; !strings.Contains(table, want) {
		t.Errorf("audit table does not show the hostile user agent escaped as %s:\n%s", want, table)
	}

	js, err := audit(t, "--data", data, "--json", "--user", "ALICE@example.org", "--since", "24h")
	if err != nil {
		t.Fatalf("audit --json: %v", err)
	}
	var got []auditJSON
	for line := range strings.Lines(js) {
		var ev auditJSON
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit --json line %q: %v", line, err)
		}
		got = append(got, ev)
	}
	// Alice's registration, her failed login and the hostile event; not
	// Bob's, not the logout of two days ago.
	if len(got) != 3 {
		t.Fatalf("audit --json --user alice --since 24h printed %d events, want 3:\n%s", len(got), js)
	}
	for _, ev := range got {
		if ev.UserID != alice.ID || ev.Time.IsZero() || ev.Event == gatehouse.EventLogout {
			t.Errorf("unexpected event %+v", ev)
		}
	}
	if got[2].UserAgent != hostile {
		t.Errorf("JSON user agent %q, want the stored value %q", got[2].UserAgent, hostile)
	}

	if _, err := audit(t, "--data", data, "--user", "nobody@example.org"); err == nil || !strings.Contains(err.Error(), "no account") {
		t.Errorf("audit --user of an unknown email: %v, want an error", err)
	}
	if _, err := audit(t, "--data", filepath.Join(data, "missing")); err == nil {
		t.Error("audit of a data dir without a database succeeded")
	}
}

// TestAuditPolicyRejected: a serve that refuses its policy at start-up
// leaves a policy.rejected event naming the rule in the trail.
func TestAuditPolicyRejected(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", data, "--admin-addr", "")
	s.stop()
	s.wait(t)
	cfg := filepath.Join(data, "gatehouse.yaml")
	os.WriteFile(cfg, []byte("cookies: {same_site: none}\n"), 0o600)
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--config", cfg}, getenvFrom(nil), nil, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve started with same_site none and no reason")
	}
	out, err := audit(t, "--data", data, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"event":"policy.rejected","outcome":"failure","reason":"cookies.same_site.none"`) {
		t.Fatalf("no policy.rejected event for the rule in:\n%s", out)
	}
}
