package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/sqlite"
)

// crashPolicy makes reuse strict, so that an old refresh token presented
// after the restart is reuse at once, not a grace-window replay. The
// issuer is fixed: by default it is the listen URL, and each restart
// listens on a new port.
const crashPolicy = "issuer: \"https://auth.crash.test\"\nsessions:\n  reuse_grace: 0s\n"

// TestCrashSafety is the crash test of docs/RELIABILITY.md on SQLite:
// parallel clients register, log in, refresh, call a protected route and
// log out against the real binary; it is killed with SIGKILL at a random
// moment; the database passes PRAGMA integrity_check; and after a restart
// on the same data dir everything a client was told happened did happen.
// It repeats GATEHOUSE_CRASH_ITERATIONS times (20 by default) on one data
// dir, so later iterations recover a database that has crashed before.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds and kills the binary 20 times; skipped with -short")
	}
	iterations := 20
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_CRASH_ITERATIONS")); err == nil && v > 0 {
		iterations = v
	}
	data := t.TempDir()
	args := []string{"--data", data, "--config", writeConfig(t, crashPolicy)}
	integrity := func(t *testing.T) {
		t.Helper()
		ctx := context.Background()
		db, err := sqlite.Open(ctx, filepath.Join(data, "gatehouse.db"))
		if err != nil {
			t.Fatalf("open the database after the crash: %v", err)
		}
		defer db.Close()
		if err := db.IntegrityCheck(ctx); err != nil {
			t.Fatalf("after the crash: %v", err)
		}
	}
	var total crashStats
	start := time.Now()
	for i := range iterations {
		total.add(crashIteration(t, i, nil, args, integrity))
		if t.Failed() {
			t.Fatalf("iteration %d failed", i)
		}
	}
	integrity(t)
	t.Logf("%d crashes in %v: %s", iterations, time.Since(start).Round(time.Millisecond), total)
}

// TestCrashSafetyPostgres runs three iterations of the crash test on a
// fresh PostgreSQL database (dropped afterwards), through --database-url
// and the shared GATEHOUSE_MASTER_KEY that PostgreSQL requires.
func TestCrashSafetyPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	admin := os.Getenv("GATEHOUSE_TEST_DATABASE_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Skipf("PostgreSQL is not reachable at %s (%v): start one or set GATEHOUSE_TEST_DATABASE_URL", admin, err)
	}
	name := "gatehouse_crash_" + randomHexString(6)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		conn.Close(ctx)
		t.Fatalf("create database: %v", err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	key := make([]byte, 32)
	rand.Read(key)
	env := []string{"GATEHOUSE_DATABASE_URL=" + u.String(), "GATEHOUSE_MASTER_KEY=" + base64.StdEncoding.EncodeToString(key)}
	args := []string{"--data", t.TempDir(), "--config", writeConfig(t, crashPolicy)}
	var total crashStats
	for i := range 3 {
		total.add(crashIteration(t, i, env, args, func(*testing.T) {}))
		if t.Failed() {
			t.Fatalf("iteration %d failed", i)
		}
	}
	t.Logf("3 crashes on PostgreSQL: %s", total)
}

func randomHexString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// crashStats count what the checks covered.
type crashStats struct {
	registrations, rotations, newChecked, inFlightCommitted, oldChecked, logouts, ambiguous int
}

func (s *crashStats) add(o crashStats) {
	s.registrations += o.registrations
	s.rotations += o.rotations
	s.newChecked += o.newChecked
	s.inFlightCommitted += o.inFlightCommitted
	s.oldChecked += o.oldChecked
	s.logouts += o.logouts
	s.ambiguous += o.ambiguous
}

func (s crashStats) String() string {
	return fmt.Sprintf("%d acknowledged registrations logged in, %d acknowledged rotations, %d sessions whose latest refresh token was checked (%d of them found rotated by the refresh in flight at the kill, and ended as reuse), %d whose predecessor was checked as reuse, %d acknowledged logouts checked dead, %d sessions skipped because a logout on them was in flight at the kill",
		s.registrations, s.rotations, s.newChecked, s.inFlightCommitted, s.oldChecked, s.logouts, s.ambiguous)
}

// ledger is what a client was told: every acknowledged response.
type ledger struct {
	email      string
	registered bool
	sessions   []*ackSession
	unexpected []string
}

// ackSession is one session as its client knows it.
type ackSession struct {
	access    string
	refresh   []string // every refresh token acknowledged, the latest last
	loggedOut bool     // the logout was acknowledged
	pending   string   // a refresh or logout on it was in flight at the kill
}

func (s *ackSession) latest() string { return s.refresh[len(s.refresh)-1] }

// crashIteration starts the server, drives the clients, kills the server
// at a random moment, calls afterKill, restarts the server and checks
// every client's ledger, then stops it with SIGTERM.
func crashIteration(t *testing.T, iter int, env, args []string, afterKill func(*testing.T)) crashStats {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, uint64(iter)))
	p := startProc(t, env, args...)
	const clients = 8
	ledgers := make([]*ledger, clients)
	var wg sync.WaitGroup
	registered := make(chan struct{}, clients)
	for i := range ledgers {
		l := &ledger{email: fmt.Sprintf("crash-%d-%d-%s@example.org", iter, i, randomHexString(3))}
		ledgers[i] = l
		crng := mrand.New(mrand.NewPCG(seed, uint64(iter*100+i+1)))
		wg.Go(func() { driveClient(newGClient(p.url, l.email), l, crng, registered) })
	}
	// The kill comes at a random moment once half the clients have
	// registered (each registration waits for an argon2id hash): earlier,
	// there would be little to check.
	started := time.Now()
	for range clients / 2 {
		select {
		case <-registered:
		case <-time.After(30 * time.Second):
		}
	}
	time.Sleep(time.Duration(rng.Int64N(int64(1500 * time.Millisecond))))
	killAfter := time.Since(started)
	p.kill()
	wg.Wait()
	for i, l := range ledgers {
		for _, u := range l.unexpected {
			t.Errorf("iteration %d (seed %d), client %d before the kill: %s", iter, seed, i, u)
		}
	}
	afterKill(t)

	p = startProc(t, env, args...)
	st := checkLedgers(t, p.url, ledgers, fmt.Sprintf("iteration %d (seed %d, killed after %v)", iter, seed, killAfter))
	code, err := p.terminate(30 * time.Second)
	if err != nil || code != 0 {
		t.Errorf("iteration %d: SIGTERM after the checks: exit code %d, %v\n%s", iter, code, err, p.stderr)
	}
	return st
}

// driveClient registers, then refreshes, calls the protected route and
// logs out and in again, recording every acknowledged response, until a
// request gets no answer (the server is gone).
func driveClient(c *gclient, l *ledger, rng *mrand.Rand, registered chan<- struct{}) {
	r, err := c.doHashing("POST", "/auth/register", c.credentials())
	if err != nil {
		return // in flight: the account may or may not exist
	}
	if r.status != 201 || r.access == "" || r.refresh == "" {
		l.unexpected = append(l.unexpected, fmt.Sprintf("register: %d %s", r.status, r.body))
		return
	}
	l.registered = true
	registered <- struct{}{}
	s := &ackSession{access: r.access, refresh: []string{r.refresh}}
	l.sessions = append(l.sessions, s)
	for {
		// A little think time, as real clients have.
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		// Mostly refreshes and reads; a logout (and the login after it,
		// which waits for the password hasher) now and then, or the kill
		// would nearly always land on a login.
		switch x := rng.IntN(50); {
		case x < 30:
			r, err := c.do("POST", "/auth/refresh", "", refreshCookie(s.latest()))
			if err != nil {
				s.pending = "refresh"
				return
			}
			if r.status != 200 || r.access == "" || r.refresh == "" {
				l.unexpected = append(l.unexpected, fmt.Sprintf("refresh: %d %s", r.status, r.body))
				return
			}
			s.access = r.access
			s.refresh = append(s.refresh, r.refresh)
		case x < 49:
			r, err := c.do("GET", "/api/protected", "", accessCookie(s.access))
			if err != nil {
				return // a read: nothing is in doubt
			}
			if r.status != 200 {
				l.unexpected = append(l.unexpected, fmt.Sprintf("protected: %d %s", r.status, r.body))
				return
			}
		default:
			r, err := c.do("POST", "/auth/logout", "", accessCookie(s.access), refreshCookie(s.latest()))
			if err != nil {
				s.pending = "logout"
				return
			}
			if r.status != 204 {
				l.unexpected = append(l.unexpected, fmt.Sprintf("logout: %d %s", r.status, r.body))
				return
			}
			s.loggedOut = true
			r, err = c.doHashing("POST", "/auth/login", c.credentials())
			if err != nil {
				return // in flight: a session the client never learnt of
			}
			if r.status != 200 || r.access == "" || r.refresh == "" {
				l.unexpected = append(l.unexpected, fmt.Sprintf("login: %d %s", r.status, r.body))
				return
			}
			s = &ackSession{access: r.access, refresh: []string{r.refresh}}
			l.sessions = append(l.sessions, s)
		}
	}
}

// checkLedgers checks, against the restarted server, that every
// acknowledged registration can log in; that the access token of every
// session's last acknowledged grant works, and then either that its
// latest acknowledged refresh token works (two sessions in three) or that
// its predecessor is treated as reuse and ends the session (the third):
// checking both on one session is impossible, the first check changes what
// the second sees; and that every acknowledged logout holds. A refresh in
// flight at the kill may have committed; then the latest acknowledged
// token is a predecessor, and presenting it must end the session.
func checkLedgers(t *testing.T, base string, ledgers []*ledger, what string) crashStats {
	t.Helper()
	var st crashStats
	checked := 0
	fail := func(client int, format string, args ...any) {
		t.Helper()
		t.Errorf("%s, client %d: %s", what, client, fmt.Sprintf(format, args...))
	}
	for i, l := range ledgers {
		c := newGClient(base, l.email)
		for si, s := range l.sessions {
			st.rotations += len(s.refresh) - 1
			switch {
			case s.pending == "logout":
				st.ambiguous++ // ended or not: the client was never told
			case s.loggedOut:
				st.logouts++
				for _, rt := range s.refresh {
					if r, err := c.do("POST", "/auth/refresh", "", refreshCookie(rt)); err != nil || r.status != 401 {
						fail(i, "session %d was logged out, but a refresh token of it gets %d (%v)", si, r.status, err)
					}
				}
				if r, err := c.do("GET", "/api/protected", "", accessCookie(s.access)); err != nil || r.status != 401 {
					fail(i, "session %d was logged out, but its access token gets %d (%v)", si, r.status, err)
				}
			default:
				// Whether or not a refresh in flight at the kill committed,
				// the access token of the last acknowledged grant is valid.
				if r, err := c.do("GET", "/api/protected", "", accessCookie(s.access)); err != nil || r.status != 200 {
					fail(i, "session %d: the latest acknowledged access token gets %d (%v) after the restart", si, r.status, err)
					continue
				}
				checked++
				if len(s.refresh) >= 2 && checked%3 == 0 {
					// The predecessor of the latest acknowledged token was
					// rotated out, whatever a refresh in flight did.
					st.oldChecked++
					old := s.refresh[len(s.refresh)-2]
					if r, err := c.do("POST", "/auth/refresh", "", refreshCookie(old)); err != nil || r.status != 401 {
						fail(i, "session %d: the rotated-out refresh token gets %d (%v), want 401 as reuse", si, r.status, err)
					}
					if r, err := c.do("POST", "/auth/refresh", "", refreshCookie(s.latest())); err != nil || r.status != 401 {
						fail(i, "session %d: after reuse of its predecessor, the latest refresh token gets %d (%v), want 401: the reuse did not end the session", si, r.status, err)
					}
					if r, err := c.do("GET", "/api/protected", "", accessCookie(s.access)); err != nil || r.status != 401 {
						fail(i, "session %d: after reuse, its access token gets %d (%v), want 401", si, r.status, err)
					}
					continue
				}
				st.newChecked++
				r, err := c.do("POST", "/auth/refresh", "", refreshCookie(s.latest()))
				switch {
				case err == nil && r.status == 200 && r.refresh != "":
				case err == nil && r.status == 401 && s.pending == "refresh":
					// The refresh in flight at the kill committed, so the
					// latest acknowledged token is now a predecessor: reuse,
					// which must have ended the session. A token the store
					// had lost would get 401 and leave the session alive.
					st.inFlightCommitted++
					if r, err := c.do("GET", "/api/protected", "", accessCookie(s.access)); err != nil || r.status != 401 {
						fail(i, "session %d: its latest acknowledged refresh token gets 401 yet the session lives on (access %d, %v): the token was lost, not rotated", si, r.status, err)
					}
				default:
					fail(i, "session %d: the latest acknowledged refresh token (of %d) gets %d (%v) after the restart, want 200", si, len(s.refresh), r.status, err)
				}
			}
		}
		if l.registered {
			st.registrations++
			if r, err := c.doHashing("POST", "/auth/login", c.credentials()); err != nil || r.status != 200 {
				fail(i, "the acknowledged registration of %s cannot log in: %d (%v)", l.email, r.status, err)
			}
		}
	}
	return st
}
