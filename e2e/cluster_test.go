package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTwoInstances runs two instances on one database and one Redis and
// checks that, to a client, they are one server.
func TestTwoInstances(t *testing.T) {
	d := newDeployment(t, env.redis)
	a := d.start(t, "A", "")
	b := d.start(t, "B", "")
	// C shares the database but listens on another Redis prefix: it hears
	// no broadcast, so it shows what B would do without one.
	isolated := *d
	isolated.redisPrefix = freshRedisPrefix(t, env.redis)
	c := isolated.start(t, "C", "")

	t.Run("SessionAcrossInstances", func(t *testing.T) {
		want(t, "register on A", call(t, jar{}, "POST", a.url+"/auth/register", credentials("alice@example.org", password)), 201)
		j := jar{}
		want(t, "log in on B", call(t, j, "POST", b.url+"/auth/login", credentials("alice@example.org", password)), 200)
		r := call(t, j, "GET", a.url+"/api/protected", "")
		want(t, "protected on A with B's cookie", r, 200)
		if !strings.Contains(r.body, "Access granted") {
			t.Fatalf("protected on A: body %s", r.body)
		}
		want(t, "protected on B", call(t, j, "GET", b.url+"/api/protected", ""), 200)
		want(t, "protected on C", call(t, j, "GET", c.url+"/api/protected", ""), 200)

		// B has seen the session alive; only the broadcast can tell it of
		// the logout within a second (its store poll is a minute apart).
		access := jar{"__Host-access": j["__Host-access"]}
		want(t, "log out on A", call(t, j, "POST", a.url+"/auth/logout", ""), 204)
		took := waitStatus(t, b, access, "/api/protected", 401, 3*time.Second)
		if took > time.Second {
			t.Errorf("B accepted the access token for %v after the logout on A, want under a second", took)
		}
		t.Logf("B refused the logged-out access token %v after the logout on A", took.Round(time.Millisecond))
		// The control: without the broadcast the token would still pass.
		want(t, "protected on C, which heard no broadcast", call(t, access.clone(), "GET", c.url+"/api/protected", ""), 200)
	})

	t.Run("RefreshRace", func(t *testing.T) {
		j := jar{}
		want(t, "register", call(t, j, "POST", a.url+"/auth/register", credentials("bob@example.org", password)), 201)
		first := j["__Host-refresh"]
		tokens := []string{first}
		for round := range 15 {
			current := tokens[len(tokens)-1]
			results := make([]response, 4)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range results {
				in := a
				if i%2 == 1 {
					in = b
				}
				wg.Go(func() {
					<-start
					results[i] = call(t, jar{"__Host-refresh": current}, "POST", in.url+"/auth/refresh", "")
				})
			}
			close(start)
			wg.Wait()
			next := ""
			for i, r := range results {
				want(t, "racing refresh", r, 200)
				got := refreshCookie(r)
				if got == "" || got == current {
					t.Fatalf("round %d, request %d: refresh answered 200 without a new refresh token", round, i)
				}
				if next == "" {
					next = got
				} else if got != next {
					t.Fatalf("round %d: two successors of one refresh token: %.8s… and %.8s…", round, next, got)
				}
			}
			tokens = append(tokens, next)
		}
		latest := tokens[len(tokens)-1]
		j = jar{"__Host-refresh": latest}
		want(t, "refresh with the latest token on B", call(t, j, "POST", b.url+"/auth/refresh", ""), 200)
		want(t, "protected with the refreshed access token on A", call(t, j, "GET", a.url+"/api/protected", ""), 200)
		// A token rotated out long ago is theft: the whole session ends,
		// on both instances.
		want(t, "refresh with the first token", call(t, jar{"__Host-refresh": first}, "POST", a.url+"/auth/refresh", ""), 401)
		want(t, "refresh after reuse on B", call(t, jar{"__Host-refresh": j["__Host-refresh"]}, "POST", b.url+"/auth/refresh", ""), 401)
		waitStatus(t, b, jar{"__Host-access": j["__Host-access"]}, "/api/protected", 401, time.Second)
	})

	t.Run("ThrottlingShared", func(t *testing.T) {
		want(t, "register", call(t, jar{}, "POST", b.url+"/auth/register", credentials("carol@example.org", password)), 201)
		const burst = 20
		statuses := make([]int, burst)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range burst {
			in := a
			if i%2 == 1 {
				in = b
			}
			wg.Go(func() {
				<-start
				statuses[i] = call(t, nil, "POST", in.url+"/auth/login", credentials("carol@example.org", "not her password at all")).status
			})
		}
		close(start)
		wg.Wait()
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		if count[401] != 5 || count[429] != burst-5 {
			t.Fatalf("a burst of %d wrong passwords split across A and B got %v, want exactly 5×401 (max_failures) and %d×429", burst, count, burst-5)
		}
		for _, in := range []*instance{a, b} {
			r := call(t, nil, "POST", in.url+"/auth/login", credentials("carol@example.org", password))
			want(t, "the right password while throttled on "+in.name, r, 429)
			if r.header.Get("Retry-After") == "" {
				t.Errorf("429 on %s without Retry-After", in.name)
			}
		}
	})

	// Last: it uses up this address's sign-ups on A and B.
	t.Run("RegistrationThrottlingShared", func(t *testing.T) {
		// Sign-ups from one address are counted once for A and B
		// (throttle.registration: 20 an hour by default, some of them
		// used above), so alternating between them is refused after at
		// most 20; counted per instance, it would take about 40.
		var refused *instance
		for i := 0; refused == nil; i++ {
			if i == 21 {
				t.Fatalf("21 sign-ups from one address alternating between A and B, none refused")
			}
			in := []*instance{a, b}[i%2]
			r := call(t, jar{}, "POST", in.url+"/auth/register", credentials(fmt.Sprintf("flood%d@example.org", i), password))
			switch r.status {
			case 201:
			case 429:
				refused = in
				if r.header.Get("Retry-After") == "" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
					t.Errorf("429 on %s: %v, want problem+json with Retry-After", in.name, r.header)
				}
			default:
				t.Fatalf("sign-up %d on %s: status %d; body %s", i, in.name, r.status, r.body)
			}
		}
		other := a
		if refused == a {
			other = b
		}
		want(t, "sign-up on "+other.name+" after "+refused.name+" refused one", call(t, jar{}, "POST", other.url+"/auth/register", credentials("flood-other@example.org", password)), 429)
		// C counts on another prefix, as another deployment would.
		want(t, "sign-up on C", call(t, jar{}, "POST", c.url+"/auth/register", credentials("flood-c@example.org", password)), 201)
	})
}

func refreshCookie(r response) string {
	for _, line := range r.header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(line, "__Host-refresh="); ok {
			v, _, _ = strings.Cut(v, ";")
			return v
		}
	}
	return ""
}

// TestRevocationWithoutRedis runs two instances on PostgreSQL alone: the
// revocation travels by LISTEN/NOTIFY, still within a second.
func TestRevocationWithoutRedis(t *testing.T) {
	d := newDeployment(t, "")
	a := d.start(t, "A", "")
	b := d.start(t, "B", "")
	j := jar{}
	want(t, "register on A", call(t, j, "POST", a.url+"/auth/register", credentials("dave@example.org", password)), 201)
	want(t, "protected on B", call(t, j, "GET", b.url+"/api/protected", ""), 200)
	access := jar{"__Host-access": j["__Host-access"]}
	want(t, "log out on A", call(t, j, "POST", a.url+"/auth/logout", ""), 204)
	took := waitStatus(t, b, access, "/api/protected", 401, 3*time.Second)
	if took > time.Second {
		t.Errorf("B accepted the access token for %v after the logout on A, want under a second", took)
	}
	t.Logf("B refused the logged-out access token %v after the logout on A (LISTEN/NOTIFY)", took.Round(time.Millisecond))
	if !strings.Contains(a.logs.String(), "no Redis configured") {
		t.Errorf("an instance without Redis did not warn that throttling counts per instance")
	}
}
