package httpapi_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/token"
)

const feedToken = "feed-token-for-tests-0123456789abcdef"

func withFeed(heartbeat time.Duration, done <-chan struct{}) option {
	return func(_ *gatehouse.Config, h *httpapi.Config) {
		h.FeedTokenSHA256 = [][sha256.Size]byte{sha256.Sum256([]byte("another service's token")), sha256.Sum256([]byte(feedToken))}
		h.FeedHeartbeat = heartbeat
		h.Done = done
	}
}

// TestJWKSPublishesOnlyPublicKeys checks that the JWKS holds exactly the
// asymmetric keys of the ring, in every state, and never a private member
// or an HMAC secret.
func TestJWKSPublishesOnlyPublicKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	want := map[string]bool{e.keys.SigningKey().ID: true, e.testKey.ID: true}
	for _, c := range []struct{ alg, state string }{
		{token.ES256, gatehouse.KeyNext}, {token.RS256, gatehouse.KeyRetired}, {token.EdDSA, gatehouse.KeyNext},
	} {
		k, err := token.GenerateKey(c.alg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.keys.Add(ctx, k, c.state); err != nil {
			t.Fatal(err)
		}
		want[k.ID] = true
	}
	hs, _ := token.GenerateKey(token.HS256)
	if _, err := e.keys.Add(ctx, hs, gatehouse.KeyNext); err != nil {
		t.Fatal(err)
	}

	r := e.get("/.well-known/jwks.json", "")
	wantStatus(t, r, http.StatusOK)
	if got := r.Header.Get("Cache-Control"); got != "public, max-age=300" {
		t.Errorf("Cache-Control = %q, want public, max-age=300", got)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, jwk := range doc.Keys {
		kid, _ := jwk["kid"].(string)
		got[kid] = true
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := jwk[private]; ok {
				t.Errorf("JWK %s has the private member %q", kid, private)
			}
		}
		if jwk["kty"] == "oct" || jwk["alg"] == token.HS256 || kid == hs.ID {
			t.Errorf("JWKS publishes the HMAC key %v", jwk)
		}
		if jwk["use"] != "sig" || jwk["alg"] == nil {
			t.Errorf("JWK %s lacks use=sig or alg: %v", kid, jwk)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("JWKS kids = %v, want %v", got, want)
	}
	for kid := range want {
		if !got[kid] {
			t.Errorf("JWKS lacks %s", kid)
		}
	}
	if strings.Contains(string(r.body), `"d"`) {
		t.Errorf("JWKS body mentions a d member: %s", r.body)
	}
}

func TestRevocationFeedAccess(t *testing.T) {
	off := newEnv(t)
	wantStatus(t, off.do(req{method: "GET", path: "/auth/revocations", header: map[string]string{"Authorization": "Bearer " + feedToken}}), http.StatusNotFound)

	e := newEnv(t, withFeed(0, nil))
	for name, h := range map[string]map[string]string{
		"no credential":    nil,
		"wrong token":      {"Authorization": "Bearer not-the-token"},
		"token as basic":   {"Authorization": "Basic " + feedToken},
		"lower-case kind":  {"Authorization": "bearer " + feedToken},
		"hash as token":    {"Authorization": "Bearer " + fmt.Sprintf("%x", sha256.Sum256([]byte(feedToken)))},
		"token with space": {"Authorization": "Bearer  " + feedToken},
	} {
		r := e.do(req{method: "GET", path: "/auth/revocations", header: h})
		if r.StatusCode != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: status %d, WWW-Authenticate %q; want 401 with a challenge", name, r.StatusCode, r.Header.Get("WWW-Authenticate"))
		}
	}
	wantStatus(t, e.do(req{method: "GET", path: "/auth/revocations", header: map[string]string{"Authorization": "Bearer " + feedToken}}), http.StatusOK)
	wantStatus(t, e.do(req{method: "GET", path: "/auth/revocations?since=yesterday", header: map[string]string{"Authorization": "Bearer " + feedToken}}), http.StatusBadRequest)
}

func TestRevocationFeedPoll(t *testing.T) {
	e := newEnv(t, withFeed(0, nil))
	a, b := e.register("a@example.org"), e.register("b@example.org")
	sidA, sidB := e.validClaims(a).SessionID, e.validClaims(b).SessionID
	wantStatus(t, e.do(req{method: "POST", path: "/auth/logout", cookie: a.cookies()}), http.StatusNoContent)
	e.clock.Advance(time.Minute)
	mark := e.clock.Now()
	wantStatus(t, e.do(req{method: "POST", path: "/auth/logout", cookie: b.cookies()}), http.StatusNoContent)

	poll := func(query string) map[string]time.Time {
		t.Helper()
		r := e.do(req{method: "GET", path: "/auth/revocations" + query, header: map[string]string{"Authorization": "Bearer " + feedToken}})
		wantStatus(t, r, http.StatusOK)
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
		var doc struct {
			Revoked []struct {
				SessionID string    `json:"session_id"`
				RevokedAt time.Time `json:"revoked_at"`
			} `json:"revoked"`
			Now time.Time `json:"now"`
		}
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatal(err)
		}
		if !doc.Now.Equal(e.clock.Now()) {
			t.Errorf("now = %v, want %v", doc.Now, e.clock.Now())
		}
		m := map[string]time.Time{}
		for _, rv := range doc.Revoked {
			m[rv.SessionID] = rv.RevokedAt
		}
		return m
	}
	all := poll("")
	if len(all) != 2 || !all[sidA].Equal(mark.Add(-time.Minute)) || !all[sidB].Equal(mark) {
		t.Fatalf("feed = %v, want %s and %s", all, sidA, sidB)
	}
	since := poll("?since=" + url.QueryEscape(mark.Format(time.RFC3339Nano)))
	if len(since) != 1 || since[sidB].IsZero() {
		t.Fatalf("feed since %v = %v, want only %s", mark, since, sidB)
	}
}

// sseReader reads events from a text/event-stream body.
type sseReader struct {
	sc *bufio.Scanner
}

type sseEvent struct {
	name, data string
	comment    bool
}

func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if ev.name != "" || ev.data != "" || ev.comment {
				return ev, nil
			}
		case strings.HasPrefix(line, ":"):
			ev.comment = true
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
	if err := s.sc.Err(); err != nil {
		return ev, err
	}
	return ev, net.ErrClosed
}

// TestRevocationStream opens the stream on a server with the production
// limits scaled down to one second, keeps it open well past them, and
// checks that a logout arrives as an event at once.
func TestRevocationStream(t *testing.T) {
	done := make(chan struct{})
	e := newEnv(t, withFeed(200*time.Millisecond, done))
	a, b := e.register("a@example.org"), e.register("b@example.org")
	sidA, sidB := e.validClaims(a).SessionID, e.validClaims(b).SessionID
	wantStatus(t, e.do(req{method: "POST", path: "/auth/logout", cookie: a.cookies()}), http.StatusNoContent)

	srv := httpapi.NewHTTPServer("127.0.0.1:0", e.srv.Config.Handler)
	srv.ReadTimeout, srv.WriteTimeout = time.Second, time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	r, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/auth/revocations", nil)
	r.Header.Set("Authorization", "Bearer "+feedToken)
	r.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	events := make(chan sseEvent, 100)
	go func() {
		rd := &sseReader{sc: bufio.NewScanner(res.Body)}
		for {
			ev, err := rd.next()
			if err != nil {
				close(events)
				return
			}
			events <- ev
		}
	}()
	first := <-events
	for first.name == "" {
		first = <-events // the retry field
	}
	if first.name != "snapshot" || !strings.Contains(first.data, sidA) {
		t.Fatalf("first event = %+v, want a snapshot with %s", first, sidA)
	}

	// Past ReadTimeout and WriteTimeout: the stream must still be alive.
	time.Sleep(2500 * time.Millisecond)
	pings := 0
	for drained := false; !drained; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended at the server's timeouts")
			}
			if ev.comment {
				pings++
			}
		default:
			drained = true
		}
	}
	if pings < 5 {
		t.Errorf("%d heartbeats in 2.5s at 200ms, want at least 5", pings)
	}

	start := time.Now()
	wantStatus(t, e.do(req{method: "POST", path: "/auth/logout", cookie: b.cookies()}), http.StatusNoContent)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("stream ended before the revocation arrived")
			}
			if ev.name != "revoked" {
				continue
			}
			var rv struct {
				SessionID string    `json:"session_id"`
				RevokedAt time.Time `json:"revoked_at"`
			}
			if err := json.Unmarshal([]byte(ev.data), &rv); err != nil || rv.SessionID != sidB {
				t.Fatalf("revoked event %q, want session %s", ev.data, sidB)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("revocation took %s to arrive", d)
			}
			// Closing Done (server shutdown) ends the stream.
			close(done)
			for range events {
			}
			return
		case <-time.After(3 * time.Second):
			t.Fatal("no revoked event")
		}
	}
}
