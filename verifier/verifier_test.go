package verifier_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/verifier"
)

func TestVerifierAcceptsGatehouseTokens(t *testing.T) {
	g := newGate(t)
	u := g.register("alice@example.org")
	res, body := g.do("GET", g.api.URL+"/data", u.cookie(), "")
	if res.StatusCode != 200 || !strings.Contains(body, u.id) {
		t.Fatalf("verifier service: %d %s, want 200 with the user id", res.StatusCode, body)
	}
	for name, cookie := range map[string]string{
		"no cookie":         "",
		"duplicated cookie": u.cookie() + "; " + u.cookie(),
		"case-folded name":  "__host-access=" + u.access,
		"padded name":       "__Host-access =" + u.access,
	} {
		res, body := g.do("GET", g.api.URL+"/data", cookie, "")
		if res.StatusCode != 401 || !strings.Contains(body, "urn:gatehouse:problem:unauthenticated") || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want the 401 problem", name, res.StatusCode, body)
		}
	}
	// The bearer header is ignored unless allowed.
	if res, _ := g.do("GET", g.api.URL+"/data", "", "", "Authorization", "Bearer "+u.access); res.StatusCode != 401 {
		t.Errorf("bearer without AllowBearer: %d, want 401", res.StatusCode)
	}
}

func TestVerifierBearer(t *testing.T) {
	g := newGate(t, func(_ *gatehouse.KeySchedule, _ *httpapi.Config, o *verifier.Options) { o.AllowBearer = true })
	u := g.register("bob@example.org")
	if res, body := g.do("GET", g.api.URL+"/data", "", "", "Authorization", "Bearer "+u.access); res.StatusCode != 200 {
		t.Fatalf("bearer: %d %s", res.StatusCode, body)
	}
	for name, h := range map[string][]string{
		"cookie and bearer": {"Cookie", u.cookie(), "Authorization", "Bearer " + u.access},
		"two headers":       {"Authorization", "Bearer " + u.access, "Authorization", "Bearer " + u.access},
		"basic":             {"Authorization", "Basic " + u.access},
		"empty":             {"Authorization", "Bearer "},
	} {
		if res, _ := g.do("GET", g.api.URL+"/data", "", "", h...); res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d, want 401 with a challenge", name, res.StatusCode)
		}
	}
}

// TestLogoutSeenWithinOneSecond: a logout on Gatehouse reaches the
// verifier through the stream (polling is set to once an hour here).
func TestLogoutSeenWithinOneSecond(t *testing.T) {
	g := newGate(t)
	u := g.register("carol@example.org")
	other := g.register("dave@example.org")
	if _, s := g.both(u.cookie()); s != 200 {
		t.Fatalf("before logout: %d", s)
	}
	time.Sleep(200 * time.Millisecond) // let the stream connect
	start := time.Now()
	g.logout(u)
	for {
		res, _ := g.do("GET", g.api.URL+"/data", u.cookie(), "")
		if res.StatusCode == 401 {
			break
		}
		if res.StatusCode != 200 {
			t.Fatalf("status %d while waiting", res.StatusCode)
		}
		if time.Since(start) > 3*time.Second {
			t.Fatal("the verifier still accepts the token 3s after logout")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d := time.Since(start); d >= time.Second {
		t.Fatalf("logout took %s to reach the verifier, want < 1s", d)
	}
	if _, s := g.both(other.cookie()); s != 200 {
		t.Fatalf("another user's session was affected: %d", s)
	}
}

// TestRevocationsReachAVerifierStartedLater: a verifier started after a
// logout learns of it from the first snapshot.
func TestRevocationsReachAVerifierStartedLater(t *testing.T) {
	g := newGate(t)
	u := g.register("erin@example.org")
	g.logout(u)
	v, err := verifier.New(context.Background(), verifier.Options{
		BaseURL: g.srv.URL, Issuer: issuer, Audience: audience, MaxTTL: accessTTL, Leeway: leeway,
		ServiceToken: feedToken, Now: g.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Verify(u.access); err != verifier.ErrRevoked {
		t.Fatalf("Verify of a logged-out token = %v, want ErrRevoked", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	g := newGate(t)
	base := verifier.Options{BaseURL: g.srv.URL, Issuer: issuer, Audience: audience, MaxTTL: accessTTL, ServiceToken: feedToken}
	for name, change := range map[string]func(*verifier.Options){
		"plain http off loopback": func(o *verifier.Options) { o.BaseURL = "http://auth.example.com" },
		"no issuer":               func(o *verifier.Options) { o.Issuer = "" },
		"no max ttl":              func(o *verifier.Options) { o.MaxTTL = 0 },
		"no feed credential":      func(o *verifier.Options) { o.ServiceToken = "" },
		"wrong feed credential":   func(o *verifier.Options) { o.ServiceToken = "guess" },
		"userinfo in URL":         func(o *verifier.Options) { o.BaseURL = "http://a@127.0.0.1:1" },
	} {
		o := base
		change(&o)
		if v, err := verifier.New(context.Background(), o); err == nil {
			v.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// TestKidFlood sends tokens naming a thousand made-up kids at once: the
// verifier refetches the JWKS at most once per MinRefetchInterval.
func TestKidFlood(t *testing.T) {
	g := newGate(t)
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	before := g.jwksHit.Load()
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for i := range 1000 {
		wg.Go(func() {
			k := &token.Key{ID: "bogus-" + string(rune('a'+i%26)) + token.NewID(), Algorithm: token.EdDSA, Private: priv}
			now := g.clock.Now()
			tok, err := token.Sign(k, token.Claims{Issuer: issuer, Subject: "x", Audience: []string{audience}, ID: token.NewID(), SessionID: "s", IssuedAt: now, ExpiresAt: now.Add(time.Minute)})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := g.ver.Verify(tok); err == nil {
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 0 {
		t.Fatalf("%d tokens with made-up kids accepted", accepted.Load())
	}
	// New fetched the JWKS just before: the flood fits in one interval,
	// so it may cause no fetch at all, and never more than one.
	if n := g.jwksHit.Load() - before; n > 1 {
		t.Fatalf("1000 unknown kids caused %d JWKS fetches, want at most 1", n)
	}
	// The same through HTTP, at the service.
	for range 50 {
		tok := forge(`{"alg":"EdDSA","typ":"at+jwt","kid":"`+token.NewID()+`"}`, `{}`, edSign(priv))
		if res, _ := g.do("GET", g.api.URL+"/data", "__Host-access="+tok, ""); res.StatusCode != 401 {
			t.Fatalf("forged token: %d", res.StatusCode)
		}
	}
	if n := g.jwksHit.Load() - before; n > 1 {
		t.Fatalf("unknown kids over HTTP caused %d JWKS fetches, want at most 1", n)
	}
}

// TestUnknownKidRefetch: a key activated at once on Gatehouse (gatehouse
// keys rotate) is fetched by the verifier on its first token.
func TestUnknownKidRefetch(t *testing.T) {
	g := newGate(t, func(_ *gatehouse.KeySchedule, _ *httpapi.Config, o *verifier.Options) {
		o.MinRefetchInterval = 100 * time.Millisecond
	})
	time.Sleep(150 * time.Millisecond)
	rec, err := g.keys.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u := g.register("frank@example.org")
	if kid := kidOf(t, u.access); kid != rec.ID {
		t.Fatalf("new token kid %s, want the rotated key %s", kid, rec.ID)
	}
	if srv, svc := g.both(u.cookie()); srv != 200 || svc != 200 {
		t.Fatalf("token of the just-activated key: Gatehouse %d, verifier %d", srv, svc)
	}
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct{ Kid string }
	json.Unmarshal(b, &hdr)
	return hdr.Kid
}

// TestRotationUnderTraffic hammers Gatehouse and the verifier service
// from several clients, which refresh their tokens as they go, while the
// key ring publishes a next key, rotates to it, and finally deletes the
// old key. No request may fail; tokens of the old key keep working until
// the key is deleted; new tokens carry the new kid.
func TestRotationUnderTraffic(t *testing.T) {
	// A short schedule, so that the test can walk it: the next key is
	// published 2s (fake time) before it may sign; the verifier refetches
	// the JWKS every second (real time).
	g := newGate(t, func(s *gatehouse.KeySchedule, h *httpapi.Config, o *verifier.Options) {
		*s = gatehouse.KeySchedule{RotationInterval: time.Minute, AccessTTL: time.Second, Leeway: 0, JWKSMaxAge: time.Second}
		h.JWKSMaxAge = time.Second
		o.MinRefetchInterval = 50 * time.Millisecond
	})
	ctx := context.Background()
	first := g.keys.SigningKey().ID
	old := g.register("old@example.org")
	if kidOf(t, old.access) != first {
		t.Fatal("first token not signed by the first key")
	}
	if err := g.keys.Maintain(ctx, g.clock.Now()); err != nil { // publishes the next key
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var failures atomic.Int64
	var newKids sync.Map
	var wg sync.WaitGroup
	for i := range 6 {
		u := g.register("client" + string(rune('a'+i)) + "@example.org")
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if n%4 == 3 {
					if s := g.refresh(u); s != 200 {
						failures.Add(1)
						t.Errorf("refresh: %d", s)
					}
					newKids.Store(kidOf(t, u.access), true)
				}
				if srv, svc := g.both(u.cookie()); srv != 200 || svc != 200 {
					failures.Add(1)
					t.Errorf("kid %s: Gatehouse %d, verifier %d", kidOf(t, u.access), srv, svc)
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond) // the verifier's scheduled refresh picks up the next key
	g.clock.Advance(time.Minute)        // rotation due, next key published long enough
	if err := g.keys.Maintain(ctx, g.clock.Now()); err != nil {
		t.Fatal(err)
	}
	second := g.keys.SigningKey().ID
	if second == first {
		t.Fatal("Maintain did not rotate")
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d failed requests during rotation", failures.Load())
	}
	if _, ok := newKids.Load(second); !ok {
		t.Fatalf("no token refreshed after the rotation carries the new kid %s", second)
	}
	// The old key's token still works on both: the key is retired, not gone.
	if srv, svc := g.both(old.cookie()); srv != 200 || svc != 200 {
		t.Fatalf("token of the retired key: Gatehouse %d, verifier %d", srv, svc)
	}

	// After Retention the retired key is deleted: gone from the JWKS and
	// refused by both, even for a token that has not yet expired.
	g.clock.Advance(g.keys.Schedule().Retention())
	if err := g.keys.Maintain(ctx, g.clock.Now()); err != nil {
		t.Fatal(err)
	}
	res, body := g.do("GET", g.srv.URL+"/.well-known/jwks.json", "", "")
	if res.StatusCode != 200 || strings.Contains(body, first) {
		t.Fatalf("JWKS after retention still has %s: %s", first, body)
	}
	time.Sleep(1200 * time.Millisecond) // the verifier's scheduled refresh drops it
	if srv, svc := g.both(old.cookie()); srv != 401 || svc != 401 {
		t.Fatalf("token of the deleted key: Gatehouse %d, verifier %d; want 401 from both", srv, svc)
	}
}

func TestStaleFeedRefusesTokens(t *testing.T) {
	g := newGate(t, func(_ *gatehouse.KeySchedule, h *httpapi.Config, o *verifier.Options) {
		o.StaleAfter = 300 * time.Millisecond
		h.FeedHeartbeat = 100 * time.Millisecond
	})
	u := g.register("gina@example.org")
	time.Sleep(500 * time.Millisecond) // heartbeats keep the feed fresh
	if _, s := g.both(u.cookie()); s != 200 {
		t.Fatalf("with a live feed: %d", s)
	}
	g.srv.CloseClientConnections()
	g.srv.Close()
	time.Sleep(600 * time.Millisecond)
	res, body := g.do("GET", g.api.URL+"/data", u.cookie(), "")
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("with a dead feed: %d %s, want 503", res.StatusCode, body)
	}
}
