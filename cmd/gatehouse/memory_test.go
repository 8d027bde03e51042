package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestI04MemoryUnderLoginFlood measures the peak resident memory (VmHWM) of
// a real `gatehouse serve` process, built without the race detector and
// running the default argon2id parameters (19 MiB a hash), while 1,000
// logins arrive at once, each from its own client address (through a
// trusted proxy header, so that the per-address limit does not stop them
// before hashing) and for its own account, so that every one wants a hash.
// The peak must stay under 256 MiB: the hashing pool runs a bounded number
// of hashes, queues a bounded number of callers and answers everyone else
// 503 with Retry-After at once (SECURITY-CASES I-04).
//
// It takes a minute and a quiet machine, so it runs only when asked:
//
//	GATEHOUSE_MEMORY_TEST=1 go test -run TestI04MemoryUnderLoginFlood -v ./cmd/gatehouse
//
// The figures go to docs/PERFORMANCE.md.
func TestI04MemoryUnderLoginFlood(t *testing.T) {
	if os.Getenv("GATEHOUSE_MEMORY_TEST") == "" {
		t.Skip("set GATEHOUSE_MEMORY_TEST=1 to measure the peak RSS under a login flood")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads VmHWM from /proc")
	}
	bin := filepath.Join(t.TempDir(), "gatehouse")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		name   string
		policy string
	}{
		// The default pool: one hash per CPU, at most 3 (64 MiB).
		{"default policy", ""},
		// What the default gives a machine with 3 or more CPUs, forced
		// here whatever this machine has.
		{"three hashes at once", "passwords: {max_concurrent: 3}\n"},
	} {
		t.Run(tt.name, func(t *testing.T) { loginFlood(t, bin, tt.policy, 1000) })
	}
}

func loginFlood(t *testing.T, bin, extraPolicy string, n int) {
	data := t.TempDir()
	cfg := filepath.Join(data, "gatehouse.yaml")
	pol := "transport: {trusted_proxies: [127.0.0.1]}\n" + extraPolicy
	if err := os.WriteFile(cfg, []byte(pol), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--config", cfg, "--admin-addr", "")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, after, ok := strings.Cut(sc.Text(), "listening on "); ok {
				urlc <- after
			}
		}
	}()
	var base string
	select {
	case base = <-urlc:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	pid := cmd.Process.Pid
	idle := procStatusKiB(t, pid, "VmRSS")

	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, MaxIdleConnsPerHost: -1}}
	type result struct {
		status     int
		retryAfter string
		took       time.Duration
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"email":"flood%d@example.org","password":"flood password %d"}`, i, i)
			req, _ := http.NewRequest("POST", base+"/auth/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
			<-start
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				results[i] = result{status: -1, took: time.Since(t0)}
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			results[i] = result{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), took: time.Since(t0)}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	peak := procStatusKiB(t, pid, "VmHWM")

	counts := map[int]int{}
	var fast503 []time.Duration
	for _, r := range results {
		counts[r.status]++
		if r.status == http.StatusServiceUnavailable {
			if r.retryAfter == "" {
				t.Errorf("a 503 without Retry-After")
			}
			fast503 = append(fast503, r.took)
		}
	}
	slices.Sort(fast503)
	median := time.Duration(0)
	if len(fast503) > 0 {
		median = fast503[len(fast503)/2]
	}
	t.Logf("%d concurrent logins in %v: statuses %v; 503 median latency %v; RSS idle %d MiB, peak (VmHWM) %d MiB; GOMAXPROCS of this machine %d",
		n, elapsed.Round(time.Millisecond), counts, median, idle>>10, peak>>10, runtime.NumCPU())
	if counts[-1] > 0 {
		t.Errorf("%d logins got no answer", counts[-1])
	}
	if counts[http.StatusUnauthorized] == 0 {
		t.Error("no login was answered 401: nothing was hashed")
	}
	if counts[http.StatusServiceUnavailable] == 0 {
		t.Error("no login was answered 503: the queue never filled")
	}
	if limit := 256 << 10; peak >= limit {
		t.Errorf("peak RSS %d MiB, want under 256 MiB", peak>>10)
	}
}

// procStatusKiB returns a "kB" field of /proc/pid/status, in KiB.
func procStatusKiB(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
