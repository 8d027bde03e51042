package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/migrations"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultTestURL is the server the tests use unless
// GATEHOUSE_TEST_DATABASE_URL names another. The tests create a database of
// their own on it and drop it when they end.
const defaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testDB is the database of this test run.
var testDB struct {
	admin  string        // the server, as configured
	url    string        // the fresh database
	name   string        // its name
	pool   *pgxpool.Pool // a pool on it, for setting up
	skip   string        // why the tests cannot run, if they cannot
	schema atomic.Int64  // numbers fresh schemas
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	testDB.admin = os.Getenv("GATEHOUSE_TEST_DATABASE_URL")
	if testDB.admin == "" {
		testDB.admin = defaultTestURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, testDB.admin)
	if err != nil {
		testDB.skip = fmt.Sprintf("skipping the PostgreSQL tests: PostgreSQL is not reachable (%v); start one on 127.0.0.1:5432 with a database \"test\" that user postgres may create databases from, or set GATEHOUSE_TEST_DATABASE_URL", err)
		return m.Run()
	}
	testDB.name = "gatehouse_test_" + randomHex(6)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+testDB.name); err != nil {
		admin.Close(ctx)
		testDB.skip = fmt.Sprintf("skipping the PostgreSQL tests: cannot create a test database: %v", err)
		return m.Run()
	}
	testDB.url = withDatabase(testDB.admin, testDB.name)
	if testDB.pool, err = pgxpool.New(ctx, testDB.url); err != nil {
		testDB.skip = err.Error()
	}
	code := m.Run()
	if testDB.pool != nil {
		testDB.pool.Close()
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	if _, err := admin.Exec(dctx, `DROP DATABASE IF EXISTS `+testDB.name+` WITH (FORCE)`); err != nil {
		fmt.Fprintf(os.Stderr, "drop test database %s: %v\n", testDB.name, err)
		code = 1
	}
	admin.Close(dctx)
	return code
}

// needDB skips t when PostgreSQL is not reachable, or fails it when CI is
// set: there the tests must run.
func needDB(t testing.TB) {
	t.Helper()
	if testDB.skip == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", testDB.skip)
	}
	t.Skip(testDB.skip)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// withDatabase returns the connection string base with its database set to name.
func withDatabase(base, name string) string {
	if u, ok := parseURL(base); ok {
		u.Path = "/" + name
		return u.String()
	}
	return base + " dbname=" + name
}

// withParam returns the connection string base with a run-time parameter set.
func withParam(base, key, value string) string {
	if u, ok := parseURL(base); ok {
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " " + key + "=" + value
}

// withHost returns the URL base pointing at addr instead.
func withHost(t *testing.T, base, addr string) string {
	t.Helper()
	u, ok := parseURL(base)
	if !ok {
		t.Skip("this test needs GATEHOUSE_TEST_DATABASE_URL in URL form")
	}
	u.Host = addr
	return u.String()
}

func parseURL(s string) (*url.URL, bool) {
	if !strings.HasPrefix(s, "postgres://") && !strings.HasPrefix(s, "postgresql://") {
		return nil, false
	}
	u, err := url.Parse(s)
	return u, err == nil
}

// freshSchema creates an empty schema in the test database and returns a
// connection string whose tables live in it.
func freshSchema(t testing.TB) string {
	t.Helper()
	needDB(t)
	name := fmt.Sprintf("t%d_%s", testDB.schema.Add(1), randomHex(3))
	if _, err := testDB.pool.Exec(t.Context(), `CREATE SCHEMA `+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	return withParam(testDB.url, "search_path", name)
}

// openTest opens a store in a fresh schema, closed when the test ends.
func openTest(t testing.TB, opts Options) (*DB, string) {
	t.Helper()
	url := freshSchema(t)
	if opts.MaxConns == 0 {
		opts.MaxConns = 8
	}
	db, err := Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, url
}

func TestStore(t *testing.T) {
	needDB(t)
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db, _ := openTest(t, Options{})
		return storetest.Stores{Users: db, Sessions: db, Keys: db}
	})
}

// appliedVersions returns schema_migrations as version -> applied_at.
func appliedVersions(t *testing.T, db *DB) map[int]time.Time {
	t.Helper()
	rows, err := db.pool.Query(t.Context(), `SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	m := map[int]time.Time{}
	var v int
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&v, &at}, func() error { m[v] = at; return nil })
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return m
}

func TestMigrations(t *testing.T) {
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		t.Fatalf("migrations.Load: %v", err)
	}
	if ms[0].Version != 1 {
		t.Fatalf("embedded migrations start at version %d, want 1", ms[0].Version)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Version != ms[i-1].Version+1 {
			t.Errorf("migration %s follows %s: versions must be consecutive", ms[i].Name, ms[i-1].Name)
		}
	}

	db, url := openTest(t, Options{})
	first := appliedVersions(t, db)
	if len(first) != len(ms) {
		t.Errorf("schema_migrations has %d versions, want %d", len(first), len(ms))
	}
	now := time.Now()
	if err := db.CreateUser(t.Context(), &gatehouse.User{ID: "u", Email: "u@example.org", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}

	// Opening again, and migrating again, applies nothing and keeps the data.
	again, err := Open(t.Context(), url, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer again.Close()
	if err := again.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if got := appliedVersions(t, again); !sameVersions(got, first) {
		t.Errorf("after reopen schema_migrations = %v, want %v", got, first)
	}
	if _, err := again.UserByID(t.Context(), "u"); err != nil {
		t.Errorf("UserByID after reopen: %v", err)
	}
}

func sameVersions(a, b map[int]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.Equal(v) {
			return false
		}
	}
	return true
}

// TestConcurrentMigrations starts ten instances at once on an empty
// database: the advisory lock must make every Open succeed and apply each
// migration once.
func TestConcurrentMigrations(t *testing.T) {
	url := freshSchema(t)
	const n = 10
	dbs := make([]*DB, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = Open(t.Context(), url, Options{MaxConns: 2})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d of %d concurrent: %v", i, n, err)
		} else {
			defer dbs[i].Close()
		}
	}
	if t.Failed() {
		return
	}
	ms, _ := migrations.Load(migrationFS)
	if got := appliedVersions(t, dbs[0]); len(got) != len(ms) {
		t.Errorf("schema_migrations has %d rows after %d concurrent opens, want %d", len(got), n, len(ms))
	}
	var tables int
	err := dbs[0].pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables)
	if err != nil || tables != 6 {
		t.Errorf("tables in the schema = %d, %v; want 6 (five and schema_migrations)", tables, err)
	}
}

func TestSkipMigrations(t *testing.T) {
	url := freshSchema(t)
	_, err := Open(t.Context(), url, Options{SkipMigrations: true})
	if err == nil || !strings.Contains(err.Error(), "gatehouse migrate") {
		t.Fatalf("Open with SkipMigrations of an empty database: err = %v, want one that says to run gatehouse migrate", err)
	}
	db, err := Open(t.Context(), url, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	skip, err := Open(t.Context(), url, Options{SkipMigrations: true})
	if err != nil {
		t.Fatalf("Open with SkipMigrations of a migrated database: %v", err)
	}
	skip.Close()

	if _, err := db.pool.Exec(t.Context(), `INSERT INTO schema_migrations (version) VALUES (9999)`); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{}, {SkipMigrations: true}} {
		db, err := Open(t.Context(), url, opts)
		if err == nil {
			db.Close()
			t.Errorf("Open(%+v) of a database with a newer schema succeeded, want an error", opts)
		} else if !strings.Contains(err.Error(), "9999") {
			t.Errorf("Open(%+v) error = %q, want it to name the schema version 9999", opts, err)
		}
	}
}

func TestPoolSize(t *testing.T) {
	url := freshSchema(t)
	tests := []struct {
		name string
		url  string
		opts Options
		want int32
	}{
		{"Default", url, Options{}, DefaultMaxConns()},
		{"Option", url, Options{MaxConns: 5}, 5},
		{"URL", withParam(url, "pool_max_conns", "3"), Options{}, 3},
		{"OptionOverURL", withParam(url, "pool_max_conns", "3"), Options{MaxConns: 5}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(t.Context(), tt.url, tt.opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if got := db.pool.Config().MaxConns; got != tt.want {
				t.Errorf("pool size = %d, want %d", got, tt.want)
			}
		})
	}
	if got := DefaultMaxConns(); got < 16 {
		t.Errorf("DefaultMaxConns() = %d, want at least 16", got)
	}
}

// BenchmarkRefreshRead compares what a refresh reads before it rotates:
// the record, the session and the user in one query (RefreshSession, one
// round trip), and in the three reads it stands for.
func BenchmarkRefreshRead(b *testing.B) {
	db, _ := openTest(b, Options{})
	now := time.Now()
	u := &gatehouse.User{ID: "u-1", Email: "u1@example.org", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	sess := &gatehouse.Session{ID: "s-1", UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), RefreshHash: []byte("0123456789abcdef0123456789abcdef")}
	if err := db.CreateSession(b.Context(), sess); err != nil {
		b.Fatal(err)
	}
	b.Run("joined", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := db.RefreshSession(b.Context(), sess.RefreshHash); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("separate", func(b *testing.B) {
		for b.Loop() {
			rec, err := db.RefreshRecord(b.Context(), sess.RefreshHash)
			if err != nil {
				b.Fatal(err)
			}
			s, err := db.Session(b.Context(), rec.SessionID)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.UserByID(b.Context(), s.UserID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRotateRefreshParallel measures rotations of distinct sessions
// from concurrent goroutines, each a commit that waits for its WAL flush.
func BenchmarkRotateRefreshParallel(b *testing.B) {
	db, _ := openTest(b, Options{MaxConns: DefaultMaxConns()})
	now := time.Now()
	var next atomic.Int64
	b.SetParallelism(8) // goroutines per CPU: many commits in flight, as under load
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprintf("s-%d", next.Add(1))
		u := &gatehouse.User{ID: "u-" + id, Email: id + "@example.org", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
		if err := db.CreateUser(b.Context(), u); err != nil {
			b.Error(err)
			return
		}
		s := &gatehouse.Session{ID: id, UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), RefreshHash: []byte(id + "/0")}
		if err := db.CreateSession(b.Context(), s); err != nil {
			b.Error(err)
			return
		}
		for gen := 0; pb.Next(); gen++ {
			r := gatehouse.Rotation{SessionID: id, From: gen, NewHash: fmt.Appendf(nil, "%s/%d", id, gen+1), Now: time.Now()}
			if err := db.RotateRefresh(b.Context(), r); err != nil {
				b.Errorf("RotateRefresh: %v", err)
				return
			}
		}
	})
}

func TestOpenBadURL(t *testing.T) {
	_, err := Open(t.Context(), "postgres://user:s3cret@127.0.0.1:5432/db?sslmode=bogus", Options{})
	if err == nil {
		t.Fatal("Open with an invalid URL succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q shows the password", err)
	}
}

// wantUnavailable fails t unless err matches gatehouse.ErrUnavailable and
// came within limit.
func wantUnavailable(t *testing.T, what string, err error, took, limit time.Duration) {
	t.Helper()
	if !errors.Is(err, gatehouse.ErrUnavailable) {
		t.Errorf("%s: got error %v, want ErrUnavailable", what, err)
	}
	if took > limit {
		t.Errorf("%s took %v, want at most %v", what, took.Round(time.Millisecond), limit)
	}
}

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Open(t.Context(), "postgres://postgres@"+freePort(t)+"/test?sslmode=disable", Options{})
	wantUnavailable(t, "Open of a closed port", err, time.Since(start), 2*time.Second)

	// A server that accepts connections and never answers: the deadline
	// must end the wait.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start = time.Now()
	_, err = Open(t.Context(), "postgres://postgres@"+ln.Addr().String()+"/test?sslmode=disable", Options{Timeout: 300 * time.Millisecond})
	wantUnavailable(t, "Open of a server that never answers", err, time.Since(start), 2*time.Second)
}

// TestOutageAndRecovery cuts the network to the server under an open store:
// calls fail fast with ErrUnavailable and Ping fails; when the network is
// back, the same store works again.
func TestOutageAndRecovery(t *testing.T) {
	url := freshSchema(t)
	p := testenv.StartProxy(t, hostOf(t, url))
	db, err := Open(t.Context(), withHost(t, url, p.Addr()), Options{Timeout: time.Second, MaxConns: 4})
	if err != nil {
		t.Fatalf("Open through the proxy: %v", err)
	}
	defer db.Close()
	now := time.Now()
	if err := db.CreateUser(t.Context(), &gatehouse.User{ID: "u", Email: "u@example.org", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}

	p.Stop()
	for i := range 3 {
		start := time.Now()
		_, err := db.UserByID(t.Context(), "u")
		wantUnavailable(t, fmt.Sprintf("UserByID %d during the outage", i), err, time.Since(start), 2*time.Second)
	}
	start := time.Now()
	err = db.Ping(t.Context())
	wantUnavailable(t, "Ping during the outage", err, time.Since(start), 2*time.Second)

	p.Start(t)
	eventually(t, 3*time.Second, "UserByID after the outage", func() error {
		_, err := db.UserByID(t.Context(), "u")
		return err
	})
	if err := db.Ping(t.Context()); err != nil {
		t.Errorf("Ping after the outage: %v", err)
	}
}

// TestDroppedDatabase drops the database under an open store: calls fail
// fast with ErrUnavailable; once the database is back and migrated, the
// same store works again.
func TestDroppedDatabase(t *testing.T) {
	needDB(t)
	name := testDB.name + "_drop"
	create := func() {
		t.Helper()
		if _, err := testDB.pool.Exec(t.Context(), `CREATE DATABASE `+name); err != nil {
			t.Fatalf("create database: %v", err)
		}
	}
	drop := func() {
		if _, err := testDB.pool.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database: %v", err)
		}
	}
	create()
	t.Cleanup(drop)
	db, err := Open(t.Context(), withDatabase(testDB.admin, name), Options{Timeout: time.Second, MaxConns: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if _, err := db.Keys(t.Context()); err != nil {
		t.Fatalf("Keys: %v", err)
	}

	drop()
	for i := range 3 {
		start := time.Now()
		_, err := db.Keys(t.Context())
		wantUnavailable(t, fmt.Sprintf("Keys %d after the database was dropped", i), err, time.Since(start), 2*time.Second)
	}
	start := time.Now()
	err = db.Ping(t.Context())
	wantUnavailable(t, "Ping after the database was dropped", err, time.Since(start), 2*time.Second)

	create()
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate the recreated database: %v", err)
	}
	if _, err := db.Keys(t.Context()); err != nil {
		t.Errorf("Keys after the database is back: %v", err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Errorf("Ping after the database is back: %v", err)
	}
}

func hostOf(t *testing.T, base string) string {
	t.Helper()
	u, ok := parseURL(base)
	if !ok {
		t.Skip("this test needs GATEHOUSE_TEST_DATABASE_URL in URL form")
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	return host
}

// eventually retries f until it succeeds, failing t after limit.
func eventually(t *testing.T, limit time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: still failing after %v: %v", what, limit, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAuditStore(t *testing.T) {
	needDB(t)
	storetest.RunAudit(t, func(t *testing.T) gatehouse.AuditStore {
		db, _ := openTest(t, Options{})
		return db
	})
}
