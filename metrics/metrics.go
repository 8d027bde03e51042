// Package metrics exposes Gatehouse's metrics in the Prometheus format, on a
// registry of its own: nothing is registered globally, and nothing in an
// init function. A *Metrics is a gatehouse.EventSink (logins by outcome,
// throttled requests, refreshes, reuse detections, stuffing alarms are
// counted from the security events) and an httpapi.RequestObserver
// (requests by route pattern and status); the hashing pool, the signing
// keys, the audit trail and the count of active sessions are read when
// Prometheus scrapes.
//
// Serve Handler on an admin listener only, never next to the public API:
// the metrics describe the server's load and attacks on it.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/password"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are what the metrics read when scraped. Every field is optional.
type Sources struct {
	Hasher *password.Hasher
	Keys   *gatehouse.Keyring
	Audit  *gatehouse.AuditTrail
	// StuffingAlarm reports whether the credential-stuffing alarm is on
	// (gatehouse.Service.StuffingAlarm).
	StuffingAlarm func() bool
	// ActiveSessions counts the live sessions; Run calls it periodically,
	// never a scrape, so that scraping costs no query.
	ActiveSessions func(ctx context.Context) (int, error)
	Now            func() time.Time // default time.Now
	Logger         *slog.Logger     // default discards
}

// Metrics holds Gatehouse's metrics. It is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	src Sources

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	events   *prometheus.CounterVec
	logins   *prometheus.CounterVec
	thrott   *prometheus.CounterVec
	refresh  prometheus.Counter
	reuse    prometheus.Counter
	stuffing prometheus.Counter

	sessions atomic.Int64 // the last count of active sessions; -1 before the first

	// series caches the request counter and histogram of each (route,
	// status), so that observing a request costs no label hashing.
	series sync.Map // routeStatus -> *requestSeries
}

var _ gatehouse.EventSink = (*Metrics)(nil)

// New returns the metrics, registered on a new registry with the Go
// runtime and process collectors.
func New(src Sources) *Metrics {
	if src.Now == nil {
		src.Now = time.Now
	}
	if src.Logger == nil {
		src.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), src: src}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_http_requests_total",
		Help: "HTTP requests answered, by route pattern (never the raw path) and status code.",
	}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatehouse_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by route pattern and status code.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "code"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_security_events_total",
		Help: "Security events recorded, by event, outcome and reason code.",
	}, []string{"event", "outcome", "reason"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_logins_total",
		Help: "Password checks of logins, by outcome (success, failure) and reason code.",
	}, []string{"outcome", "reason"})
	m.thrott = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_throttled_total",
		Help: "Login and password-change attempts refused before hashing, by the limit that refused them.",
	}, []string{"reason"})
	m.refresh = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_refreshes_total",
		Help: "Refresh tokens exchanged successfully.",
	})
	m.reuse = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_refresh_reuse_detected_total",
		Help: "Rotated refresh tokens presented again: sessions ended as stolen.",
	})
	m.stuffing = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_credential_stuffing_alarms_total",
		Help: "Times the credential-stuffing alarm went off (failed logins across all accounts over the threshold).",
	})
	m.sessions.Store(-1)
	m.reg.MustRegister(m.requests, m.latency, m.events, m.logins, m.thrott, m.refresh, m.reuse, m.stuffing,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registerReaders()
	return m
}

// registerReaders adds the metrics read at scrape time from the sources.
func (m *Metrics) registerReaders() {
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	if h := m.src.Hasher; h != nil {
		gauge("gatehouse_hash_running", "Password hashes running now.", func() float64 { return float64(h.Stats().Running) })
		gauge("gatehouse_hash_queue_depth", "Callers waiting for a password-hashing slot now.", func() float64 { return float64(h.Stats().Queued) })
		conc, queue := h.Capacity()
		gauge("gatehouse_hash_slots", "Password hashes that may run at once.", func() float64 { return float64(conc) })
		gauge("gatehouse_hash_queue_capacity", "Callers that may wait for a hashing slot.", func() float64 { return float64(queue) })
		counter("gatehouse_hash_acquired_total", "Hashing slots taken.", func() float64 { return float64(h.Totals().Acquired) })
		counter("gatehouse_hash_rejected_total", "Callers refused a hashing slot (queue full or waited too long): answered 503.", func() float64 {
			return float64(h.Totals().Rejected)
		})
		counter("gatehouse_hash_wait_seconds_total", "Time callers spent waiting for a hashing slot; divide its rate by that of acquired plus rejected for the mean wait.", func() float64 {
			return h.Totals().Waited.Seconds()
		})
	}
	if k := m.src.Keys; k != nil {
		gauge("gatehouse_signing_key_age_seconds", "How long the active signing key has been signing.", func() float64 {
			var newest time.Time
			for _, r := range k.Records() {
				if r.State == gatehouse.KeyActive && r.ActivatedAt.After(newest) {
					newest = r.ActivatedAt
				}
			}
			if newest.IsZero() {
				return 0
			}
			return m.src.Now().Sub(newest).Seconds()
		})
	}
	if a := m.src.Audit; a != nil {
		counter("gatehouse_audit_events_written_total", "Security events stored in the audit trail.", func() float64 { return float64(a.Stats().Written) })
		counter("gatehouse_audit_events_dropped_total", "Security events not stored because the audit buffer was full: the table misses them, the log has them.", func() float64 {
			return float64(a.Stats().Dropped)
		})
		counter("gatehouse_audit_events_failed_total", "Security events the store refused to write.", func() float64 { return float64(a.Stats().Failed) })
		counter("gatehouse_audit_events_suppressed_total", "Repeated throttled events not stored (one a minute per address and reason is).", func() float64 {
			return float64(a.Stats().Suppressed)
		})
		gauge("gatehouse_audit_queue_depth", "Security events waiting to be written to the audit trail.", func() float64 { return float64(a.Stats().Queued) })
	}
	if f := m.src.StuffingAlarm; f != nil {
		gauge("gatehouse_credential_stuffing_alarm", "1 while the credential-stuffing alarm is on.", func() float64 {
			if f() {
				return 1
			}
			return 0
		})
	}
	if m.src.ActiveSessions != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_active_sessions",
			Help: "Sessions neither revoked nor expired, as last counted by Run; -1 until the first count.",
		}, func() float64 { return float64(m.sessions.Load()) }))
	}
}

// Record counts a security event.
func (m *Metrics) Record(_ context.Context, e gatehouse.Event) {
	m.events.WithLabelValues(e.Name, e.Outcome, e.Reason).Inc()
	switch e.Name {
	case gatehouse.EventLoginSuccess, gatehouse.EventLoginFailure:
		m.logins.WithLabelValues(e.Outcome, e.Reason).Inc()
	case gatehouse.EventThrottled:
		m.thrott.WithLabelValues(e.Reason).Inc()
	case gatehouse.EventRefresh:
		m.refresh.Inc()
	case gatehouse.EventRefreshReused:
		m.reuse.Inc()
	case gatehouse.EventStuffingAlarm:
		m.stuffing.Inc()
	}
}

type routeStatus struct {
	route  string
	status int
}

type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// ObserveRequest counts one answered request. route must be a pattern of
// the server's routes (or a fixed word such as "unmatched"), never the raw
// path, which would let any client create series without bound.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	key := routeStatus{route, status}
	v, ok := m.series.Load(key)
	if !ok {
		code := strconv.Itoa(status)
		v, _ = m.series.LoadOrStore(key, &requestSeries{
			count:   m.requests.WithLabelValues(route, code),
			latency: m.latency.WithLabelValues(route, code),
		})
	}
	s := v.(*requestSeries)
	s.count.Inc()
	s.latency.Observe(d.Seconds())
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(m.src.Logger.Handler(), slog.LevelWarn)})
}

// Registry returns the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Run counts the active sessions every interval until ctx ends. A count
// that fails is logged and the last one kept.
func (m *Metrics) Run(ctx context.Context, interval time.Duration) {
	if m.src.ActiveSessions == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := m.src.ActiveSessions(qctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.src.Logger.Warn("metrics: count active sessions", slog.Any("error", err))
		} else {
			m.sessions.Store(int64(n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
