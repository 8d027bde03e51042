package sqlite

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/textclip"
)

var _ gatehouse.AuditStore = (*DB)(nil)

// maxAuditText bounds each text column of an audit row. Events carry short
// ids and codes; only the user agent comes from the client, and the service
// truncates it already. This is the store's own guard, which also keeps
// the text valid UTF-8 without NUL, whatever the caller cut.
const maxAuditText = 512

// clipText makes s fit an audit text column.
func clipText(s string) string { return textclip.Clip(s, maxAuditText) }

// AppendEvents stores events, all or none. They are committed with the
// refresh rotations being written at the time (batch.go), so that the
// audit trail costs no commit of its own. It returns
// gatehouse.ErrUnavailable when the file cannot be written.
func (db *DB) AppendEvents(ctx context.Context, events []gatehouse.Event) error {
	if len(events) == 0 {
		return nil
	}
	err := db.batched(ctx, func(b *batchTx) error {
		for _, e := range events {
			_, err := b.exec(`INSERT INTO audit_events
				(time, event, user_id, session_id, key_id, ip, user_agent, outcome, reason)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				e.Time.UnixMicro(), clipText(e.Name), clipText(e.UserID), clipText(e.SessionID),
				clipText(e.KeyID), clipText(e.IP), clipText(e.UserAgent), clipText(e.Outcome), clipText(e.Reason))
			if err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("append events", err, nil)
}

// AuditEvents returns the newest events q selects, at most q.Limit
// (gatehouse.DefaultAuditLimit when zero), oldest first.
func (db *DB) AuditEvents(ctx context.Context, q gatehouse.AuditQuery) ([]gatehouse.Event, error) {
	if q.Limit <= 0 {
		q.Limit = gatehouse.DefaultAuditLimit
	}
	query := `SELECT time, event, user_id, session_id, key_id, ip, user_agent, outcome, reason
		FROM audit_events WHERE time >= ?`
	args := []any{q.Since.UnixMicro()}
	if q.Since.IsZero() {
		args[0] = int64(-1 << 62)
	}
	if q.UserID != "" {
		query += ` AND user_id = ?`
		args = append(args, q.UserID)
	}
	query += ` ORDER BY time DESC, id DESC LIMIT ?`
	args = append(args, q.Limit)
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap("audit events", err, nil)
	}
	defer rows.Close()
	var out []gatehouse.Event
	for rows.Next() {
		var e gatehouse.Event
		if err := rows.Scan(timeCol{&e.Time}, &e.Name, &e.UserID, &e.SessionID, &e.KeyID, &e.IP, &e.UserAgent, &e.Outcome, &e.Reason); err != nil {
			return nil, wrap("audit events", err, nil)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("audit events", err, nil)
	}
	slices.Reverse(out)
	return out, nil
}

// DeleteEventsBefore deletes the events older than t and reports how many.
func (db *DB) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM audit_events WHERE time < ?`, t.UnixMicro())
	if err != nil {
		return 0, wrap("delete events", err, nil)
	}
	n, err := res.RowsAffected()
	return n, wrap("delete events", err, nil)
}
