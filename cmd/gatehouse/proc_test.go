package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The reliability tests (crash, shutdown, soak) run the real binary, so
// that SIGKILL and SIGTERM hit a real process: buildGatehouse builds it
// once per test run.
var built struct {
	once sync.Once
	path string
	err  error
}

// TestMain removes the binary buildGatehouse made, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}

func buildGatehouse(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "gatehouse")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			goTool = "go"
		}
		out, err := exec.Command(goTool, "build", "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// proc is a gatehouse serve process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited
	state  *os.ProcessState
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 4<<20 { // keep the start and stop lines, not an unbounded log
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProc starts `gatehouse serve --addr 127.0.0.1:0 args...` with the
// environment env (nothing of the test's own), waits until it prints its
// URL and answers /healthz, and kills it when the test ends if it is still
// running.
func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	bin := buildGatehouse(t)
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	p := &proc{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.stdout.Write([]byte(line + "\n"))
			if _, after, ok := strings.Cut(line, "listening on "); ok {
				urlc <- after
			}
		}
		io.Copy(p.stdout, out)
		cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case p.url = <-urlc:
	case <-p.done:
		t.Fatalf("gatehouse serve exited at start (%v):\n%s", p.state, p.stderr)
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatalf("gatehouse serve did not print its URL within a minute:\n%s", p.stderr)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		res, err := c.Get(p.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("gatehouse serve never became healthy: %v", err)
		}
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// terminate sends SIGTERM and returns the exit code, or an error when the
// process is not gone within wait.
func (p *proc) terminate(wait time.Duration) (int, error) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	return p.wait(wait)
}

func (p *proc) wait(wait time.Duration) (int, error) {
	select {
	case <-p.done:
		return p.state.ExitCode(), nil
	case <-time.After(wait):
		return 0, errors.New("the process did not exit")
	}
}

// procStatus is what /proc/<pid>/status says of a process's memory and threads.
type procStatus struct {
	RSSKiB  int
	Threads int
}

func readProcStatus(pid int) (procStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStatus{}, err
	}
	var s procStatus
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		switch k {
		case "VmRSS":
			s.RSSKiB = n
		case "Threads":
			s.Threads = n
		}
	}
	return s, nil
}

// gclient is one API client: its own connections and its own cookies.
// Cookies are kept by hand: they are Secure, and the server is plain HTTP
// on loopback, where a cookie jar would not send them.
type gclient struct {
	http            *http.Client
	base            string
	email           string
	access, refresh string
}

func newGClient(base, email string) *gclient {
	return &gclient{
		http:  &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}},
		base:  base,
		email: email,
	}
}

// reply is the outcome of one call: the status, and the cookies it set
// ("" when it did not set one).
type reply struct {
	status          int
	access, refresh string
	body            string
}

// do sends one request with the given cookies (name=value strings) and
// reads the whole response. An error means no response was received.
func (c *gclient) do(method, path, body string, cookies ...string) (reply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	var cs []string
	for _, ck := range cookies {
		if !strings.HasSuffix(ck, "=") {
			cs = append(cs, ck)
		}
	}
	if len(cs) > 0 {
		r.Header.Set("Cookie", strings.Join(cs, "; "))
	}
	res, err := c.http.Do(r)
	if err != nil {
		return reply{}, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return reply{}, err
	}
	out := reply{status: res.StatusCode, body: string(b)}
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			continue
		}
		switch ck.Name {
		case "__Host-access":
			out.access = ck.Value
		case "__Host-refresh":
			out.refresh = ck.Value
		}
	}
	return out, nil
}

// doHashing is do for a request that waits for the password hasher
// (register, login): a 503 says the hashing queue was full and nothing was
// done, so it is retried a few times, as a client honouring Retry-After
// would. Crash and shutdown are the subject of these tests, not capacity.
func (c *gclient) doHashing(method, path, body string) (reply, error) {
	for i := 0; ; i++ {
		r, err := c.do(method, path, body)
		if err != nil || r.status != 503 || i == 4 {
			return r, err
		}
		time.Sleep(time.Second)
	}
}

const reliabilityPassword = "correct horse battery staple"

func (c *gclient) credentials() string {
	return `{"email":"` + c.email + `","password":"` + reliabilityPassword + `"}`
}

func accessCookie(v string) string  { return "__Host-access=" + v }
func refreshCookie(v string) string { return "__Host-refresh=" + v }
