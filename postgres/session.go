package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/textclip"
	"github.com/jackc/pgx/v5"
)

// maxSessionText bounds the session's text a client chose (its user agent)
// or that came from the network (its address). The service clips them
// already; the store clips again so that no caller's cut, or stray byte,
// can make a session unstorable.
const maxSessionText = 512

func clipSessionText(s string) string { return textclip.Clip(s, maxSessionText) }

const sessionColumns = `id, user_id, created_at, last_used_at, expires_at, user_agent, ip,
	generation, refresh_hash, rotated_at, revoked_at, reason`

// sessionDest is where the columns of sessionColumns scan to.
func sessionDest(s *gatehouse.Session) []any {
	return []any{&s.ID, &s.UserID, timeCol{&s.CreatedAt}, timeCol{&s.LastUsedAt}, timeCol{&s.ExpiresAt},
		&s.UserAgent, &s.IP, &s.Generation, &s.RefreshHash, timeCol{&s.RotatedAt}, timeCol{&s.RevokedAt}, &s.Reason}
}

func scanSession(row pgx.Row) (*gatehouse.Session, error) {
	var s gatehouse.Session
	if err := row.Scan(sessionDest(&s)...); err != nil {
		return nil, err
	}
	return &s, nil
}

// qualified prefixes each column of a comma-separated list with alias.
func qualified(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// CreateSession inserts s and the refresh record of its current token in one
// statement, so both are stored or neither. It returns gatehouse.ErrConflict
// when the id (or the refresh hash) exists and gatehouse.ErrNotFound when
// the user does not.
func (db *DB) CreateSession(ctx context.Context, s *gatehouse.Session) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	_, err := db.pool.Exec(ctx, `WITH s AS (
			INSERT INTO sessions (`+sessionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			RETURNING id, generation, refresh_hash
		)
		INSERT INTO refresh_tokens (hash, session_id, generation) SELECT refresh_hash, id, generation FROM s`,
		s.ID, s.UserID, ts(s.CreatedAt), ts(s.LastUsedAt), ts(s.ExpiresAt), clipSessionText(s.UserAgent), clipSessionText(s.IP),
		s.Generation, s.RefreshHash, ts(s.RotatedAt), ts(s.RevokedAt), s.Reason)
	return wrap("create session", err)
}

// Session returns the session or gatehouse.ErrNotFound.
func (db *DB) Session(ctx context.Context, id string) (*gatehouse.Session, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	s, err := scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	return s, wrap("session", err)
}

// RefreshRecord returns the record of a refresh token hash or
// gatehouse.ErrNotFound.
func (db *DB) RefreshRecord(ctx context.Context, hash []byte) (*gatehouse.RefreshRecord, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var r gatehouse.RefreshRecord
	err := db.pool.QueryRow(ctx, `SELECT hash, session_id, generation FROM refresh_tokens WHERE hash = $1`, hash).
		Scan(&r.Hash, &r.SessionID, &r.Generation)
	if err != nil {
		return nil, wrap("refresh record", err)
	}
	return &r, nil
}

// refreshSessionQuery reads a refresh record with its session and user.
var refreshSessionQuery = `SELECT r.hash, r.generation, ` + qualified("s", sessionColumns) + `, ` + qualified("u", userColumns) + `
	FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN users u ON u.id = s.user_id
	WHERE r.hash = $1`

// RefreshSession returns the record of a refresh token hash, its session
// and the session's user, read in one query (one round trip), or
// gatehouse.ErrNotFound.
func (db *DB) RefreshSession(ctx context.Context, hash []byte) (*gatehouse.RefreshRecord, *gatehouse.Session, *gatehouse.User, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var (
		r gatehouse.RefreshRecord
		s gatehouse.Session
		u gatehouse.User
	)
	dest := append([]any{&r.Hash, &r.Generation}, sessionDest(&s)...)
	err := db.pool.QueryRow(ctx, refreshSessionQuery, hash).Scan(append(dest, userDest(&u)...)...)
	if err != nil {
		return nil, nil, nil, wrap("refresh session", err)
	}
	r.SessionID = s.ID
	return &r, &s, &u, nil
}

// RotateRefresh moves the session from generation r.From to r.From+1 and
// records r.NewHash, in one statement. The UPDATE is the compare-and-swap:
// it matches only a live session still at r.From. Of two concurrent
// rotations, on this instance or another, the second waits for the first's
// row lock and then re-checks its WHERE against the committed row, which is
// no longer at r.From, so it matches nothing. It returns
// gatehouse.ErrConflict when it matches nothing (a rotation won the race,
// the session was revoked, or it does not exist).
func (db *DB) RotateRefresh(ctx context.Context, r gatehouse.Rotation) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `WITH s AS (
			UPDATE sessions
			SET generation = generation + 1, refresh_hash = $1, last_used_at = $2, rotated_at = $2
			WHERE id = $3 AND generation = $4 AND revoked_at IS NULL
			RETURNING id, generation
		)
		INSERT INTO refresh_tokens (hash, session_id, generation) SELECT $1, id, generation FROM s`,
		r.NewHash, r.Now, r.SessionID, r.From)
	if err == nil && tag.RowsAffected() == 0 {
		err = errConflict
	}
	return wrap("rotate refresh", err)
}

// RevokeSession ends a session. Revoking an ended session keeps its first
// revocation. It returns gatehouse.ErrNotFound.
func (db *DB) RevokeSession(ctx context.Context, id, reason string, now time.Time) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	// One statement, so a concurrent revocation cannot slip in between a
	// check and the write; SET reads the row as it was before the UPDATE.
	return wrap("revoke session", notFoundIfNone(db.pool.Exec(ctx, `UPDATE sessions
		SET revoked_at = coalesce(revoked_at, $1),
		    reason = CASE WHEN revoked_at IS NULL THEN $2 ELSE reason END
		WHERE id = $3`, now, reason, id)))
}

// RevokeUserSessions ends every live session of a user except the one named
// by except (which may be empty), and returns the ids it ended.
func (db *DB) RevokeUserSessions(ctx context.Context, userID, except, reason string, now time.Time) ([]string, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `UPDATE sessions SET revoked_at = $1, reason = $2
		WHERE user_id = $3 AND id <> $4 AND revoked_at IS NULL
		RETURNING id`, now, reason, userID, except)
	if err != nil {
		return nil, wrap("revoke user sessions", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("revoke user sessions", err)
	}
	return ids, nil
}

// ActiveSessions lists the live sessions of a user whose absolute lifetime
// has not passed at now, most recently used first.
func (db *DB) ActiveSessions(ctx context.Context, userID string, now time.Time) ([]*gatehouse.Session, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
		ORDER BY last_used_at DESC, id COLLATE "C"`, userID, now)
	if err != nil {
		return nil, wrap("active sessions", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*gatehouse.Session, error) {
		return scanSession(row)
	})
	if err != nil {
		return nil, wrap("active sessions", err)
	}
	return list, nil
}

// RevokedSince lists sessions revoked at or after since, oldest revocation
// first.
func (db *DB) RevokedSince(ctx context.Context, since time.Time) ([]gatehouse.Revocation, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT id, revoked_at FROM sessions
		WHERE revoked_at >= $1 ORDER BY revoked_at, id COLLATE "C"`, since)
	if err != nil {
		return nil, wrap("revoked since", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (gatehouse.Revocation, error) {
		var r gatehouse.Revocation
		err := row.Scan(&r.SessionID, timeCol{&r.RevokedAt})
		return r, err
	})
	if err != nil {
		return nil, wrap("revoked since", err)
	}
	return list, nil
}

// DeleteSessionsBefore removes sessions whose absolute lifetime ended, or
// which were revoked, before t. Their refresh records go with them (ON
// DELETE CASCADE). It returns how many sessions it removed.
func (db *DB) DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1`, t)
	if err != nil {
		return 0, wrap("delete sessions", err)
	}
	return int(tag.RowsAffected()), nil
}
