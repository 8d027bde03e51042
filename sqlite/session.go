package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/textclip"
)

// maxSessionText bounds the session's text a client chose (its user agent)
// or that came from the network (its address). The service clips them
// already; the store clips again so that no caller's cut, or stray byte,
// can make a session unstorable.
const maxSessionText = 512

func clipSessionText(s string) string { return textclip.Clip(s, maxSessionText) }

const sessionColumns = `id, user_id, created_at, last_used_at, expires_at, user_agent, ip,
	generation, refresh_hash, rotated_at, revoked_at, reason`

type scanner interface{ Scan(dest ...any) error }

// sessionDest is where the columns of sessionColumns scan to.
func sessionDest(s *gatehouse.Session) []any {
	return []any{&s.ID, &s.UserID, timeCol{&s.CreatedAt}, timeCol{&s.LastUsedAt}, timeCol{&s.ExpiresAt},
		&s.UserAgent, &s.IP, &s.Generation, &s.RefreshHash, timeCol{&s.RotatedAt}, timeCol{&s.RevokedAt}, &s.Reason}
}

func scanSession(row scanner) (*gatehouse.Session, error) {
	var s gatehouse.Session
	if err := row.Scan(sessionDest(&s)...); err != nil {
		return nil, err
	}
	return &s, nil
}

// CreateSession inserts s and the refresh record of its current token in one
// transaction. It returns gatehouse.ErrConflict when the id (or the refresh
// hash) exists and gatehouse.ErrNotFound when the user does not.
func (db *DB) CreateSession(ctx context.Context, s *gatehouse.Session) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.UserID, micros(s.CreatedAt), micros(s.LastUsedAt), micros(s.ExpiresAt), clipSessionText(s.UserAgent), clipSessionText(s.IP),
			s.Generation, s.RefreshHash, micros(s.RotatedAt), micros(s.RevokedAt), s.Reason)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, session_id, generation) VALUES (?, ?, ?)`,
			s.RefreshHash, s.ID, s.Generation)
		return err
	})
	return wrap("create session", err, sessionConstraints)
}

// Session returns the session or gatehouse.ErrNotFound.
func (db *DB) Session(ctx context.Context, id string) (*gatehouse.Session, error) {
	s, err := scanSession(db.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	return s, wrap("session", err, nil)
}

// RefreshRecord returns the record of a refresh token hash or
// gatehouse.ErrNotFound.
func (db *DB) RefreshRecord(ctx context.Context, hash []byte) (*gatehouse.RefreshRecord, error) {
	r := gatehouse.RefreshRecord{}
	err := db.queryRow(ctx, `SELECT hash, session_id, generation FROM refresh_tokens WHERE hash = ?`, hash).
		Scan(&r.Hash, &r.SessionID, &r.Generation)
	if err != nil {
		return nil, wrap("refresh record", err, nil)
	}
	return &r, nil
}

// refreshSessionQuery reads a refresh record with its session and user.
var refreshSessionQuery = `SELECT r.hash, r.generation, ` + qualified("s", sessionColumns) + `, ` + qualified("u", userColumns) + `
	FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN users u ON u.id = s.user_id
	WHERE r.hash = ?`

// qualified prefixes each column of a comma-separated list with alias.
func qualified(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// RefreshSession returns the record of a refresh token hash, its session
// and the session's user, read in one query, or gatehouse.ErrNotFound.
func (db *DB) RefreshSession(ctx context.Context, hash []byte) (*gatehouse.RefreshRecord, *gatehouse.Session, *gatehouse.User, error) {
	var (
		r gatehouse.RefreshRecord
		s gatehouse.Session
		u gatehouse.User
	)
	dest := append([]any{&r.Hash, &r.Generation}, sessionDest(&s)...)
	err := db.queryRow(ctx, refreshSessionQuery, hash).Scan(append(dest, userDest(&u)...)...)
	if err != nil {
		return nil, nil, nil, wrap("refresh session", err, nil)
	}
	r.SessionID = s.ID
	return &r, &s, &u, nil
}

// RotateRefresh moves the session from generation r.From to r.From+1 and
// records r.NewHash, atomically. The UPDATE is the compare-and-swap: it
// matches only a live session still at r.From, and the write lock makes it
// the only one of two concurrent rotations to do so. It returns
// gatehouse.ErrConflict when it matches nothing (a rotation won the race,
// the session was revoked, or it does not exist). Rotations made at the
// same time share one transaction and one fsync (batch.go); each still
// succeeds or fails on its own, and returns only once it is durable.
func (db *DB) RotateRefresh(ctx context.Context, r gatehouse.Rotation) error {
	return wrap("rotate refresh", db.rotate(ctx, r), sessionConstraints)
}

// RevokeSession ends a session. Revoking an ended session keeps its first
// revocation. It returns gatehouse.ErrNotFound.
func (db *DB) RevokeSession(ctx context.Context, id, reason string, now time.Time) error {
	// One statement, so a concurrent revocation cannot slip in between a
	// check and the write; SET reads the row as it was before the UPDATE.
	return wrap("revoke session", notFoundIfNone(db.exec(ctx, `UPDATE sessions
		SET revoked_at = coalesce(revoked_at, ?),
		    reason = CASE WHEN revoked_at IS NULL THEN ? ELSE reason END
		WHERE id = ?`, micros(now), reason, id)), nil)
}

// RevokeUserSessions ends every live session of a user except the one named
// by except (which may be empty), and returns the ids it ended.
func (db *DB) RevokeUserSessions(ctx context.Context, userID, except, reason string, now time.Time) ([]string, error) {
	var ids []string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE sessions SET revoked_at = ?, reason = ?
			WHERE user_id = ? AND id <> ? AND revoked_at IS NULL
			RETURNING id`, micros(now), reason, userID, except)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("revoke user sessions", err, nil)
	}
	return ids, nil
}

// ActiveSessions lists the live sessions of a user whose absolute lifetime
// has not passed at now, most recently used first.
func (db *DB) ActiveSessions(ctx context.Context, userID string, now time.Time) ([]*gatehouse.Session, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
		ORDER BY last_used_at DESC, id`, userID, now.UnixMicro())
	if err != nil {
		return nil, wrap("active sessions", err, nil)
	}
	defer rows.Close()
	var list []*gatehouse.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, wrap("active sessions", err, nil)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("active sessions", err, nil)
	}
	return list, nil
}

// RevokedSince lists sessions revoked at or after since, oldest revocation
// first.
func (db *DB) RevokedSince(ctx context.Context, since time.Time) ([]gatehouse.Revocation, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, revoked_at FROM sessions
		WHERE revoked_at >= ? ORDER BY revoked_at, id`, since.UnixMicro())
	if err != nil {
		return nil, wrap("revoked since", err, nil)
	}
	defer rows.Close()
	var list []gatehouse.Revocation
	for rows.Next() {
		var r gatehouse.Revocation
		if err := rows.Scan(&r.SessionID, timeCol{&r.RevokedAt}); err != nil {
			return nil, wrap("revoked since", err, nil)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("revoked since", err, nil)
	}
	return list, nil
}

// DeleteSessionsBefore removes sessions whose absolute lifetime ended, or
// which were revoked, before t. Their refresh records go with them (ON
// DELETE CASCADE). It returns how many sessions it removed.
func (db *DB) DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error) {
	at := t.UnixMicro()
	res, err := db.exec(ctx, `DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?`, at, at)
	if err != nil {
		return 0, wrap("delete sessions", err, nil)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("delete sessions", err, nil)
	}
	return int(n), nil
}
