package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/textclip"
	"github.com/jackc/pgx/v5"
)

var _ gatehouse.AuditStore = (*DB)(nil)

// maxAuditText bounds each text column of an audit row. Events carry short
// ids and codes; only the user agent comes from the client, and the service
// truncates it already. This is the store's own guard, which also keeps
// the text valid UTF-8 without NUL, whatever the caller cut.
const maxAuditText = 512

// clipText makes s fit an audit text column.
func clipText(s string) string { return textclip.Clip(s, maxAuditText) }

// AppendEvents stores events in one round trip and one transaction (COPY).
// It returns gatehouse.ErrUnavailable when the database cannot be reached.
func (db *DB) AppendEvents(ctx context.Context, events []gatehouse.Event) error {
	if len(events) == 0 {
		return nil
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows := make([][]any, len(events))
	for i, e := range events {
		rows[i] = []any{e.Time, clipText(e.Name), clipText(e.UserID), clipText(e.SessionID), clipText(e.KeyID),
			clipText(e.IP), clipText(e.UserAgent), clipText(e.Outcome), clipText(e.Reason)}
	}
	_, err := db.pool.CopyFrom(ctx, pgx.Identifier{"audit_events"},
		[]string{"time", "event", "user_id", "session_id", "key_id", "ip", "user_agent", "outcome", "reason"},
		pgx.CopyFromRows(rows))
	return wrap("append events", err)
}

// AuditEvents returns the newest events q selects, at most q.Limit
// (gatehouse.DefaultAuditLimit when zero), oldest first.
func (db *DB) AuditEvents(ctx context.Context, q gatehouse.AuditQuery) ([]gatehouse.Event, error) {
	if q.Limit <= 0 {
		q.Limit = gatehouse.DefaultAuditLimit
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT time, event, user_id, session_id, key_id, ip, user_agent, outcome, reason
		FROM audit_events
		WHERE time >= $1 AND ($2 = '' OR user_id = $2)
		ORDER BY time DESC, id DESC LIMIT $3`, since(q.Since), q.UserID, q.Limit)
	if err != nil {
		return nil, wrap("audit events", err)
	}
	defer rows.Close()
	var out []gatehouse.Event
	for rows.Next() {
		var e gatehouse.Event
		if err := rows.Scan(timeCol{&e.Time}, &e.Name, &e.UserID, &e.SessionID, &e.KeyID, &e.IP, &e.UserAgent, &e.Outcome, &e.Reason); err != nil {
			return nil, wrap("audit events", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("audit events", err)
	}
	slices.Reverse(out)
	return out, nil
}

// DeleteEventsBefore deletes the events older than t and reports how many.
func (db *DB) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `DELETE FROM audit_events WHERE time < $1`, t)
	if err != nil {
		return 0, wrap("delete events", err)
	}
	return tag.RowsAffected(), nil
}

// since is the lower bound of a query: the zero time means the beginning.
func since(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).AddDate(-100, 0, 0)
	}
	return t
}
