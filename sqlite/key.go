package sqlite

import (
	"context"
	"database/sql"

	"github.com/gatehouse/gatehouse"
)

// CreateKey inserts k. It returns gatehouse.ErrConflict when the id exists.
func (db *DB) CreateKey(ctx context.Context, k *gatehouse.KeyRecord) error {
	_, err := db.exec(ctx, `INSERT INTO keys (id, algorithm, state, sealed, created_at, activated_at, retired_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.State, k.Sealed, micros(k.CreatedAt), micros(k.ActivatedAt), micros(k.RetiredAt))
	return wrap("create key", err, keyConstraints)
}

// Keys returns every stored key, oldest first.
func (db *DB) Keys(ctx context.Context) ([]*gatehouse.KeyRecord, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, algorithm, state, sealed, created_at, activated_at, retired_at
		FROM keys ORDER BY created_at, rowid`)
	if err != nil {
		return nil, wrap("keys", err, nil)
	}
	defer rows.Close()
	var list []*gatehouse.KeyRecord
	for rows.Next() {
		var k gatehouse.KeyRecord
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.State, &k.Sealed,
			timeCol{&k.CreatedAt}, timeCol{&k.ActivatedAt}, timeCol{&k.RetiredAt}); err != nil {
			return nil, wrap("keys", err, nil)
		}
		list = append(list, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("keys", err, nil)
	}
	return list, nil
}

// UpdateKeyState sets a key's state and its ActivatedAt/RetiredAt times from
// k. It returns gatehouse.ErrNotFound.
func (db *DB) UpdateKeyState(ctx context.Context, k *gatehouse.KeyRecord) error {
	return wrap("update key state", notFoundIfNone(db.exec(ctx,
		`UPDATE keys SET state = ?, activated_at = ?, retired_at = ? WHERE id = ?`,
		k.State, micros(k.ActivatedAt), micros(k.RetiredAt), k.ID)), nil)
}

// SwapKeyState sets a key's state and times from k only while its stored
// state is from. It returns gatehouse.ErrConflict when the state differs and
// gatehouse.ErrNotFound when there is no such key.
func (db *DB) SwapKeyState(ctx context.Context, k *gatehouse.KeyRecord, from string) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM keys WHERE id = ?`, k.ID).Scan(&state); err != nil {
			return err
		}
		if state != from {
			return errConflict
		}
		_, err := tx.ExecContext(ctx, `UPDATE keys SET state = ?, activated_at = ?, retired_at = ? WHERE id = ?`,
			k.State, micros(k.ActivatedAt), micros(k.RetiredAt), k.ID)
		return err
	})
	return wrap("swap key state", err, nil)
}

// DeleteKey removes a key. It returns gatehouse.ErrNotFound.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	return wrap("delete key", notFoundIfNone(db.exec(ctx, `DELETE FROM keys WHERE id = ?`, id)), nil)
}
