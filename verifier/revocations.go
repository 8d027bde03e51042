package verifier

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	feedPath         = "/auth/revocations"
	maxFeedBytes     = 16 << 20
	maxFeedLine      = 1 << 20
	streamSilence    = 60 * time.Second // no line for this long: reconnect
	minStreamBackoff = 500 * time.Millisecond
	maxStreamBackoff = 30 * time.Second
)

// feedEntry and feedDoc are the wire form of Gatehouse's feed.
type feedEntry struct {
	SessionID string    `json:"session_id"`
	RevokedAt time.Time `json:"revoked_at"`
}

type feedDoc struct {
	Revoked []feedEntry `json:"revoked"`
	Now     time.Time   `json:"now"`
}

// revocations is the set of sessions Gatehouse says have ended, kept for
// as long as a token of theirs could still be valid.
type revocations struct {
	v         *Verifier
	mu        sync.RWMutex
	m         map[string]time.Time // session id -> revoked at
	lastHeard atomic.Int64         // Unix nanoseconds (wall clock) of the last sign of life
	cursor    time.Time            // the next poll's since; guarded by mu
}

func newRevocations(v *Verifier) *revocations {
	return &revocations{v: v, m: map[string]time.Time{}}
}

func (r *revocations) has(sid string) bool {
	r.mu.RLock()
	_, ok := r.m[sid]
	r.mu.RUnlock()
	return ok
}

// fresh reports whether the feed spoke within StaleAfter.
func (r *revocations) fresh() bool {
	return time.Since(time.Unix(0, r.lastHeard.Load())) <= r.v.opts.StaleAfter
}

func (r *revocations) touch() { r.lastHeard.Store(time.Now().UnixNano()) }

// add records entries and forgets those no token can refer to any more.
func (r *revocations) add(list []feedEntry) {
	keep := r.v.opts.MaxTTL + r.v.opts.Leeway
	now := r.v.opts.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range list {
		if e.SessionID != "" {
			r.m[e.SessionID] = e.RevokedAt
		}
	}
	for sid, at := range r.m {
		if now.Sub(at) > keep+time.Minute {
			delete(r.m, sid)
		}
	}
}

// poll fetches the revocations since the last poll (all, the first time).
func (r *revocations) poll(ctx context.Context) error {
	r.mu.RLock()
	path := feedPath
	if !r.cursor.IsZero() {
		path += "?since=" + url.QueryEscape(r.cursor.Format(time.RFC3339Nano))
	}
	r.mu.RUnlock()
	body, _, err := r.v.get(ctx, path, true, maxFeedBytes)
	if err != nil {
		return err
	}
	var doc feedDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("feed is not JSON: %w", err)
	}
	r.add(doc.Revoked)
	r.mu.Lock()
	// Overlap the windows: a revocation another Gatehouse instance
	// commits with a slightly late clock must not fall between polls.
	r.cursor = doc.Now.Add(-10 * time.Second)
	r.mu.Unlock()
	r.touch()
	return nil
}

// pollLoop polls every PollInterval until ctx ends: the safety net under
// the stream, and the whole feed while the stream cannot connect.
func (r *revocations) pollLoop(ctx context.Context) {
	t := time.NewTicker(r.v.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := r.poll(pctx); err != nil && ctx.Err() == nil {
			r.v.log.Warn("verifier: poll revocations", slog.Any("error", err))
		}
		cancel()
	}
}

// stream follows the Server-Sent Events feed until ctx ends, reconnecting
// with backoff.
func (r *revocations) stream(ctx context.Context) {
	backoff := minStreamBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := r.streamOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = minStreamBackoff
		}
		r.v.log.Warn("verifier: revocation stream", slog.Any("error", err), slog.Duration("retry_in", backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxStreamBackoff)
	}
}

var errStreamSilent = errors.New("stream silent")

func (r *revocations) streamOnce(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.v.base.String()+feedPath, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+r.v.opts.ServiceToken)
	res, err := r.v.stream.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return fmt.Errorf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// A connection that dies without a FIN would block the read forever:
	// Gatehouse sends a heartbeat every 15 s, so silence means it is gone.
	watchdog := time.AfterFunc(streamSilence, func() { cancel(errStreamSilent) })
	defer watchdog.Stop()

	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxFeedLine)
	var event, data string
	for sc.Scan() {
		watchdog.Reset(streamSilence)
		r.touch()
		line := sc.Text()
		switch {
		case line == "":
			if err := r.dispatch(event, data); err != nil {
				return err
			}
			event, data = "", ""
		case strings.HasPrefix(line, ":"): // heartbeat
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		return cause
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("stream ended")
}

func (r *revocations) dispatch(event, data string) error {
	switch event {
	case "snapshot":
		var doc feedDoc
		if err := json.Unmarshal([]byte(data), &doc); err != nil {
			return fmt.Errorf("bad snapshot: %w", err)
		}
		r.add(doc.Revoked)
	case "revoked":
		var e feedEntry
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return fmt.Errorf("bad revoked event: %w", err)
		}
		r.add([]feedEntry{e})
	}
	return nil
}
