// Command loadgen drives the parts of bench/run.sh that wrk cannot: it
// registers users, holds many sessions and refreshes each with its current
// token (every refresh rotates it), floods the login route with concurrent
// logins, times a cold start and the cost of one argon2id hash.
//
//	loadgen users     -url U -n N                 register N bench users
//	loadgen token     -url U                      register a user, print its access token
//	loadgen refresh   -url U -sessions N -c C -d D   refreshes per second
//	loadgen flood     -url U -n N -users M        N logins at once over M users
//	loadgen coldstart -url U -- CMD ARGS...        ms from exec to the first 200 on /healthz
//	loadgen argon2    -n N [-parallel P]           ms per hash with the default parameters
//	loadgen verifycost -mode miss|raw|none -n N   first-seen verifications, for callgrind
//
// It talks to 127.0.0.1 only; it is a benchmark tool, not part of Gatehouse.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/password"
)

// Password is the password of every bench user.
const Password = "bench passphrase, long enough"

// Email returns the address of bench user i.
func Email(i int) string { return fmt.Sprintf("user%d@bench.test", i) }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen users|token|refresh|flood|coldstart|argon2|verifycost [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"users": runUsers, "token": runToken, "refresh": runRefresh,
		"flood": runFlood, "coldstart": runColdStart, "argon2": runArgon2,
		"verifycost": runVerifyCost,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "loadgen: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func client(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
			IdleConnTimeout: time.Minute,
		},
	}
}

// post sends a JSON body (or none) with cookie and returns the status and
// the cookies set.
func post(c *http.Client, url, body, cookie string) (int, map[string]string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	set := map[string]string{}
	for _, ck := range res.Cookies() {
		set[ck.Name] = ck.Value
	}
	return res.StatusCode, set, nil
}

func credentials(email string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": Password})
	return string(b)
}

// register creates user i (or logs in if it exists) and returns its cookies.
// A 503 (the hashing queue is full) is tried again a few times.
func register(c *http.Client, url string, i int) (map[string]string, error) {
	var st int
	var set map[string]string
	var err error
	for try := range 5 {
		st, set, err = post(c, url+"/auth/register", credentials(Email(i)), "")
		if err == nil && st == http.StatusConflict {
			st, set, err = post(c, url+"/auth/login", credentials(Email(i)), "")
		}
		if err != nil || st != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	if st == http.StatusTooManyRequests {
		return nil, fmt.Errorf("register %s: status 429: the server limits sign-ups per client address; raise throttle.registration.max_attempts in its policy, as bench/run.sh does", Email(i))
	}
	if st != http.StatusCreated && st != http.StatusOK {
		return nil, fmt.Errorf("register %s: status %d", Email(i), st)
	}
	return set, nil
}

// parallel runs f(0..n-1) on c goroutines and returns the first error.
func parallel(n, c int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

func runUsers(args []string) error {
	fs := flag.NewFlagSet("users", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server `URL`")
	n := fs.Int("n", 100, "how many users")
	fs.Parse(args)
	c := client(8)
	return parallel(*n, 8, func(i int) error { _, err := register(c, *url, i); return err })
}

func runToken(args []string) error {
	fs := flag.NewFlagSet("token", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server `URL`")
	fs.Parse(args)
	set, err := register(client(1), *url, 1_000_000)
	if err != nil {
		return err
	}
	fmt.Println(set["__Host-access"])
	return nil
}

// runRefresh logs in sessions times (as a handful of users), then has c
// workers refresh them for d, each always with the session's current
// refresh token, and prints refreshes per second.
func runRefresh(args []string) error {
	fs := flag.NewFlagSet("refresh", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server `URL`")
	sessions := fs.Int("sessions", 256, "sessions to hold")
	conc := fs.Int("c", 32, "concurrent requests")
	d := fs.Duration("d", 10*time.Second, "how long to refresh")
	fs.Parse(args)
	c := client(*conc)
	tokens := make([]string, *sessions)
	err := parallel(*sessions, 8, func(i int) error {
		set, err := register(c, *url, 2_000_000+i)
		tokens[i] = set["__Host-refresh"]
		return err
	})
	if err != nil {
		return err
	}
	var ok, failed atomic.Int64
	var lat []time.Duration
	var latMu sync.Mutex
	deadline := time.Now().Add(*d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range *conc {
		wg.Go(func() {
			var mine []time.Duration
			// Worker w owns sessions w, w+c, w+2c, ...: no two workers
			// ever present one session's token, so no refresh is a reuse.
			var own []int
			for i := w; i < *sessions; i += *conc {
				own = append(own, i)
			}
			if len(own) == 0 {
				return
			}
			for k := 0; time.Now().Before(deadline); k++ {
				i := own[k%len(own)]
				t0 := time.Now()
				st, set, err := post(c, *url+"/auth/refresh", "", "__Host-refresh="+tokens[i])
				if err != nil || st != http.StatusOK || set["__Host-refresh"] == "" {
					failed.Add(1)
					if st == http.StatusUnauthorized {
						fmt.Fprintf(os.Stderr, "refresh: session %d refused (status %d)\n", i, st)
						return
					}
					continue
				}
				mine = append(mine, time.Since(t0))
				tokens[i] = set["__Host-refresh"]
				ok.Add(1)
			}
			latMu.Lock()
			lat = append(lat, mine...)
			latMu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	p := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(q*float64(len(lat)-1))]
	}
	fmt.Printf("refreshes %d failed %d seconds %.2f rate %.1f p50 %v p99 %v\n",
		ok.Load(), failed.Load(), el.Seconds(), float64(ok.Load())/el.Seconds(), p(0.5).Round(time.Microsecond), p(0.99).Round(time.Microsecond))
	return nil
}

// runFlood sends n logins at once, spread over users bench users, and
// prints how many got each status.
func runFlood(args []string) error {
	fs := flag.NewFlagSet("flood", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server `URL`")
	n := fs.Int("n", 1000, "concurrent logins")
	users := fs.Int("users", 100, "bench users to log in as")
	fs.Parse(args)
	c := client(*n)
	var mu sync.Mutex
	status := map[int]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range *n {
		wg.Go(func() {
			<-start
			st, _, err := post(c, *url+"/auth/login", credentials(Email(i%*users)), "")
			if err != nil {
				st = -1
			}
			mu.Lock()
			status[st]++
			mu.Unlock()
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	fmt.Printf("logins %d in %.2fs statuses %v\n", *n, time.Since(t0).Seconds(), status)
	return nil
}

// runColdStart starts the command after "--", polls url/healthz every
// millisecond and prints the time from exec to the first 200; then it
// stops the server with SIGTERM.
func runColdStart(args []string) error {
	fs := flag.NewFlagSet("coldstart", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server `URL`")
	limit := fs.Duration("timeout", 10*time.Second, "give up after")
	log := fs.String("log", os.DevNull, "`file` for the server's output")
	fs.Parse(args)
	if fs.NArg() == 0 {
		return errors.New("coldstart: no command after --")
	}
	out, err := os.Create(*log)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	for ctx.Err() == nil {
		res, err := c.Get(*url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				fmt.Printf("coldstart_ms %.1f\n", float64(time.Since(t0).Microseconds())/1000)
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("coldstart: no 200 from %s/healthz within %v", *url, *limit)
}

// runArgon2 hashes n times one after another with the parameters the
// server uses by default and prints the mean time per hash. With
// -parallel P it runs P such loops at once and also prints how many hashes
// per second they did together: the machine's real hashing capacity, which
// is below P times the single rate when the hashes share memory bandwidth
// and caches.
func runArgon2(args []string) error {
	fs := flag.NewFlagSet("argon2", flag.ExitOnError)
	n := fs.Int("n", 20, "hashes per loop")
	par := fs.Int("parallel", 1, "loops at once")
	fs.Parse(args)
	h := password.NewHasher(password.Options{Params: password.DefaultParams(), MaxConcurrent: *par})
	pw := bytes.Repeat([]byte("x"), 24)
	if _, err := h.Hash(context.Background(), pw); err != nil { // warm up
		return err
	}
	t0 := time.Now()
	errs := make(chan error, *par)
	for range *par {
		go func() {
			for range *n {
				if _, err := h.Hash(context.Background(), pw); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range *par {
		if err := <-errs; err != nil {
			return err
		}
	}
	if *par > 1 {
		el := time.Since(t0)
		fmt.Printf("argon2_per_s %.1f argon2_ms %.2f\n", float64(*par**n)/el.Seconds(), float64(el.Microseconds())/1000/float64(*n))
		return nil
	}
	fmt.Printf("argon2_ms %.2f\n", float64(time.Since(t0).Microseconds())/1000/float64(*n))
	return nil
}
