package postgres

import (
	"context"
	"time"
)

// CountActiveSessions counts the sessions that are neither revoked nor past
// their absolute end at now, and were used at or after idleSince: the
// sessions alive under an idle timeout of now minus idleSince. It is meant
// for a metric taken every few seconds, not per request.
func (db *DB) CountActiveSessions(ctx context.Context, now, idleSince time.Time) (int, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM sessions
		WHERE revoked_at IS NULL AND expires_at > $1 AND last_used_at >= $2`, now, idleSince).Scan(&n)
	return n, wrap("count active sessions", err)
}
