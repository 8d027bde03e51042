// Package postgres stores Gatehouse users, sessions and signing keys in
// PostgreSQL, through jackc/pgx and its connection pool, so that several
// Gatehouse instances can share one database.
//
// Open applies the embedded migrations under an advisory lock, so instances
// starting together never race. Every call is bounded by a short deadline
// (Options.Timeout): an unreachable or hung database makes a request fail
// with gatehouse.ErrUnavailable, never hang. Times are stored as timestamptz
// (microseconds) and come back in UTC; the zero time.Time is stored as NULL.
//
// The package also carries revocations between instances over LISTEN/NOTIFY
// (see Broker), for deployments without Redis.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is a Gatehouse store backed by a pool of connections to one PostgreSQL
// database. It is safe for concurrent use.
type DB struct {
	pool    *pgxpool.Pool
	timeout time.Duration
}

var (
	_ gatehouse.UserStore     = (*DB)(nil)
	_ gatehouse.SessionStore  = (*DB)(nil)
	_ gatehouse.KeyStore      = (*DB)(nil)
	_ gatehouse.RefreshLookup = (*DB)(nil)
)

// DefaultTimeout bounds a store call when Options.Timeout is zero.
const DefaultTimeout = 3 * time.Second

// DefaultMaxConns is the pool size when Options.MaxConns is zero: four
// connections per CPU, at least 16. Each store call holds a connection for
// a round trip, most of which is spent waiting for the server, and a
// commit for the WAL flush; with pgxpool's default of max(4, CPUs), 32
// concurrent refreshes queued for 4 connections and at most 4 commits
// shared a flush: on 2 CPUs, about half the refreshes a second of 16.
func DefaultMaxConns() int32 { return int32(max(16, 4*runtime.GOMAXPROCS(0))) }

// Options tune a DB. The zero value is usable.
type Options struct {
	// MaxConns bounds the connection pool. Zero means the URL's
	// pool_max_conns if it has one, else DefaultMaxConns(). Every instance
	// holds up to this many connections: N instances need N×MaxConns below
	// the server's max_connections.
	MaxConns int32
	// Timeout bounds every store call, waiting for a connection included
	// (default DefaultTimeout). A caller's earlier deadline wins.
	Timeout time.Duration
	// SkipMigrations makes Open check that the schema is exactly the one
	// this binary expects instead of bringing it up to date, for
	// deployments that run migrations as a separate step.
	SkipMigrations bool
}

// Open connects to the database at url (postgres://user:pass@host/db?…,
// any setting pgx accepts) and brings its schema up to date, unless
// opts.SkipMigrations. A database that cannot be reached is an error that
// matches gatehouse.ErrUnavailable.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx masks the password in the message.
		return nil, fmt.Errorf("postgres: invalid database URL: %w", err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("postgres: MaxConns must not be negative, got %d", opts.MaxConns)
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !poolSizeInURL(url):
		cfg.MaxConns = DefaultMaxConns()
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 || cfg.ConnConfig.ConnectTimeout > opts.Timeout {
		cfg.ConnConfig.ConnectTimeout = opts.Timeout
	}
	// A pooled connection that died with the server is found by the ping on
	// acquiring it; a bound here leaves the call time to take another.
	cfg.PingTimeout = opts.Timeout / 3
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db := &DB{pool: pool, timeout: opts.Timeout}
	if opts.SkipMigrations {
		err = db.checkSchema(ctx)
	} else {
		err = db.Migrate(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// poolSizeInURL reports whether url sets pool_max_conns, which then stands
// unless Options.MaxConns overrides it. pgxpool.ParseConfig consumes the
// setting, so it is looked for where pgconn leaves it, among the runtime
// parameters.
func poolSizeInURL(url string) bool {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return false // pgxpool.ParseConfig accepted url; this cannot happen
	}
	_, ok := cfg.RuntimeParams["pool_max_conns"]
	return ok
}

// Close closes every connection of the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers and holds the schema. It
// returns an error matching gatehouse.ErrUnavailable when it does not.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("postgres: ping: %w: %w", gatehouse.ErrUnavailable, err)
	}
	return nil
}

// bound gives a store call its deadline: the DB's timeout, or the caller's
// deadline if that comes first.
func (db *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.timeout)
}

// uniqueViolations maps the unique constraints of the schema, by name, to
// the domain errors they stand for.
var uniqueViolations = map[string]error{
	"users_email_key":     gatehouse.ErrEmailTaken,
	"users_pkey":          gatehouse.ErrConflict,
	"sessions_pkey":       gatehouse.ErrConflict,
	"refresh_tokens_pkey": gatehouse.ErrConflict,
	"keys_pkey":           gatehouse.ErrConflict,
}

// errConflict reports a compare-and-swap that matched no row.
var errConflict = errors.New("no row matched")

// wrap prefixes err with the operation and translates what the driver
// reports into the domain errors callers branch on: no rows is
// gatehouse.ErrNotFound, a unique violation is what uniqueViolations maps
// its constraint to, a foreign key violation is gatehouse.ErrNotFound (the
// row referred to does not exist), and a server that cannot be reached, is
// shutting down, is out of connections or did not answer in time is
// gatehouse.ErrUnavailable. The translation is by SQLSTATE code and
// constraint name only; the driver's message goes along for the log.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, gatehouse.ErrNotFound)
	}
	if errors.Is(err, errConflict) {
		return fmt.Errorf("postgres: %s: %w", op, gatehouse.ErrConflict)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			if domain, ok := uniqueViolations[pe.ConstraintName]; ok {
				return fmt.Errorf("postgres: %s: %w: %w", op, domain, err)
			}
		case pe.Code == "23503": // foreign_key_violation
			return fmt.Errorf("postgres: %s: %w: %w", op, gatehouse.ErrNotFound, err)
		case unavailableCode(pe.Code):
			return fmt.Errorf("postgres: %s: %w: %w", op, gatehouse.ErrUnavailable, err)
		}
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if unreachable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, gatehouse.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailableCode reports whether a SQLSTATE says the server cannot serve
// now, as opposed to the statement being wrong.
func unavailableCode(code string) bool {
	switch code {
	case "57P01", // admin_shutdown (also: connection terminated by an administrator)
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now (starting up)
		"57014", // query_canceled
		"3D000", // invalid_catalog_name: the database is gone
		"25006": // read_only_sql_transaction: a standby after failover
		return true
	}
	switch code[:2] {
	case "08", // connection_exception
		"53": // insufficient_resources, too_many_connections among them
		return true
	}
	return false
}

// unreachable reports whether err is a failure to reach the server or to
// hear from it in time, rather than an answer.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	return pgconn.Timeout(err) ||
		pgconn.SafeToRetry(err) ||
		errors.As(err, &ce) ||
		errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// notFoundIfNone turns a command that matched no row into pgx.ErrNoRows.
func notFoundIfNone(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return pgx.ErrNoRows
	}
	return nil
}

// ts is t as stored: itself, or NULL for the zero time. Bounds in
// comparisons pass t directly instead, so that a zero bound means the
// beginning of time rather than NULL, which matches nothing.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// timeCol scans a timestamptz column written by ts back into a UTC
// time.Time, NULL as the zero time.
type timeCol struct{ t *time.Time }

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (c timeCol) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*c.t = time.Time{}
	case v.InfinityModifier != pgtype.Finite:
		return errors.New("postgres: infinite timestamp")
	default:
		*c.t = v.Time.UTC()
	}
	return nil
}
