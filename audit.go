package gatehouse

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// AuditQuery selects events from the audit trail.
type AuditQuery struct {
	UserID string    // only this user's events; "" for everyone's
	Since  time.Time // only events at or after Since; zero for all
	Limit  int       // at most this many, the newest; zero means DefaultAuditLimit
}

// DefaultAuditLimit is how many events an AuditQuery with no Limit returns.
const DefaultAuditLimit = 1000

// AuditStore keeps the audit trail: security events, as data, queryable by
// user and time. sqlite.DB and postgres.DB implement it.
type AuditStore interface {
	// AppendEvents stores events, in one transaction. It returns an error
	// matching ErrUnavailable when the store cannot be reached.
	AppendEvents(ctx context.Context, events []Event) error
	// AuditEvents returns the newest events q selects, at most q.Limit of
	// them (DefaultAuditLimit when zero), oldest first.
	AuditEvents(ctx context.Context, q AuditQuery) ([]Event, error)
	// DeleteEventsBefore deletes the events older than t and reports how
	// many it deleted.
	DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error)
}

// AuditOptions configure an AuditTrail. The zero value of each field picks
// its default.
type AuditOptions struct {
	// Buffer is how many events may wait to be written; default 4096.
	Buffer int
	// Retention is how long events are kept; default 90 days.
	Retention time.Duration
	// WriteTimeout bounds each write to the store; default 5s.
	WriteTimeout time.Duration
	Logger       *slog.Logger     // default discards
	Now          func() time.Time // default time.Now
}

// AuditStats count what became of the events an AuditTrail was given.
type AuditStats struct {
	Written    uint64 // stored
	Dropped    uint64 // the buffer was full, or the trail closed
	Failed     uint64 // the store refused them
	Suppressed uint64 // repeated throttled events, see AuditTrail
	Queued     int    // waiting to be written now
}

// AuditTrail is the EventSink that keeps security events in an AuditStore.
//
// Events are written asynchronously, through a bounded buffer, in batches:
// recording never makes a request wait for the database, and a database
// that is slow or down never fails a login. The price is that a flood can
// outrun the writer; the events that do not fit are dropped and counted
// (AuditStats.Dropped, a metric), never queued without bound. The
// structured log written by the Service is synchronous and complete; the
// table is the queryable copy. A throttled client makes a request per
// throttled event, so throttled events are stored at most once a minute
// per address and reason; the log and the metrics still see each one.
type AuditTrail struct {
	store AuditStore
	opts  AuditOptions
	log   *slog.Logger

	mu     sync.RWMutex // guards closed against Record's send
	closed bool
	queue  chan Event
	done   chan struct{}

	seenMu sync.Mutex
	seen   map[string]time.Time // throttled events stored lately, by address and reason

	written, dropped, failed, suppressed atomic.Uint64
}

var _ EventSink = (*AuditTrail)(nil)

// auditBatch is the most events written in one transaction.
const auditBatch = 256

// NewAuditTrail returns an AuditTrail writing to store, and starts its
// writer. Close it to write what is buffered and stop.
func NewAuditTrail(store AuditStore, o AuditOptions) *AuditTrail {
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	if o.Retention <= 0 {
		o.Retention = 90 * 24 * time.Hour
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &AuditTrail{
		store: store, opts: o, log: o.Logger,
		queue: make(chan Event, o.Buffer), done: make(chan struct{}),
		seen: make(map[string]time.Time),
	}
	go a.write()
	return a
}

// Record queues e to be written. It never blocks: when the buffer is full
// the event is dropped and counted.
func (a *AuditTrail) Record(_ context.Context, e Event) {
	for _, f := range []*string{&e.Name, &e.UserID, &e.SessionID, &e.KeyID, &e.IP, &e.UserAgent, &e.Outcome, &e.Reason} {
		*f = storable(*f)
	}
	if e.Name == EventThrottled && a.repeated(e) {
		a.suppressed.Add(1)
		return
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		a.dropped.Add(1)
		return
	}
	select {
	case a.queue <- e:
	default:
		a.dropped.Add(1)
	}
}

// storable makes s text every store can keep as it is: valid UTF-8, no
// NUL (which PostgreSQL text refuses), so that one odd user agent cannot
// fail the batch it is written in. Everything else stays as data.
func storable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// repeated reports whether a throttled event for the same address and
// reason was stored less than a minute ago.
func (a *AuditTrail) repeated(e Event) bool {
	key := e.Reason + "\x00" + e.IP
	a.seenMu.Lock()
	defer a.seenMu.Unlock()
	if last, ok := a.seen[key]; ok && e.Time.Sub(last) < time.Minute && !e.Time.Before(last) {
		return true
	}
	if len(a.seen) >= 10_000 {
		clear(a.seen) // bounded: an attacker with many addresses only costs a few more rows
	}
	a.seen[key] = e.Time
	return false
}

// AuditEvents returns the events q selects from the store (see
// AuditStore.AuditEvents). Events still in the buffer are not among them.
func (a *AuditTrail) AuditEvents(ctx context.Context, q AuditQuery) ([]Event, error) {
	return a.store.AuditEvents(ctx, q)
}

// Stats returns the counts of what became of the events recorded so far.
func (a *AuditTrail) Stats() AuditStats {
	return AuditStats{
		Written: a.written.Load(), Dropped: a.dropped.Load(), Failed: a.failed.Load(),
		Suppressed: a.suppressed.Load(), Queued: len(a.queue),
	}
}

// Close writes the events still buffered and stops the writer. Events
// recorded after Close are dropped.
func (a *AuditTrail) Close() error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
	a.mu.Unlock()
	<-a.done
	return nil
}

// write is the writer: it takes what is queued, up to auditBatch events at
// a time, and writes it in one transaction; every hour it deletes the
// events older than the retention.
func (a *AuditTrail) write() {
	defer close(a.done)
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	a.prune()
	batch := make([]Event, 0, auditBatch)
	for {
		select {
		case e, ok := <-a.queue:
			if !ok {
				return
			}
			batch = append(batch[:0], e)
		fill:
			for len(batch) < auditBatch {
				select {
				case e, ok := <-a.queue:
					if !ok {
						break fill
					}
					batch = append(batch, e)
				default:
					break fill
				}
			}
			a.flush(batch)
		case <-prune.C:
			a.prune()
		}
	}
}

func (a *AuditTrail) flush(batch []Event) {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.WriteTimeout)
	defer cancel()
	if err := a.store.AppendEvents(ctx, batch); err != nil {
		a.failed.Add(uint64(len(batch)))
		a.log.Warn("audit trail: events not stored", slog.Int("events", len(batch)), slog.Any("error", err))
		return
	}
	a.written.Add(uint64(len(batch)))
}

func (a *AuditTrail) prune() {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.WriteTimeout)
	defer cancel()
	if _, err := a.store.DeleteEventsBefore(ctx, a.opts.Now().Add(-a.opts.Retention)); err != nil {
		a.log.Warn("audit trail: delete old events", slog.Any("error", err))
	}
}
