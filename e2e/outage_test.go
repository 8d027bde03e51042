package e2e

import (
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestOutages takes Redis and then PostgreSQL away from two running
// instances and brings them back. While a service is down, requests that
// need it get a fast 503 problem, /readyz fails, and access tokens of
// sessions an instance has seen keep working; when it is back, everything
// works again without a restart, the revocation broadcast included.
func TestOutages(t *testing.T) {
	needServices(t)
	rs := testenv.StartRedis(t)
	pg := testenv.StartProxy(t, postgresAddr(t))
	d := newDeployment(t, rs.URL())
	viaProxy := withHost(t, d.databaseURL, pg.Addr())
	a := d.start(t, "A", viaProxy)
	b := d.start(t, "B", viaProxy)

	j := jar{}
	want(t, "register on A", call(t, j, "POST", a.url+"/auth/register", credentials("erin@example.org", password)), 201)
	want(t, "protected on B", call(t, j, "GET", b.url+"/api/protected", ""), 200)

	t.Run("Redis", func(t *testing.T) {
		rs.Stop()
		start := time.Now()
		r := call(t, nil, "POST", a.url+"/auth/login", credentials("erin@example.org", password))
		wantUnavailable(t, "log in while Redis is down", r, time.Since(start))
		// A sign-up that cannot be counted is refused too, before any
		// hashing or store write.
		start = time.Now()
		r = call(t, nil, "POST", b.url+"/auth/register", credentials("gina@example.org", password))
		wantUnavailable(t, "register while Redis is down", r, time.Since(start))
		for _, in := range []*instance{a, b} {
			want(t, "readyz on "+in.name+" while Redis is down", call(t, nil, "GET", in.url+"/readyz", ""), 503)
			want(t, "protected on "+in.name+" while Redis is down", call(t, j.clone(), "GET", in.url+"/api/protected", ""), 200)
		}

		rs.Start()
		for _, in := range []*instance{a, b} {
			waitStatus(t, in, nil, "/readyz", 200, 5*time.Second)
		}
		want(t, "log in on B with Redis back", call(t, jar{}, "POST", b.url+"/auth/login", credentials("erin@example.org", password)), 200)
		want(t, "register on B with Redis back", call(t, jar{}, "POST", b.url+"/auth/register", credentials("gina@example.org", password)), 201)
		// B's listener reconnects by itself (about a second after Redis
		// returns); from then on a logout on A reaches B within a second.
		revokedWithin(t, a, b, "erin@example.org", 10*time.Second)
	})

	t.Run("PostgreSQL", func(t *testing.T) {
		pg.Stop()
		for _, in := range []*instance{a, b} {
			start := time.Now()
			r := call(t, nil, "GET", in.url+"/readyz", "")
			if r.status != 503 || time.Since(start) > 3*time.Second {
				t.Errorf("readyz on %s while PostgreSQL is down: %d after %v, want 503 within 3s", in.name, r.status, time.Since(start))
			}
			want(t, "protected on "+in.name+" while PostgreSQL is down", call(t, j.clone(), "GET", in.url+"/api/protected", ""), 200)
		}
		start := time.Now()
		r := call(t, nil, "POST", a.url+"/auth/register", credentials("frank@example.org", password))
		wantUnavailable(t, "register while PostgreSQL is down", r, time.Since(start))
		start = time.Now()
		r = call(t, nil, "POST", b.url+"/auth/login", credentials("erin@example.org", password))
		wantUnavailable(t, "log in while PostgreSQL is down", r, time.Since(start))

		pg.Start(t)
		for _, in := range []*instance{a, b} {
			waitStatus(t, in, nil, "/readyz", 200, 5*time.Second)
		}
		want(t, "register with PostgreSQL back", call(t, jar{}, "POST", a.url+"/auth/register", credentials("frank@example.org", password)), 201)
		want(t, "log in with PostgreSQL back", call(t, jar{}, "POST", b.url+"/auth/login", credentials("frank@example.org", password)), 200)
	})
}

// wantUnavailable fails t unless r is a 503 problem that came fast.
func wantUnavailable(t *testing.T, what string, r response, took time.Duration) {
	t.Helper()
	if r.status != 503 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") || !strings.Contains(r.body, "problem:unavailable") {
		t.Errorf("%s: %d %s %s, want a 503 unavailable problem", what, r.status, r.header.Get("Content-Type"), r.body)
	}
	if took > 4*time.Second {
		t.Errorf("%s took %v, want a fast answer", what, took.Round(time.Millisecond))
	}
	t.Logf("%s: %d in %v", what, r.status, took.Round(time.Millisecond))
}

// revokedWithin logs in on from, shows the session to to, logs out on from
// and checks that to refuses the access token within a second; it tries
// again, with a new session, until limit, for a broadcast that is still
// reconnecting.
func revokedWithin(t *testing.T, from, to *instance, email string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		j := jar{}
		want(t, "log in on "+from.name, call(t, j, "POST", from.url+"/auth/login", credentials(email, password)), 200)
		want(t, "protected on "+to.name, call(t, j, "GET", to.url+"/api/protected", ""), 200)
		access := jar{"__Host-access": j["__Host-access"]}
		want(t, "log out on "+from.name, call(t, j, "POST", from.url+"/auth/logout", ""), 204)
		start := time.Now()
		for time.Since(start) < time.Second {
			if call(t, access.clone(), "GET", to.url+"/api/protected", "").status == 401 {
				t.Logf("a logout on %s reached %s in %v", from.name, to.name, time.Since(start).Round(time.Millisecond))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("a logout on %s never reached %s within a second, up to %v after the restart", from.name, to.name, limit)
		}
	}
}

// postgresAddr is host:port of the test PostgreSQL.
func postgresAddr(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(env.database)
	if err != nil || u.Hostname() == "" {
		t.Skipf("this test needs GATEHOUSE_TEST_DATABASE_URL as a postgres://host:port URL")
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func withHost(t *testing.T, base, addr string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}
