package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// The services the tests use unless the variables name others.
const (
	defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	defaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// env is what TestMain found: the binary, the services, or why the tests
// cannot run.
var env struct {
	bin      string // the gatehouse binary
	database string // the PostgreSQL server, as configured
	redis    string
	skip     string
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	env.database = getenvOr("GATEHOUSE_TEST_DATABASE_URL", defaultDatabaseURL)
	env.redis = getenvOr("GATEHOUSE_TEST_REDIS_URL", defaultRedisURL)
	if err := reachable(); err != nil {
		env.skip = fmt.Sprintf("skipping the end-to-end tests: %v; start PostgreSQL on 127.0.0.1:5432 (database \"test\", user postgres) and Redis on 127.0.0.1:6379, or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL", err)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "gatehouse-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	env.bin = filepath.Join(dir, "gatehouse")
	build := exec.Command(goTool(), "build", "-o", env.bin, "github.com/gatehouse/gatehouse/cmd/gatehouse")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gatehouse: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func getenvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// goTool is the go command that runs these tests.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// reachable checks that PostgreSQL and Redis answer.
func reachable() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, env.database)
	if err != nil {
		return fmt.Errorf("PostgreSQL is not reachable (%v)", err)
	}
	conn.Close(ctx)
	opts, err := redis.ParseURL(env.redis)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("Redis is not reachable (%v)", err)
	}
	return nil
}

// needServices skips t when PostgreSQL or Redis is missing, or fails it
// when CI is set: there these tests must run.
func needServices(t *testing.T) {
	t.Helper()
	if env.skip == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", env.skip)
	}
	t.Skip(env.skip)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freshDatabase creates an empty database, dropped when the test ends, and
// returns its URL.
func freshDatabase(t *testing.T) string {
	t.Helper()
	name := "gatehouse_e2e_" + randomHex(6)
	admin, err := pgx.Connect(t.Context(), env.database)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(t.Context(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, env.database)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(env.database)
	if err != nil {
		t.Skipf("GATEHOUSE_TEST_DATABASE_URL must be a postgres:// URL for these tests: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// freshRedisPrefix returns a key prefix of the test's own on the Redis at
// redisURL; its keys are deleted when the test ends.
func freshRedisPrefix(t *testing.T, redisURL string) string {
	t.Helper()
	prefix := "gatehouse-e2e:" + randomHex(6) + ":"
	t.Cleanup(func() {
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			return
		}
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = rdb.Del(ctx, keys...).Err()
		}
		if err != nil && !t.Failed() {
			t.Logf("delete Redis keys under %s: %v", prefix, err)
		}
	})
	return prefix
}

// policyYAML is the policy every instance of a deployment shares. The
// issuer must be fixed: derived from each instance's own address, tokens of
// one instance would be refused by the other.
const policyYAML = `issuer: "https://auth.e2e.test"
throttle:
  account: {max_failures: 5, window: 15m}
  ip: {max_failures: 50, window: 15m}
`

// deployment is what the instances of one deployment share.
type deployment struct {
	databaseURL string
	redisURL    string // empty: no Redis
	redisPrefix string
	masterKey   string
	policy      string // file
}

// newDeployment returns a deployment on a fresh database and, with
// redisURL, a fresh prefix on that Redis.
func newDeployment(t *testing.T, redisURL string) *deployment {
	t.Helper()
	needServices(t)
	d := &deployment{databaseURL: freshDatabase(t), redisURL: redisURL}
	if redisURL != "" {
		d.redisPrefix = freshRedisPrefix(t, redisURL)
	}
	key := make([]byte, 32)
	rand.Read(key)
	d.masterKey = base64.StdEncoding.EncodeToString(key)
	d.policy = filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(d.policy, []byte(policyYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// instance is one running `gatehouse serve` process.
type instance struct {
	name string
	url  string
	cmd  *exec.Cmd
	logs *syncBuffer
}

// start runs an instance of d and waits until it answers /healthz. The
// revocation poll is a minute apart, far longer than any wait in these
// tests, so that a revocation seen within a second was carried by the
// broadcast (Redis or LISTEN/NOTIFY).
func (d *deployment) start(t *testing.T, name string, databaseURL string) *instance {
	t.Helper()
	if databaseURL == "" {
		databaseURL = d.databaseURL
	}
	cmd := exec.Command(env.bin, "serve", "--addr", "127.0.0.1:0", "--config", d.policy, "--sync-interval", "1m")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{
		"GATEHOUSE_DATABASE_URL=" + databaseURL,
		"GATEHOUSE_MASTER_KEY=" + d.masterKey,
		"GATEHOUSE_DATA=" + filepath.Join(cmd.Dir, "data"),
	}
	if d.redisURL != "" {
		cmd.Env = append(cmd.Env, "GATEHOUSE_REDIS_URL="+d.redisURL, "GATEHOUSE_REDIS_PREFIX="+d.redisPrefix)
	}
	in := &instance{name: name, cmd: cmd, logs: &syncBuffer{}}
	cmd.Stderr = in.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() { in.stop(t, exited) })
	urlc := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if _, after, ok := strings.Cut(lines.Text(), "listening on "); ok {
				urlc <- after
			}
		}
		cmd.Wait()
		close(exited)
	}()
	select {
	case in.url = <-urlc:
	case <-exited:
		t.Fatalf("%s exited at start:\n%s", name, in.logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not print its URL:\n%s", name, in.logs)
	}
	for i := 0; ; i++ {
		res, err := http.Get(in.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if i > 200 {
			t.Fatalf("%s never became healthy:\n%s", name, in.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return in
}

// stop ends the instance as an orchestrator would, with SIGTERM, and shows
// its log if the test failed.
func (in *instance) stop(t *testing.T, exited <-chan struct{}) {
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		in.cmd.Process.Kill()
		<-exited
		t.Errorf("%s did not stop within 10s of SIGTERM", in.name)
	}
	if t.Failed() {
		t.Logf("log of %s:\n%s", in.name, in.logs)
	}
}

// syncBuffer is a bytes.Buffer safe for a process to write while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jar holds a client's cookies by name, as the browser would send them.
type jar map[string]string

func (j jar) header() string {
	var parts []string
	for k, v := range j {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, "; ")
}

func (j jar) clone() jar {
	c := jar{}
	for k, v := range j {
		c[k] = v
	}
	return c
}

// response is what a call returned.
type response struct {
	status int
	header http.Header
	body   string
}

// client has no cookie jar of its own and a timeout, so that a hung server
// fails the test instead of hanging it.
var client = &http.Client{Timeout: 10 * time.Second}

// call sends a request as a non-browser client (no Origin header) with the
// cookies of j, and stores the cookies the answer sets or clears in j.
func call(t *testing.T, j jar, method, url, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if len(j) > 0 {
		r.Header.Set("Cookie", j.header())
	}
	res, err := client.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if j != nil {
		for _, c := range res.Cookies() {
			if c.MaxAge < 0 {
				delete(j, c.Name)
			} else {
				j[c.Name] = c.Value
			}
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// want fails t unless r has the status.
func want(t *testing.T, what string, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
}

// credentials is the JSON body of a registration or login.
func credentials(email, password string) string {
	return fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
}

const password = "correct horse battery staple"

// waitStatus polls GET path on in with j's cookies until it answers status,
// and returns how long that took, failing t after limit.
func waitStatus(t *testing.T, in *instance, j jar, path string, status int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := call(t, j.clone(), "GET", in.url+path, "")
		if r.status == status {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("GET %s on %s: still %d after %v, want %d; body %s", path, in.name, r.status, limit, status, r.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
