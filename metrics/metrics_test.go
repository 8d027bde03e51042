package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/password"
	"github.com/prometheus/client_golang/prometheus"
)

// scrape returns what Handler serves.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("GET /metrics: %d", w.Code)
	}
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") {
			t.Errorf("metrics lack the line %q", l)
		}
	}
}

func TestEventsAndRequests(t *testing.T) {
	m := metrics.New(metrics.Sources{})
	ctx := context.Background()
	for _, e := range []gatehouse.Event{
		{Name: gatehouse.EventLoginSuccess, Outcome: "success"},
		{Name: gatehouse.EventLoginSuccess, Outcome: "success", Reason: "known_device"},
		{Name: gatehouse.EventLoginFailure, Outcome: "failure", Reason: "bad_password"},
		{Name: gatehouse.EventLoginFailure, Outcome: "failure", Reason: "bad_password"},
		{Name: gatehouse.EventThrottled, Outcome: "failure", Reason: "delay"},
		{Name: gatehouse.EventRefresh, Outcome: "success"},
		{Name: gatehouse.EventRefreshReused, Outcome: "failure", Reason: "reuse"},
		{Name: gatehouse.EventStuffingAlarm, Outcome: "failure", Reason: "threshold"},
	} {
		m.Record(ctx, e)
	}
	m.ObserveRequest("POST /auth/login", 429, 3*time.Millisecond)
	m.ObserveRequest("POST /auth/login", 200, 60*time.Millisecond)
	text := scrape(t, m)
	wantLines(t, text,
		`gatehouse_logins_total{outcome="failure",reason="bad_password"} 2`,
		`gatehouse_logins_total{outcome="success",reason="known_device"} 1`,
		`gatehouse_throttled_total{reason="delay"} 1`,
		`gatehouse_refreshes_total 1`,
		`gatehouse_refresh_reuse_detected_total 1`,
		`gatehouse_credential_stuffing_alarms_total 1`,
		`gatehouse_security_events_total{event="login.failure",outcome="failure",reason="bad_password"} 2`,
		`gatehouse_http_requests_total{code="429",route="POST /auth/login"} 1`,
		`gatehouse_http_request_duration_seconds_count{code="200",route="POST /auth/login"} 1`,
	)
	if !strings.Contains(text, "go_goroutines") || !strings.Contains(text, "process_resident_memory_bytes") {
		t.Error("the Go runtime and process collectors are missing")
	}
}

// TestOwnRegistry: nothing lands in the global default registry, so two
// servers in one process (tests, a library user) never collide.
func TestOwnRegistry(t *testing.T) {
	a, b := metrics.New(metrics.Sources{}), metrics.New(metrics.Sources{})
	a.Record(context.Background(), gatehouse.Event{Name: gatehouse.EventRefresh})
	if strings.Contains(scrape(t, b), "gatehouse_refreshes_total 1") {
		t.Error("an event recorded on one Metrics shows on another")
	}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "gatehouse_") {
			t.Errorf("%s is registered globally", mf.GetName())
		}
	}
}

func TestSources(t *testing.T) {
	h := password.NewHasher(password.Options{Params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, MaxConcurrent: 3, MaxQueue: 7})
	if _, err := h.Hash(context.Background(), []byte("pw")); err != nil {
		t.Fatal(err)
	}
	alarm := true
	m := metrics.New(metrics.Sources{
		Hasher:         h,
		StuffingAlarm:  func() bool { return alarm },
		ActiveSessions: func(context.Context) (int, error) { return 42, nil },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx, time.Hour); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(scrape(t, m), "\ngatehouse_active_sessions 42\n") {
		if time.Now().After(deadline) {
			t.Fatal("active sessions never counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	wantLines(t, scrape(t, m),
		"gatehouse_hash_slots 3",
		"gatehouse_hash_queue_capacity 7",
		"gatehouse_hash_queue_depth 0",
		"gatehouse_hash_running 0",
		"gatehouse_hash_acquired_total 1",
		"gatehouse_hash_rejected_total 0",
		"gatehouse_credential_stuffing_alarm 1",
	)
}
