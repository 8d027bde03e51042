package postgres

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
)

const userColumns = `id, email, display_name, password_hash, disabled, created_at, updated_at`

// CreateUser inserts u. It returns gatehouse.ErrEmailTaken when the email
// exists.
func (db *DB) CreateUser(ctx context.Context, u *gatehouse.User) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	_, err := db.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.ID, u.Email, u.DisplayName, u.PasswordHash, u.Disabled, ts(u.CreatedAt), ts(u.UpdatedAt))
	return wrap("create user", err)
}

// UserByID returns the user or gatehouse.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id string) (*gatehouse.User, error) {
	u, err := db.user(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	return u, wrap("user by id", err)
}

// UserByEmail returns the user with exactly this (normalised) email or
// gatehouse.ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (*gatehouse.User, error) {
	u, err := db.user(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email)
	return u, wrap("user by email", err)
}

func (db *DB) user(ctx context.Context, query string, arg any) (*gatehouse.User, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var u gatehouse.User
	if err := db.pool.QueryRow(ctx, query, arg).Scan(userDest(&u)...); err != nil {
		return nil, err
	}
	return &u, nil
}

// userDest is where the columns of userColumns scan to.
func userDest(u *gatehouse.User) []any {
	return []any{&u.ID, &u.Email, &u.DisplayName, &u.PasswordHash, &u.Disabled, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}}
}

// UpdateDisplayName sets the display name. It returns gatehouse.ErrNotFound.
func (db *DB) UpdateDisplayName(ctx context.Context, id, name string, now time.Time) error {
	return db.updateUser(ctx, "update display name",
		`UPDATE users SET display_name = $1, updated_at = $2 WHERE id = $3`, name, now, id)
}

// UpdatePasswordHash replaces the password hash. It returns
// gatehouse.ErrNotFound.
func (db *DB) UpdatePasswordHash(ctx context.Context, id, hash string, now time.Time) error {
	return db.updateUser(ctx, "update password hash",
		`UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, now, id)
}

// SetUserDisabled disables or enables the account. It returns
// gatehouse.ErrNotFound.
func (db *DB) SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) error {
	return db.updateUser(ctx, "set user disabled",
		`UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3`, disabled, now, id)
}

// updateUser runs an UPDATE of one user; matching no row is
// gatehouse.ErrNotFound. PostgreSQL counts matched rows, so setting a value
// to what it already is still counts.
func (db *DB) updateUser(ctx context.Context, op, query string, value any, now time.Time, id string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return wrap(op, notFoundIfNone(db.pool.Exec(ctx, query, value, now, id)))
}
