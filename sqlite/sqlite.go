// Package sqlite stores Gatehouse users, sessions and signing keys in an
// SQLite database file, through the pure-Go modernc.org/sqlite driver.
//
// Open configures every connection for durability and concurrency (WAL,
// synchronous=FULL, foreign keys, a busy timeout, BEGIN IMMEDIATE for write
// transactions) and applies the embedded migrations. Times are stored as
// INTEGER microseconds since the Unix epoch and come back in UTC, truncated
// to the microsecond; the zero time.Time is stored as NULL.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	modernc "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is a Gatehouse store backed by one SQLite database file. It is safe for
// concurrent use.
type DB struct {
	sql  *sql.DB
	path string
	// write is held by the one statement or transaction writing. SQLite
	// admits one writer at a time, and the writers it turns away poll for
	// the lock with sleeps of up to 100ms: under a burst of refreshes that
	// collapses throughput and ends in SQLITE_BUSY (32 concurrent
	// rotations took seconds each, then failed; queued here, under 1ms).
	// Queueing writers in-process hands the lock straight to the next one;
	// the busy timeout still covers other processes using the file.
	write chan struct{}
	// batch groups concurrent refresh rotations and audit appends into
	// one commit (batch.go).
	batch writeBatcher
	// stmts are the hot read queries, prepared once (stmt.go).
	stmts stmts
}

var (
	_ gatehouse.UserStore     = (*DB)(nil)
	_ gatehouse.SessionStore  = (*DB)(nil)
	_ gatehouse.KeyStore      = (*DB)(nil)
	_ gatehouse.RefreshLookup = (*DB)(nil)
)

// busyTimeout is how long a statement waits for another connection's write
// lock before failing with SQLITE_BUSY (reported as gatehouse.ErrUnavailable).
const busyTimeout = 5 * time.Second

// Open opens the database file at path, creating it if it does not exist,
// and brings its schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	sqldb, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// In WAL mode readers block neither the writer nor each other, so the
	// pool holds a few connections for readers; writers take turns (see
	// DB.write) and use one connection at a time.
	n := max(4, runtime.GOMAXPROCS(0))
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)

	db := &DB{sql: sqldb, path: path, write: make(chan struct{}, 1)}
	if err := db.checkJournalMode(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// dsn returns the driver's connection string for path. Every pragma in it
// is applied to each new connection of the pool.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	// Without it SQLite ignores REFERENCES, and deleting a session would
	// leave its refresh records behind.
	q.Add("_pragma", "foreign_keys(1)")
	// WAL lets readers run while one writer commits.
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL syncs the WAL on every commit. NORMAL, the usual WAL setting,
	// can lose the last commits on power loss: an acknowledged refresh
	// rotation would be rolled back, and the rotated-out token, which the
	// client no longer holds, would become current again while the token it
	// does hold becomes unknown.
	q.Add("_pragma", "synchronous(FULL)")
	// Write transactions take the write lock at BEGIN. A deferred
	// transaction that reads and then writes cannot wait for a lock another
	// writer holds: it fails with SQLITE_BUSY at once.
	q.Set("_txlock", "immediate")
	// A file: URI, so that SQLite decodes the escaped path; a '?' or '#'
	// in a file name cannot start the query.
	return (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()
}

// checkJournalMode opens the first connection and makes sure WAL is on:
// PRAGMA journal_mode=WAL quietly keeps the old mode where WAL is not
// supported.
func (db *DB) checkJournalMode(ctx context.Context) error {
	var mode string
	if err := db.sql.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		var se *modernc.Error
		if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CANTOPEN {
			return fmt.Errorf("sqlite: open %s: %w: check that its directory exists and that this process may write to both", db.path, err)
		}
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite: open %s: journal mode is %q, not wal: put the database on a local file system", db.path, mode)
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	db.closeStmts()
	if err := db.sql.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// Ping reports whether the database file can be read. It returns
// gatehouse.ErrUnavailable when it cannot.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n)
	if err != nil {
		return fmt.Errorf("sqlite: ping: %w: %w", gatehouse.ErrUnavailable, err)
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns an error listing
// the problems it finds, if any.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	rows, err := db.sql.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return wrap("integrity check", err, nil)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return wrap("integrity check", err, nil)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return wrap("integrity check", err, nil)
	}
	if len(problems) > 0 {
		return fmt.Errorf("sqlite: integrity check: %s", strings.Join(problems, "; "))
	}
	return nil
}

// lockWrite waits for the turn to write, or until ctx is done.
func (db *DB) lockWrite(ctx context.Context) (unlock func(), err error) {
	select {
	case db.write <- struct{}{}:
		return func() { <-db.write }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// exec runs one writing statement in its turn.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	unlock, err := db.lockWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return db.sql.ExecContext(ctx, query, args...)
}

// tx runs fn in a write transaction, in its turn, and commits it if fn
// returns nil. BEGIN IMMEDIATE (see dsn) takes SQLite's write lock at once,
// so that what fn reads cannot change before it writes, even when another
// process writes the file.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	unlock, err := db.lockWrite(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Constraint violations, by extended result code, as the domain errors each
// table's statements report them.
var (
	userConstraints = map[int]error{
		sqlite3.SQLITE_CONSTRAINT_UNIQUE:     gatehouse.ErrEmailTaken, // users.email
		sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY: gatehouse.ErrConflict,
	}
	sessionConstraints = map[int]error{
		sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY: gatehouse.ErrConflict, // sessions.id, refresh_tokens.hash
		sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY: gatehouse.ErrNotFound, // no such user
	}
	keyConstraints = map[int]error{
		sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY: gatehouse.ErrConflict,
	}
)

// errConflict reports a compare-and-swap that matched no row.
var errConflict = errors.New("no row matched")

// wrap prefixes err with the operation and translates what the driver
// reports into the domain errors callers branch on: sql.ErrNoRows is
// gatehouse.ErrNotFound, a constraint violation is what constraints maps its
// extended result code to, and a locked, unreachable or failing file is
// gatehouse.ErrUnavailable. The translation is by result code only; the
// driver's message goes along underneath for the log.
func wrap(op string, err error, constraints map[int]error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, gatehouse.ErrNotFound)
	}
	if errors.Is(err, errConflict) {
		return fmt.Errorf("sqlite: %s: %w", op, gatehouse.ErrConflict)
	}
	var se *modernc.Error
	if errors.As(err, &se) {
		if domain, ok := constraints[se.Code()]; ok {
			return fmt.Errorf("sqlite: %s: %w: %w", op, domain, err)
		}
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
			return fmt.Errorf("sqlite: %s: %w: %w", op, gatehouse.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// notFoundIfNone turns an UPDATE or DELETE that matched no row into
// sql.ErrNoRows.
func notFoundIfNone(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

// micros is t as stored: microseconds since the Unix epoch, or NULL for the
// zero time. Bounds in comparisons use t.UnixMicro() instead, so that a zero
// bound means the beginning of time rather than NULL, which matches nothing.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// timeCol scans a column written by micros back into a UTC time.Time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("sqlite: time column holds %T, want INTEGER", v)
	}
	return nil
}
