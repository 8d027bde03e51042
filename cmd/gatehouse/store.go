package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/postgres"
	"github.com/gatehouse/gatehouse/redisstore"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/throttle"
)

// store is what the program needs of a database: the three stores, a
// readiness probe and Close. sqlite.DB and postgres.DB both are one.
type store interface {
	gatehouse.UserStore
	gatehouse.SessionStore
	gatehouse.KeyStore
	Ping(ctx context.Context) error
	Close() error
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

// storeOptions choose and tune the database and the shared cache.
type storeOptions struct {
	databaseURL  string // empty: SQLite in the data dir
	dbMaxConns   int
	redisURL     string // empty: no Redis
	redisPrefix  string
	serve        bool          // registerServe was called
	noMigrate    bool          // serve only
	syncInterval time.Duration // serve only
}

// register adds the flags every command that opens the store shares.
func (o *storeOptions) register(fs *flag.FlagSet, e env) {
	fs.StringVar(&o.databaseURL, "database-url", e.getenv("GATEHOUSE_DATABASE_URL"),
		"PostgreSQL `URL` (postgres://user:pass@host/db); empty means SQLite in the data dir. Prefer GATEHOUSE_DATABASE_URL: a password on the command line is visible to every user of the machine")
	maxConns, _ := strconv.Atoi(e.getenv("GATEHOUSE_DB_MAX_CONNS"))
	fs.IntVar(&o.dbMaxConns, "db-max-conns", maxConns,
		"PostgreSQL connection pool size per instance; 0 means a pool_max_conns in --database-url, else max(16, 4 x CPUs) (GATEHOUSE_DB_MAX_CONNS)")
	fs.StringVar(&o.redisURL, "redis-url", e.getenv("GATEHOUSE_REDIS_URL"),
		"Redis `URL` (redis://host:6379/0) for login and sign-up throttling and revocations shared by every instance (GATEHOUSE_REDIS_URL)")
	fs.StringVar(&o.redisPrefix, "redis-prefix", envOr(e, "GATEHOUSE_REDIS_PREFIX", redisstore.DefaultPrefix),
		"prefix of every Redis key and channel; instances of one deployment share it (GATEHOUSE_REDIS_PREFIX)")
}

// registerServe adds the flags only a running server has.
func (o *storeOptions) registerServe(fs *flag.FlagSet, e env) {
	o.serve = true
	fs.BoolVar(&o.noMigrate, "no-migrate", false,
		"do not apply database migrations at start-up, refuse to start unless the schema is current (PostgreSQL; run gatehouse migrate first)")
	fs.DurationVar(&o.syncInterval, "sync-interval", 2*time.Second,
		"how often to reload revocations made by other instances from the database, the safety net under the Redis or PostgreSQL broadcast")
}

// postgres reports whether the database is PostgreSQL.
func (o *storeOptions) postgres() bool { return o.databaseURL != "" }

// check validates the options once, with messages that say what to change.
func (o *storeOptions) check(accessTTL time.Duration) error {
	switch {
	case o.dbMaxConns < 0 || o.dbMaxConns > 10_000:
		return fmt.Errorf("--db-max-conns must be between 0 and 10000, got %d", o.dbMaxConns)
	case o.dbMaxConns > 0 && !o.postgres():
		return errors.New("--db-max-conns needs --database-url: the embedded SQLite store has no connection pool to size")
	case o.noMigrate && !o.postgres():
		return errors.New("--no-migrate needs --database-url: the embedded SQLite store always migrates itself on open")
	case o.serve && (o.syncInterval <= 0 || o.syncInterval > accessTTL):
		// A revocation missed by the broadcast must reach every instance
		// before the access tokens of the session would expire anyway.
		return fmt.Errorf("--sync-interval must be positive and at most tokens.access_ttl (%s), got %s", accessTTL, o.syncInterval)
	}
	return nil
}

// backends are the opened database and shared cache.
type backends struct {
	db      store
	limiter gatehouse.Limiter
	broker  gatehouse.RevocationBroker // nil: a single instance on SQLite
	redis   *redisstore.Client         // nil without Redis
}

// ready reports whether the database and Redis, if any, answer.
func (b *backends) ready(ctx context.Context) error {
	if err := b.db.Ping(ctx); err != nil {
		return err
	}
	if b.redis != nil {
		return b.redis.Ping(ctx)
	}
	return nil
}

func (b *backends) Close() error {
	if b.redis != nil {
		b.redis.Close()
	}
	return b.db.Close()
}

// openDatabase opens PostgreSQL when a database URL is set, else the SQLite
// file in the data dir, and brings its schema up to date unless noMigrate.
func openDatabase(ctx context.Context, dataDir string, o storeOptions) (store, error) {
	if !o.postgres() {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		return sqlite.Open(ctx, filepath.Join(dataDir, "gatehouse.db"))
	}
	db, err := postgres.Open(ctx, o.databaseURL, postgres.Options{MaxConns: int32(o.dbMaxConns), SkipMigrations: o.noMigrate})
	if errors.Is(err, gatehouse.ErrUnavailable) {
		return nil, fmt.Errorf("%w; check --database-url (GATEHOUSE_DATABASE_URL) and that PostgreSQL is running", err)
	}
	return db, err
}

// openBackends opens the database and, when configured, Redis, and picks
// the limiter and the revocation broker that fit: Redis for both when it is
// there; otherwise counts in memory and, on PostgreSQL, LISTEN/NOTIFY.
func openBackends(ctx context.Context, dataDir string, o storeOptions, log *slog.Logger) (*backends, error) {
	db, err := openDatabase(ctx, dataDir, o)
	if err != nil {
		return nil, err
	}
	b := &backends{db: db, limiter: throttle.NewMemory(nil)}
	switch {
	case o.redisURL != "":
		b.redis, err = redisstore.Open(ctx, o.redisURL, redisstore.Options{Prefix: o.redisPrefix})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("%w; check --redis-url (GATEHOUSE_REDIS_URL) and that Redis is running", err)
		}
		b.limiter, b.broker = b.redis.Limiter(), b.redis.Broker()
	case o.postgres():
		b.broker = db.(*postgres.DB).Broker()
		log.Warn("no Redis configured: login and sign-up throttling count per instance, so N instances allow N times the policy's limits; set GATEHOUSE_REDIS_URL to share the counts")
	}
	return b, nil
}

// runMigrate applies the database migrations and exits, for deployments
// that migrate as a step of their own and start servers with --no-migrate.
func runMigrate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c common
	c.register(fs, e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected argument %q", fs.Arg(0))
	}
	if err := c.store.check(time.Hour); err != nil {
		return err
	}
	dir, err := filepath.Abs(c.data)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, dir, c.store)
	if err != nil {
		return err
	}
	defer db.Close()
	where := "PostgreSQL"
	if !c.store.postgres() {
		where = filepath.Join(dir, "gatehouse.db")
	}
	fmt.Fprintf(e.stdout, "gatehouse: the schema of %s is up to date\n", where)
	return nil
}
