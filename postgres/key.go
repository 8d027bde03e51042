package postgres

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/jackc/pgx/v5"
)

// CreateKey inserts k. It returns gatehouse.ErrConflict when the id exists.
func (db *DB) CreateKey(ctx context.Context, k *gatehouse.KeyRecord) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	_, err := db.pool.Exec(ctx, `INSERT INTO keys (id, algorithm, state, sealed, created_at, activated_at, retired_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.Algorithm, k.State, k.Sealed, ts(k.CreatedAt), ts(k.ActivatedAt), ts(k.RetiredAt))
	return wrap("create key", err)
}

// Keys returns every stored key, oldest first.
func (db *DB) Keys(ctx context.Context) ([]*gatehouse.KeyRecord, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT id, algorithm, state, sealed, created_at, activated_at, retired_at
		FROM keys ORDER BY created_at, seq`)
	if err != nil {
		return nil, wrap("keys", err)
	}
	defer rows.Close()
	var list []*gatehouse.KeyRecord
	for rows.Next() {
		var k gatehouse.KeyRecord
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.State, &k.Sealed,
			timeCol{&k.CreatedAt}, timeCol{&k.ActivatedAt}, timeCol{&k.RetiredAt}); err != nil {
			return nil, wrap("keys", err)
		}
		list = append(list, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("keys", err)
	}
	return list, nil
}

// UpdateKeyState sets a key's state and its ActivatedAt/RetiredAt times from
// k. It returns gatehouse.ErrNotFound.
func (db *DB) UpdateKeyState(ctx context.Context, k *gatehouse.KeyRecord) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return wrap("update key state", notFoundIfNone(db.pool.Exec(ctx,
		`UPDATE keys SET state = $1, activated_at = $2, retired_at = $3 WHERE id = $4`,
		k.State, ts(k.ActivatedAt), ts(k.RetiredAt), k.ID)))
}

// SwapKeyState sets a key's state and times from k only while its stored
// state is from. The UPDATE is the compare-and-swap; when it matches
// nothing, a second look tells why. It returns gatehouse.ErrConflict when
// the state differs and gatehouse.ErrNotFound when there is no such key.
func (db *DB) SwapKeyState(ctx context.Context, k *gatehouse.KeyRecord, from string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx,
		`UPDATE keys SET state = $1, activated_at = $2, retired_at = $3 WHERE id = $4 AND state = $5`,
		k.State, ts(k.ActivatedAt), ts(k.RetiredAt), k.ID, from)
	if err == nil && tag.RowsAffected() == 0 {
		var exists bool
		if err = db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM keys WHERE id = $1)`, k.ID).Scan(&exists); err == nil {
			err = errConflict
			if !exists {
				err = pgx.ErrNoRows
			}
		}
	}
	return wrap("swap key state", err)
}

// DeleteKey removes a key. It returns gatehouse.ErrNotFound.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return wrap("delete key", notFoundIfNone(db.pool.Exec(ctx, `DELETE FROM keys WHERE id = $1`, id)))
}
