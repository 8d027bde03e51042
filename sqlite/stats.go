package sqlite

import (
	"context"
	"time"
)

// CountActiveSessions counts the sessions that are neither revoked nor past
// their absolute end at now, and were used at or after idleSince: the
// sessions alive under an idle timeout of now minus idleSince. It is one
// indexed scan, meant for a metric taken every few seconds, not per request.
func (db *DB) CountActiveSessions(ctx context.Context, now, idleSince time.Time) (int, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM sessions
		WHERE revoked_at IS NULL AND expires_at > ? AND last_used_at >= ?`,
		now.UnixMicro(), idleSince.UnixMicro()).Scan(&n)
	return n, wrap("count active sessions", err, nil)
}
