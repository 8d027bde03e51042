package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/policy"
)

// runAudit prints the audit trail: gatehouse audit [--user EMAIL]
// [--since DURATION] [--limit N] [--json] [--data DIR | --database-url URL].
func runAudit(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c common
	c.register(fs, e)
	user := fs.String("user", "", "only the events of the account with this `email`")
	since := fs.Duration("since", 0, "only the events of the last `duration` (such as 24h); 0 means all")
	limit := fs.Int("limit", gatehouse.DefaultAuditLimit, "at most this many events, the newest")
	asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: gatehouse audit [--user EMAIL] [--since DURATION] [--limit N] [--json] [--data DIR | --database-url URL]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit: unexpected argument %q", fs.Arg(0))
	}
	if *since < 0 || *limit < 1 {
		return errors.New("audit: --since must not be negative and --limit must be at least 1")
	}
	if err := c.store.check(time.Hour); err != nil {
		return err
	}
	dir, err := filepath.Abs(c.data)
	if err != nil {
		return err
	}
	if !c.store.postgres() {
		// Reading must not create an empty data dir where the operator
		// mistyped one.
		if _, err := os.Stat(filepath.Join(dir, "gatehouse.db")); err != nil {
			return fmt.Errorf("audit: no database in %s (set --data, or --database-url for PostgreSQL)", dir)
		}
	}
	db, err := openDatabase(ctx, dir, c.store)
	if err != nil {
		return err
	}
	defer db.Close()
	as, ok := db.(gatehouse.AuditStore)
	if !ok {
		return errors.New("audit: this store keeps no audit trail")
	}
	q := gatehouse.AuditQuery{Limit: *limit}
	if *since > 0 {
		q.Since = time.Now().Add(-*since)
	}
	if *user != "" {
		u, err := db.UserByEmail(ctx, strings.ToLower(strings.TrimSpace(*user)))
		if errors.Is(err, gatehouse.ErrNotFound) {
			return fmt.Errorf("audit: no account with the email %s", printable(*user))
		}
		if err != nil {
			return err
		}
		q.UserID = u.ID
	}
	events, err := as.AuditEvents(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeAuditJSON(e.stdout, events)
	}
	return writeAuditTable(e.stdout, events)
}

// auditJSON is one line of `gatehouse audit --json`.
type auditJSON struct {
	Time      time.Time `json:"time"`
	Event     string    `json:"event"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	KeyID     string    `json:"key_id,omitempty"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
}

// writeAuditJSON writes one JSON object a line. The encoder escapes
// control characters (and U+2028, U+2029), so a stored value cannot end
// its line early.
func writeAuditJSON(w io.Writer, events []gatehouse.Event) error {
	enc := json.NewEncoder(w)
	for _, ev := range events {
		if err := enc.Encode(auditJSON{
			Time: ev.Time.UTC(), Event: ev.Name, Outcome: ev.Outcome, Reason: ev.Reason, UserID: ev.UserID,
			SessionID: ev.SessionID, KeyID: ev.KeyID, IP: ev.IP, UserAgent: ev.UserAgent,
		}); err != nil {
			return err
		}
	}
	return nil
}

// writeAuditTable writes the events as a table for a terminal. Every value
// goes through printable: the user agent is the client's choice, and an
// escape sequence or a line break in it must not rewrite the operator's
// screen or forge a row.
func writeAuditTable(w io.Writer, events []gatehouse.Event) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tOUTCOME\tREASON\tUSER\tSESSION\tKEY\tIP\tUSER AGENT")
	for _, ev := range events {
		fields := []string{ev.Time.UTC().Format(time.RFC3339), ev.Name, ev.Outcome, ev.Reason, ev.UserID, ev.SessionID, ev.KeyID, ev.IP, ev.UserAgent}
		for i, f := range fields {
			if f == "" {
				f = "-"
			}
			fields[i] = printable(f)
		}
		fmt.Fprintln(tw, strings.Join(fields, "\t"))
	}
	if len(events) == 0 {
		fmt.Fprintln(tw, "(no events)")
	}
	return tw.Flush()
}

// printable escapes what a terminal would interpret rather than show:
// control characters (tab, line breaks, ESC), Unicode format characters
// such as bidirectional overrides, other non-graphic runes and invalid
// UTF-8, Go-style (\x1b, \u202e). A backslash is doubled, so an escape in
// the output always comes from printable.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == ' ' || (unicode.IsGraphic(r) && !unicode.IsSpace(r)):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += n
	}
	return b.String()
}

// auditPolicyRejected records, when the database already exists, that
// serve refused to start because of its policy: one event per failed rule.
// It is best effort: the refusal itself is what matters, and it has been
// printed already.
func auditPolicyRejected(ctx context.Context, c common, p policy.Policy, src policy.Sources, cc policy.Context) {
	var events []gatehouse.Event
	now := time.Now()
	for _, f := range policy.Check(p, src, cc) {
		if f.Severity == policy.SeverityError {
			events = append(events, gatehouse.Event{Time: now, Name: gatehouse.EventPolicyRejected, Outcome: "failure", Reason: f.Rule})
		}
	}
	if len(events) == 0 {
		return
	}
	dir, err := filepath.Abs(c.data)
	if err != nil {
		return
	}
	if !c.store.postgres() {
		if _, err := os.Stat(filepath.Join(dir, "gatehouse.db")); err != nil {
			return // no deployment here yet: nothing to record into
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	db, err := openDatabase(ctx, dir, c.store)
	if err != nil {
		return
	}
	defer db.Close()
	if as, ok := db.(gatehouse.AuditStore); ok {
		as.AppendEvents(ctx, events)
	}
}
