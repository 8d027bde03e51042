package sqlite

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/migrations"
	"github.com/gatehouse/gatehouse/storetest"
)

// openTest opens a new database file in a temporary directory, closed when
// the test ends.
func openTest(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(tb.Context(), filepath.Join(tb.TempDir(), "gatehouse.db"))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openTest(t)
		return storetest.Stores{Users: db, Sessions: db, Keys: db}
	})
}

// appliedVersions returns schema_migrations as version -> applied_at.
func appliedVersions(t *testing.T, db *DB) map[int]int64 {
	t.Helper()
	rows, err := db.sql.QueryContext(t.Context(), `SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	m := map[int]int64{}
	for rows.Next() {
		var v int
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatalf("scan schema_migrations: %v", err)
		}
		m[v] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return m
}

func TestMigrations(t *testing.T) {
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		t.Fatalf("migrations.Load: %v", err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("embedded migrations start at %v, want version 1", ms)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Version != ms[i-1].Version+1 {
			t.Errorf("migration %s follows %s: versions must be consecutive", ms[i].Name, ms[i-1].Name)
		}
	}

	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	first := appliedVersions(t, db)
	if len(first) != len(ms) {
		t.Errorf("schema_migrations has %d versions, want %d", len(first), len(ms))
	}
	for _, m := range ms {
		if _, ok := first[m.Version]; !ok {
			t.Errorf("schema_migrations lacks version %d (%s)", m.Version, m.Name)
		}
	}
	if err := db.CreateUser(t.Context(), &gatehouse.User{ID: "u", Email: "u@example.org", PasswordHash: "h", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	db.Close()

	// Reopening applies nothing again and keeps the data.
	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if again := appliedVersions(t, db); !mapsEqual(again, first) {
		t.Errorf("after reopen schema_migrations = %v, want %v", again, first)
	}
	if _, err := db.UserByID(t.Context(), "u"); err != nil {
		t.Errorf("UserByID after reopen: %v", err)
	}
}

func mapsEqual(a, b map[int]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := db.sql.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatalf("insert version: %v", err)
	}
	db.Close()
	db, err = Open(t.Context(), path)
	if err == nil {
		db.Close()
		t.Fatal("Open of a database with a newer schema succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "9999") {
		t.Errorf("Open error = %q, want it to name the schema version 9999", err)
	}
}

func TestPragmas(t *testing.T) {
	db := openTest(t)
	// Hold several connections at once, so that each one's settings are
	// checked, not only the first's: pragmas other than journal_mode are
	// per connection.
	var conns []*sql.Conn
	for range 4 {
		c, err := db.sql.Conn(t.Context())
		if err != nil {
			t.Fatalf("Conn: %v", err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		for _, tc := range []struct {
			pragma, want string
		}{
			{"journal_mode", "wal"},
			{"foreign_keys", "1"},
			{"synchronous", "2"}, // FULL
			{"busy_timeout", "5000"},
		} {
			var got string
			if err := c.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("connection %d: PRAGMA %s: %v", i, tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("connection %d: PRAGMA %s = %q, want %q", i, tc.pragma, got, tc.want)
			}
		}
	}
}

func TestIntegrityCheck(t *testing.T) {
	db := openTest(t)
	if err := db.IntegrityCheck(t.Context()); err != nil {
		t.Errorf("IntegrityCheck: %v", err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenUnwritablePath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, path string
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "gatehouse.db")},
		{"a directory", dir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(t.Context(), tc.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tc.path)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.path) || !strings.Contains(msg, "unable to open") {
				t.Errorf("Open(%q) error = %q, want it to name the path and say it cannot be opened", tc.path, msg)
			}
		})
	}
	if _, err := Open(t.Context(), ""); err == nil {
		t.Errorf("Open(\"\") succeeded, want an error")
	}
}

// TestOpenPathNeedsEscaping checks that the path reaches SQLite unchanged
// through the file: URI of the DSN.
func TestOpenPathNeedsEscaping(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir%20with #odd?chars&_pragma=x")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gate house?.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not created at %q: %v", path, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if name := e.Name(); !strings.HasPrefix(name, "gate house?.db") {
			t.Errorf("unexpected file %q in %q", name, dir)
		}
	}
}

func TestCreateSessionUnknownUser(t *testing.T) {
	db := openTest(t)
	now := time.Now()
	err := db.CreateSession(t.Context(), &gatehouse.Session{
		ID: "s", UserID: "nobody", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), RefreshHash: []byte{1},
	})
	if !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("CreateSession for an unknown user: got %v, want ErrNotFound", err)
	}
	if _, err := db.RefreshRecord(t.Context(), []byte{1}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("RefreshRecord after the failed CreateSession: got %v, want ErrNotFound", err)
	}
}

// TestRotationSurvivesReopen checks that an acknowledged rotation is in the
// file, not only in a connection's cache.
func TestRotationSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	sess := seed(t, db, "s")
	next := sha256.Sum256([]byte("next"))
	if err := db.RotateRefresh(t.Context(), gatehouse.Rotation{SessionID: sess.ID, From: 0, NewHash: next[:], Now: time.Now()}); err != nil {
		t.Fatalf("RotateRefresh: %v", err)
	}
	db.Close()
	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Session(t.Context(), sess.ID)
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	if got.Generation != 1 || !slices.Equal(got.RefreshHash, next[:]) {
		t.Errorf("after reopen Session = generation %d hash %x, want 1 %x", got.Generation, got.RefreshHash, next)
	}
}

// TestConcurrentWriters checks that a burst of writers, many more than the
// connection pool holds, all succeed. (How fast they do is what
// BenchmarkRotateRefreshParallel with -cpu 32 shows.)
func TestConcurrentWriters(t *testing.T) {
	db := openTest(t)
	const writers, rounds = 64, 3
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		sess := seed(t, db, fmt.Sprintf("s%d", i))
		wg.Go(func() {
			for gen := range rounds {
				h := sha256.Sum256(fmt.Appendf(nil, "%s/%d", sess.ID, gen+1))
				r := gatehouse.Rotation{SessionID: sess.ID, From: gen, NewHash: h[:], Now: time.Now()}
				if err := db.RotateRefresh(t.Context(), r); err != nil {
					errs <- fmt.Errorf("%s from %d: %w", sess.ID, gen, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("RotateRefresh: %v", err)
	}
}

// seed stores a user and a session of generation 0 with id.
func seed(tb testing.TB, db *DB, id string) *gatehouse.Session {
	tb.Helper()
	now := time.Now()
	u := &gatehouse.User{ID: "u-" + id, Email: id + "@example.org", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(tb.Context(), u); err != nil {
		tb.Fatalf("CreateUser: %v", err)
	}
	h := sha256.Sum256([]byte(id))
	s := &gatehouse.Session{ID: id, UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), RefreshHash: h[:]}
	if err := db.CreateSession(tb.Context(), s); err != nil {
		tb.Fatalf("CreateSession: %v", err)
	}
	return s
}

// BenchmarkRotateRefresh measures the durable write path of a refresh: one
// BEGIN IMMEDIATE transaction with the compare-and-swap UPDATE and the
// INSERT, committed with synchronous=FULL.
func BenchmarkRotateRefresh(b *testing.B) {
	db := openTest(b)
	sess := seed(b, db, "s")
	gen := 0
	for b.Loop() {
		h := sha256.Sum256(fmt.Appendf(nil, "s/%d", gen+1))
		if err := db.RotateRefresh(b.Context(), gatehouse.Rotation{SessionID: sess.ID, From: gen, NewHash: h[:], Now: time.Now()}); err != nil {
			b.Fatalf("RotateRefresh: %v", err)
		}
		gen++
	}
}

// BenchmarkRotateRefreshParallel measures rotations of distinct sessions
// from concurrent goroutines, which queue for SQLite's single write lock.
func BenchmarkRotateRefreshParallel(b *testing.B) {
	db := openTest(b)
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		sess := seed(b, db, fmt.Sprintf("s%d", next.Add(1)))
		gen := 0
		for pb.Next() {
			h := sha256.Sum256(fmt.Appendf(nil, "%s/%d", sess.ID, gen+1))
			if err := db.RotateRefresh(b.Context(), gatehouse.Rotation{SessionID: sess.ID, From: gen, NewHash: h[:], Now: time.Now()}); err != nil {
				b.Errorf("RotateRefresh: %v", err)
				return
			}
			gen++
		}
	})
}

// BenchmarkRefreshRead compares what a refresh reads before it rotates:
// the record, the session and the user in one query (RefreshSession), and
// in the three reads it stands for.
func BenchmarkRefreshRead(b *testing.B) {
	db := openTest(b)
	sess := seed(b, db, "s")
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

func TestAuditStore(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) gatehouse.AuditStore { return openTest(t) })
}
