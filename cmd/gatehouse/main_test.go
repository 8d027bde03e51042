package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is a gatehouse serve running in-process.
type server struct {
	url      string
	redirect string // address of the http redirect listener, if any
	done     chan error
	stop     context.CancelFunc

	once sync.Once
	err  error
}

// wait returns what serve returned, waiting for it to stop.
func (s *server) wait(t *testing.T) error {
	t.Helper()
	s.once.Do(func() {
		select {
		case s.err = <-s.done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return s.err
}

func getenvFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// startServe runs `gatehouse serve` with args and waits until it answers /healthz.
func startServe(t *testing.T, envv map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{done: make(chan error, 1), stop: cancel}
	go func() {
		s.done <- run(ctx, append([]string{"serve"}, args...), getenvFrom(envv), strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	urlc := make(chan string, 1)
	redirc := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if _, after, ok := strings.Cut(lines.Text(), "listening on "); ok {
				urlc <- after
			}
			if _, after, ok := strings.Cut(lines.Text(), "redirecting http://"); ok {
				redirc <- strings.TrimSuffix(after, " to https")
			}
		}
		close(urlc)
	}()
	select {
	case u, ok := <-urlc:
		if !ok {
			t.Fatalf("serve exited: %v", <-s.done)
		}
		s.url = u
	case err := <-s.done:
		t.Fatalf("serve exited: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not print its URL")
	}
	t.Cleanup(func() {
		cancel()
		if err := s.wait(t); err != nil {
			t.Errorf("serve returned %v after SIGTERM-like stop, want nil", err)
		}
	})
	if slices.Contains(args, "--http-redirect-addr") {
		select {
		case s.redirect = <-redirc:
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not print its redirect address")
		}
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for i := 0; ; i++ {
		res, err := client.Get(s.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if i > 100 {
			t.Fatal("server never became healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

type jar map[string]string

func (j jar) header() string {
	var parts []string
	for k, v := range j {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, "; ")
}

func call(t *testing.T, j jar, method, url, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, _ := http.NewRequest(method, url, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if len(j) > 0 {
		r.Header.Set("Cookie", j.header())
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(j, c.Name)
		} else {
			j[c.Name] = c.Value
		}
	}
	return res, string(b)
}

func TestServeEndToEnd(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", data)
	for _, f := range []string{"gatehouse.db", "master.key"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Fatalf("first start did not create %s: %v", f, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(data, "master.key")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("master.key mode = %v, want 0600", fi.Mode().Perm())
	}
	j := jar{}
	res, body := call(t, j, "POST", s.url+"/auth/register", `{"email":"alice@example.org","password":"correct horse battery staple"}`)
	if res.StatusCode != 201 {
		t.Fatalf("register: %d %s", res.StatusCode, body)
	}
	res, body = call(t, j, "GET", s.url+"/api/protected", "")
	if res.StatusCode != 200 || !strings.Contains(body, "Access granted") {
		t.Fatalf("protected: %d %s", res.StatusCode, body)
	}
	res, _ = call(t, j, "POST", s.url+"/auth/logout", "")
	if res.StatusCode != 204 || len(j) != 0 {
		t.Fatalf("logout: %d, cookies left %v", res.StatusCode, j)
	}
	res, _ = call(t, j, "GET", s.url+"/api/protected", "")
	if res.StatusCode != 401 {
		t.Fatalf("protected after logout: %d", res.StatusCode)
	}
}

// TestServeRegistrationLimit checks that serve applies the policy's
// throttle.registration to sign-ups (I-10): the third from one address
// within the hour is a 429 with Retry-After.
func TestServeRegistrationLimit(t *testing.T) {
	cfg := writeConfig(t, "throttle: {registration: {max_attempts: 2, window: 1h}}\n")
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--config", cfg, "--admin-addr", "")
	for i := range 3 {
		res, body := call(t, jar{}, "POST", s.url+"/auth/register", fmt.Sprintf(`{"email":"u%d@example.org","password":"correct horse battery staple"}`, i))
		want := 201
		if i == 2 {
			want = 429
		}
		if res.StatusCode != want {
			t.Fatalf("sign-up %d: %d %s, want %d", i+1, res.StatusCode, body, want)
		}
		if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); want == 429 && (err != nil || secs < 1 || secs > 3600) {
			t.Fatalf("Retry-After = %q, want 1..3600 seconds", res.Header.Get("Retry-After"))
		}
	}
}

func TestServeRefusesPlainHTTPOnPublicAddress(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8080", "[::]:0"} {
		err := run(context.Background(), []string{"serve", "--addr", addr, "--data", t.TempDir()}, getenvFrom(nil), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "refusing to serve plain HTTP") {
			t.Errorf("serve --addr %s: err = %v, want a refusal that says why", addr, err)
		}
	}
}

func TestServeEnvironment(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_DATA": data})
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") {
		t.Fatalf("url = %q", s.url)
	}
	if _, err := os.Stat(filepath.Join(data, "gatehouse.db")); err != nil {
		t.Fatal("GATEHOUSE_DATA not used")
	}
}

func TestUserAddReadsPasswordFromStdin(t *testing.T) {
	data := t.TempDir()
	var out strings.Builder
	err := run(context.Background(), []string{"user", "add", "--email", "Op@Example.org", "--data", data}, getenvFrom(nil), strings.NewReader("an operator passphrase\n"), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "created user op@example.org") {
		t.Fatalf("output %q", out.String())
	}
	err = run(context.Background(), []string{"user", "add", "--email", "weak@example.org", "--data", data}, getenvFrom(nil), strings.NewReader("123\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("weak password: err = %v", err)
	}
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", data)
	res, body := call(t, jar{}, "POST", s.url+"/auth/login", `{"email":"op@example.org","password":"an operator passphrase"}`)
	if res.StatusCode != 200 {
		t.Fatalf("login as added user: %d %s", res.StatusCode, body)
	}
}

func TestVersion(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"version"}, getenvFrom(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "gatehouse ") {
		t.Fatalf("version output %q", out.String())
	}
}

func TestPolicyFileErrorsStopStart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.yaml")
	os.WriteFile(cfg, []byte("tokens:\n  acces_ttl: 10m\n"), 0o600)
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--config", cfg}, getenvFrom(nil), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "tokens.acces_ttl") {
		t.Fatalf("err = %v, want the key and line named", err)
	}
}

func TestMasterKeyErrors(t *testing.T) {
	data := t.TempDir()
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	s := startServe(t, map[string]string{"GATEHOUSE_MASTER_KEY": key}, "--addr", "127.0.0.1:0", "--data", data)
	s.stop()
	s.wait(t)

	other := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 32)))
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", data}, getenvFrom(map[string]string{"GATEHOUSE_MASTER_KEY": other}), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "wrong master key") {
		t.Fatalf("wrong master key: err = %v", err)
	}
	// No master.key file and no variable, but a database exists: never a silent new key.
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", data}, getenvFrom(nil), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "master.key is missing") {
		t.Fatalf("missing master key: err = %v", err)
	}
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, getenvFrom(map[string]string{"GATEHOUSE_MASTER_KEY": "c2hvcnQ="}), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_MASTER_KEY must be") {
		t.Fatalf("short master key: err = %v", err)
	}
}

// startServeTLS is startServe for https servers.
func startServeTLS(t *testing.T, args ...string) *server {
	t.Helper()
	return startServe(t, nil, args...)
}
