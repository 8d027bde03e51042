package httpapi

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
)

// The revocation feed tells other services which sessions ended, so that a
// service verifying access tokens on its own (package verifier) refuses a
// logged-out session within a second instead of when the token expires.
//
// GET /auth/revocations with Accept: text/event-stream is a Server-Sent
// Events stream: one "snapshot" event with every session revoked in the
// last access-token lifetime, then one "revoked" event per session as it
// ends, and a comment line every FeedHeartbeat so that the reader can tell
// a quiet feed from a dead one. Without that Accept header it answers once,
// in JSON, with the sessions revoked at or after ?since= (RFC 3339; default:
// all it holds): the poll fallback.

// revocationJSON is one ended session on the feed.
type revocationJSON struct {
	SessionID string    `json:"session_id"`
	RevokedAt time.Time `json:"revoked_at"`
}

// feedJSON is the poll answer and the data of the snapshot event.
type feedJSON struct {
	Revoked []revocationJSON `json:"revoked"`
	Now     time.Time        `json:"now"`
}

// feedWriteWindow is how long one write to a stream may take. The server's
// WriteTimeout would end a stream after 30 s; each write moves the
// deadline instead, so a live reader keeps its stream and a stalled one
// loses it.
const feedWriteWindow = 30 * time.Second

// feedBuffer is how many revocations may queue for one stream.
const feedBuffer = 1024

func (s *server) handleRevocations() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.feedHashes) == 0 {
			// No service credential configured: the feed is off.
			writeProblem(w, probNotFound)
			return
		}
		if !s.feedAuthorized(r) {
			s.log.WarnContext(r.Context(), "revocation feed: bad credential", slog.String("ip", s.client(r).IP))
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse revocation feed"`)
			writeProblem(w, probUnauthenticated)
			return
		}
		if acceptsEventStream(r) {
			s.streamRevocations(w, r)
			return
		}
		var since time.Time
		if v := r.URL.Query().Get("since"); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				p := problem("invalid-input", "Invalid request", http.StatusBadRequest)
				p.Field, p.Detail = "since", "since must be an RFC 3339 time"
				writeProblem(w, p)
				return
			}
			since = t
		}
		writeJSON(w, http.StatusOK, s.feedSnapshot(since))
	})
}

// feedAuthorized checks the bearer token against the configured hashes.
// Every hash is compared, in constant time, whatever matches: neither the
// answer nor its timing tells how close a guess was or which entry matched.
func (s *server) feedAuthorized(r *http.Request) bool {
	auth := r.Header.Values("Authorization")
	if len(auth) != 1 {
		return false
	}
	tok, ok := strings.CutPrefix(auth[0], "Bearer ")
	if !ok || tok == "" || len(tok) > 512 {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	match := 0
	for _, h := range s.feedHashes {
		match |= subtle.ConstantTimeCompare(sum[:], h[:])
	}
	return match == 1
}

func acceptsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
				return true
			}
		}
	}
	return false
}

func (s *server) feedSnapshot(since time.Time) feedJSON {
	list := s.svc.Revocations().Since(since)
	out := feedJSON{Revoked: make([]revocationJSON, len(list)), Now: s.now().UTC()}
	for i, rv := range list {
		out.Revoked[i] = revocationJSON{SessionID: rv.SessionID, RevokedAt: rv.RevokedAt.UTC()}
	}
	return out
}

// streamRevocations serves the Server-Sent Events form of the feed until
// the client goes, a write stalls, or the server shuts down (Config.Done).
func (s *server) streamRevocations(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// Subscribe before taking the snapshot, so that a session ending in
	// between is in one or the other (possibly both; readers ignore repeats).
	ch, unsubscribe := s.svc.Revocations().Subscribe(feedBuffer)
	defer unsubscribe()

	// The request has no body: lift the read deadline, whose expiry would
	// otherwise cancel the request after ReadTimeout.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	buf.WriteString("retry: 1000\n\n")
	writeEvent(&buf, "snapshot", s.feedSnapshot(time.Time{}))
	if !s.flushFeed(w, rc, &buf) {
		return
	}
	heartbeat := time.NewTicker(s.feedHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-heartbeat.C:
			buf.WriteString(": ping\n\n")
		case rv := <-ch:
			writeEvent(&buf, "revoked", revocationJSON{SessionID: rv.SessionID, RevokedAt: rv.RevokedAt.UTC()})
			// Send whatever else is already queued in the same write.
			for more := true; more; {
				select {
				case rv := <-ch:
					writeEvent(&buf, "revoked", revocationJSON{SessionID: rv.SessionID, RevokedAt: rv.RevokedAt.UTC()})
				default:
					more = false
				}
			}
		}
		if !s.flushFeed(w, rc, &buf) {
			return
		}
	}
}

func writeEvent(buf *bytes.Buffer, name string, v any) {
	b, _ := json.Marshal(v) // one line: encoding/json never emits a raw newline
	buf.WriteString("event: ")
	buf.WriteString(name)
	buf.WriteString("\ndata: ")
	buf.Write(b)
	buf.WriteString("\n\n")
}

// flushFeed writes buf to the stream under a fresh write deadline and
// reports whether the stream is still usable.
func (s *server) flushFeed(w http.ResponseWriter, rc *http.ResponseController, buf *bytes.Buffer) bool {
	defer buf.Reset()
	if err := rc.SetWriteDeadline(time.Now().Add(feedWriteWindow)); err != nil {
		return false
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return false
	}
	return rc.Flush() == nil
}
