package sqlite

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
)

const userColumns = `id, email, display_name, password_hash, disabled, created_at, updated_at`

// CreateUser inserts u. It returns gatehouse.ErrEmailTaken when the email
// exists.
func (db *DB) CreateUser(ctx context.Context, u *gatehouse.User) error {
	_, err := db.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.DisplayName, u.PasswordHash, u.Disabled, micros(u.CreatedAt), micros(u.UpdatedAt))
	return wrap("create user", err, userConstraints)
}

// UserByID returns the user or gatehouse.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id string) (*gatehouse.User, error) {
	u, err := db.user(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
	return u, wrap("user by id", err, nil)
}

// UserByEmail returns the user with exactly this (normalised) email or
// gatehouse.ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (*gatehouse.User, error) {
	u, err := db.user(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email)
	return u, wrap("user by email", err, nil)
}

func (db *DB) user(ctx context.Context, query string, arg any) (*gatehouse.User, error) {
	var u gatehouse.User
	if err := db.queryRow(ctx, query, arg).Scan(userDest(&u)...); err != nil {
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
	return wrap("update display name", notFoundIfNone(db.exec(ctx,
		`UPDATE users SET display_name = ?, updated_at = ? WHERE id = ?`, name, micros(now), id)), nil)
}

// UpdatePasswordHash replaces the password hash. It returns
// gatehouse.ErrNotFound.
func (db *DB) UpdatePasswordHash(ctx context.Context, id, hash string, now time.Time) error {
	return wrap("update password hash", notFoundIfNone(db.exec(ctx,
		`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, micros(now), id)), nil)
}

// SetUserDisabled disables or enables the account. It returns
// gatehouse.ErrNotFound.
func (db *DB) SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) error {
	return wrap("set user disabled", notFoundIfNone(db.exec(ctx,
		`UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`, disabled, micros(now), id)), nil)
}
