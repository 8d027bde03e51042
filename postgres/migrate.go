package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/migrations"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// migrationFS holds the schema changes, one file each, named NNNN_what.sql.
// A file is never edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the key of the advisory lock that serialises migrations
// across every process using the database ("gatehous" in ASCII).
const migrationLock int64 = 0x6761746568_6f7573

// migrateTimeout bounds a whole migration run, waiting for the lock
// included. It is longer than a store call's bound: a migration may
// rewrite a large table, and other instances starting at the same moment
// wait for it.
const migrateTimeout = 2 * time.Minute

// Migrate applies the migrations the database lacks, in order, in one
// transaction that first takes an advisory lock. Instances starting
// together therefore queue: the first applies the migrations, the others
// find them applied. A failure leaves the schema as it was. A database whose
// schema is newer than this binary knows is refused.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// The lock is released with the transaction, even if this process
		// dies half-way: no stale lock can block the next start.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if latest := ms[len(ms)-1].Version; current > latest {
			return newerSchemaError(current, latest)
		}
		for _, m := range ms {
			if m.Version <= current {
				continue
			}
			// No arguments: pgx sends the file with the simple protocol,
			// which allows several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return wrap("migrate", err)
	}
	return nil
}

// checkSchema makes sure the database holds exactly the schema this binary
// was built for, without changing it.
func (db *DB) checkSchema(ctx context.Context) error {
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		return fmt.Errorf("postgres: check schema: %w", err)
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var current int
	err = db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table: never migrated
		current, err = 0, nil
	}
	if err != nil {
		return wrap("check schema", err)
	}
	switch latest := ms[len(ms)-1].Version; {
	case current > latest:
		return fmt.Errorf("postgres: %w", newerSchemaError(current, latest))
	case current < latest:
		return fmt.Errorf("postgres: database schema version %d is older than this binary needs (%d): run gatehouse migrate", current, latest)
	}
	return nil
}

func newerSchemaError(current, latest int) error {
	return fmt.Errorf("database schema version %d is newer than this binary supports (%d): run a newer gatehouse", current, latest)
}
