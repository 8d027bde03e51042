package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/migrations"
)

// migrationFS holds the schema changes, one file each, named NNNN_what.sql.
// A file is never edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrate applies the migrations the database lacks, in order, each in its
// own transaction together with its schema_migrations row, so that a
// migration is applied entirely or not at all, and exactly once even when
// two processes open the database together.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		return err
	}
	if _, err := db.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}

	// A binary older than the schema could misread data written by a newer
	// one; it must not run against it.
	var current sql.NullInt64
	if err := db.sql.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if latest := ms[len(ms)-1].Version; current.Int64 > int64(latest) {
		return fmt.Errorf("database schema version %d is newer than this binary supports (%d): run a newer gatehouse", current.Int64, latest)
	}

	for _, m := range ms {
		if int64(m.Version) <= current.Int64 {
			continue
		}
		err := db.tx(ctx, func(tx *sql.Tx) error {
			var applied bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.Version).Scan(&applied); err != nil {
				return err
			}
			if applied {
				return nil // by another process since we looked
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.Version, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}
