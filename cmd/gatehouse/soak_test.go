package main

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSoak runs a bounded mixed workload (logins, protected calls,
// refreshes, logouts and some rejected calls from several clients) for
// GATEHOUSE_SOAK (a duration such as 30s or 5m; unset skips the test, so
// that `go test ./...` stays fast). Against the real binary it asserts no
// 5xx and no failed request, and that the server's RSS and thread count
// stop growing: their peaks over the last quarter of the run are within a
// tolerance of their peaks over the second. In-process, for a third of the
// duration, it asserts that the goroutine count returns to its baseline
// and that the live heap grows by no more than the bounded caches explain.
func TestSoak(t *testing.T) {
	v := os.Getenv("GATEHOUSE_SOAK")
	if v == "" {
		t.Skip("set GATEHOUSE_SOAK to a duration (30s in CI, 5m for the documented run) to soak")
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 8*time.Second {
		t.Fatalf("GATEHOUSE_SOAK=%q: want a duration of at least 8s", v)
	}
	t.Run("binary", func(t *testing.T) { soakBinary(t, d) })
	t.Run("in-process", func(t *testing.T) { soakInProcess(t, max(d/3, 8*time.Second)) })
}

const soakClients = 8

func soakBinary(t *testing.T, d time.Duration) {
	p := startProc(t, nil, "--data", t.TempDir())
	type sample struct {
		at float64 // fraction of the run
		procStatus
	}
	var (
		mu      sync.Mutex
		samples []sample
	)
	start := time.Now()
	res := soakWorkload(t, p.url, "bin", d, func() {
		s, err := readProcStatus(p.pid())
		if err != nil {
			t.Errorf("read /proc: %v", err)
			return
		}
		mu.Lock()
		samples = append(samples, sample{float64(time.Since(start)) / float64(d), s})
		mu.Unlock()
	})
	peak := func(from, to float64) procStatus {
		var m procStatus
		for _, s := range samples {
			if s.at >= from && s.at <= to {
				m.RSSKiB = max(m.RSSKiB, s.RSSKiB)
				m.Threads = max(m.Threads, s.Threads)
			}
		}
		return m
	}
	mid, end := peak(0.25, 0.5), peak(0.75, 1.01)
	// The peak of each tenth of the run, for the record in RELIABILITY.md:
	// a plateau shows as equal figures from some tenth on.
	var series []string
	for i := range 10 {
		p := peak(float64(i)/10, float64(i+1)/10)
		series = append(series, fmt.Sprintf("%d", p.RSSKiB>>10))
	}
	t.Logf("binary: peak RSS per tenth of the run (MiB): %s", strings.Join(series, " "))
	t.Logf("binary, %v, %d clients: %s; peak RSS %d MiB (25-50%%) then %d MiB (75-100%%); peak threads %d then %d; %d samples",
		d, soakClients, res, mid.RSSKiB>>10, end.RSSKiB>>10, mid.Threads, end.Threads, len(samples))
	res.check(t)
	// Argon2id buffers (19 MiB each) and the bounded caches make RSS
	// noisy; a leak shows as growth well past that noise.
	if limit := mid.RSSKiB + mid.RSSKiB/4 + 16<<10; end.RSSKiB > limit {
		t.Errorf("RSS still growing: peak %d KiB in the second quarter, %d KiB in the last (limit %d)", mid.RSSKiB, end.RSSKiB, limit)
	}
	if end.Threads > mid.Threads+8 {
		t.Errorf("threads still growing: %d in the second quarter, %d in the last", mid.Threads, end.Threads)
	}
	if code, err := p.terminate(30 * time.Second); err != nil || code != 0 {
		t.Errorf("SIGTERM after the soak: exit code %d, %v", code, err)
	}
}

func soakInProcess(t *testing.T, d time.Duration) {
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	settle := func(target int) int {
		var n int
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if n = runtime.NumGoroutine(); n <= target {
				break
			}
		}
		return n
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	// A short warm-up first: connections, pools and caches reach their
	// working size, and the baselines are taken with every client gone.
	soakWorkload(t, s.url, "warm", min(d/4, 5*time.Second), nil).check(t)
	base := settle(0)
	heap0 := heap()
	res := soakWorkload(t, s.url, "inproc", d, nil)
	after := settle(base + 2)
	heap1 := heap()
	perRequest := (float64(heap1) - float64(heap0)) / float64(res.requests)
	t.Logf("in-process, %v, %d clients: %s; goroutines %d before, %d after; live heap %d KiB before, %d KiB after (%.0f bytes per request)",
		d, soakClients, res, base, after, heap0>>10, heap1>>10, perRequest)
	res.check(t)
	if after > base+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines grew from %d to %d:\n%s", base, after, buf[:runtime.Stack(buf, true)])
	}
	// The live heap may grow by what the bounded caches hold: accepted
	// tokens (at most 32768), sessions seen alive (at most 100000) and
	// revocations (for the access-token lifetime). That is a few hundred
	// bytes per request until they fill; a leak of a goroutine or a buffer
	// per request is several KiB.
	if perRequest > 2048 {
		t.Errorf("live heap grew by %.0f bytes per request (%d KiB to %d KiB over %d requests), more than the bounded caches explain", perRequest, heap0>>10, heap1>>10, res.requests)
	}
}

// soakResult counts the answers of a workload.
type soakResult struct {
	mu         sync.Mutex
	counts     map[string]int // "op status" -> n
	failures   []string
	requests   int
	throughput float64
}

func (r *soakResult) record(op string, rep reply, err error, want int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err != nil {
		r.counts[op+" error"]++
		if len(r.failures) < 20 {
			r.failures = append(r.failures, fmt.Sprintf("%s: %v", op, err))
		}
		return false
	}
	r.counts[fmt.Sprintf("%s %d", op, rep.status)]++
	if rep.status != want {
		if len(r.failures) < 20 {
			r.failures = append(r.failures, fmt.Sprintf("%s: %d, want %d: %.200s", op, rep.status, want, rep.body))
		}
		return false
	}
	return true
}

func (r *soakResult) String() string {
	keys := slices.Sorted(maps.Keys(r.counts))
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests (%.0f/s):", r.requests, r.throughput)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s×%d", k, r.counts[k])
	}
	return b.String()
}

func (r *soakResult) check(t *testing.T) {
	t.Helper()
	for k, n := range r.counts {
		if strings.HasSuffix(k, " error") || strings.Contains(k, " 5") {
			t.Errorf("%d × %s", n, k)
		}
	}
	for _, f := range r.failures {
		t.Errorf("unexpected answer: %s", f)
	}
}

// soakWorkload runs soakClients clients against base for d: each registers,
// then logs in, makes thirty calls (protected reads, a refresh every ten,
// a forged cookie now and then) and logs out, over and over. tick, if not
// nil, is called every 500ms.
func soakWorkload(t *testing.T, base, tag string, d time.Duration, tick func()) *soakResult {
	t.Helper()
	res := &soakResult{counts: map[string]int{}}
	deadline := time.Now().Add(d)
	done := make(chan struct{})
	if tick != nil {
		go func() {
			tk := time.NewTicker(500 * time.Millisecond)
			defer tk.Stop()
			for {
				tick()
				select {
				case <-done:
					return
				case <-tk.C:
				}
			}
		}()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range soakClients {
		wg.Go(func() {
			c := newGClient(base, fmt.Sprintf("soak-%s-%d-%s@example.org", tag, i, randomHexString(3)))
			defer c.http.CloseIdleConnections()
			if r, err := c.do("POST", "/auth/register", c.credentials()); !res.record("register", r, err, 201) {
				return
			}
			for time.Now().Before(deadline) {
				r, err := c.do("POST", "/auth/login", c.credentials())
				if !res.record("login", r, err, 200) {
					return
				}
				access, refresh := r.access, r.refresh
				for j := 0; j < 30 && time.Now().Before(deadline); j++ {
					switch {
					case j%10 == 9:
						r, err := c.do("POST", "/auth/refresh", "", refreshCookie(refresh))
						if !res.record("refresh", r, err, 200) {
							return
						}
						access, refresh = r.access, r.refresh
					case j%10 == 4:
						r, err := c.do("GET", "/api/protected", "", accessCookie(forge(access)))
						res.record("forged", r, err, 401)
					case j%3 == 0:
						r, err := c.do("GET", "/auth/me", "", accessCookie(access))
						res.record("me", r, err, 200)
					default:
						r, err := c.do("GET", "/api/protected", "", accessCookie(access))
						res.record("protected", r, err, 200)
					}
				}
				r, err = c.do("POST", "/auth/logout", "", accessCookie(access), refreshCookie(refresh))
				res.record("logout", r, err, 204)
			}
		})
	}
	wg.Wait()
	close(done)
	res.throughput = float64(res.requests) / time.Since(start).Seconds()
	return res
}

// forge changes one character in the middle of a token's signature.
func forge(tok string) string {
	b := []byte(tok)
	i := len(b) - 20
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
