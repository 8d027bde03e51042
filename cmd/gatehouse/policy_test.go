package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite docs/SECURITY-POLICY.md from the default policy")

// runPolicyCmd runs `gatehouse policy args...` and returns its output and error.
func runPolicyCmd(t *testing.T, envv map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"policy"}, args...), getenvFrom(envv), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func exitCode(err error) int {
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	default:
		return 2
	}
}

func TestPolicyCheckDefault(t *testing.T) {
	out, _, err := runPolicyCmd(t, nil, "check")
	if err != nil {
		t.Fatalf("policy check on the defaults: %v\n%s", err, out)
	}
	if !strings.HasSuffix(out, "0 errors, 0 warnings, 3 notes\n") {
		t.Errorf("output does not end with the summary:\n%s", out)
	}
}

func TestPolicyCheckErrors(t *testing.T) {
	cfg := writeConfig(t, "# a dangerous policy\ncookies: {same_site: none}\ntokens:\n  access_ttl: 48h\n")
	out, _, err := runPolicyCmd(t, nil, "check", "--config", cfg)
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit status %d (err %v), want 1", code, err)
	}
	for _, want := range []string{
		"error: cookies.same_site (" + cfg + " line 2): same_site is none with no reason given",
		"[cookies.same_site.none]",
		`reference: RFC 6265bis "The SameSite Attribute"; ASVS 3.3.2`,
		"error: tokens.access_ttl (" + cfg + " line 4): access tokens live 48h",
		"[tokens.access_ttl.too_long]",
		"    why: A stolen access token is a bearer credential",
		"reference: RFC 9700 §4.10",
		"2 errors, 0 warnings, 3 notes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Errors come first.
	if !strings.HasPrefix(out, "error: ") {
		t.Errorf("output does not start with an error:\n%s", out)
	}
}

func TestPolicyCheckContext(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		want    []string
		notWant []string
	}{
		{"public plain http", nil, []string{"--addr", "0.0.0.0:8080"}, 1,
			[]string{"error: --addr: plain HTTP on 0.0.0.0:8080", "[transport.plain_http]"}, nil},
		{"public address from the environment", map[string]string{"GATEHOUSE_ADDR": "192.0.2.1:80"}, nil, 1,
			[]string{"plain HTTP on 192.0.2.1:80"}, nil},
		{"dev tls", nil, []string{"--addr", "0.0.0.0:8443", "--dev-tls"}, 0,
			[]string{"warning: --dev-tls: the self-signed development certificate is in use", "https://0.0.0.0:8443"},
			[]string{"[transport.plain_http]"}},
		{"real tls", nil, []string{"--addr", "0.0.0.0:8443", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, 0,
			nil, []string{"[transport.dev_tls]", "[transport.plain_http]"}},
		{"master key from the environment", map[string]string{"GATEHOUSE_MASTER_KEY": "c2VjcmV0"}, nil, 0,
			[]string{"0 errors, 0 warnings, 2 notes"}, []string{"[secrets.master_key.file]", "c2VjcmV0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runPolicyCmd(t, tt.env, append([]string{"check"}, tt.args...)...)
			if code := exitCode(err); code != tt.code {
				t.Fatalf("exit status %d (err %v), want %d\n%s", code, err, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestPolicyCommandErrors(t *testing.T) {
	cfg := writeConfig(t, "tokens:\n  acces_ttl: 10m\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "want a subcommand"},
		{[]string{"lint"}, `unknown subcommand "lint"`},
		{[]string{"check", "--config", cfg}, "line 2: tokens.acces_ttl: unknown key"},
		{[]string{"check", "--tls-cert", "c.pem"}, "go together"},
		{[]string{"doc", "--format", "pdf"}, `unknown document format "pdf"`},
		{[]string{"show", "extra"}, `unexpected argument "extra"`},
	} {
		_, _, err := runPolicyCmd(t, nil, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err) != 2 {
			t.Errorf("policy %v: err = %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
}

func TestPolicyShow(t *testing.T) {
	cfg := writeConfig(t, "tokens:\n  access_ttl: 5m\n")
	secret := "c2VjcmV0LXZhbHVlLW5ldmVyLXByaW50ZWQtYW55d2hlcmUh"
	out, _, err := runPolicyCmd(t, map[string]string{"GATEHOUSE_MASTER_KEY": secret, "GATEHOUSE_ADDR": "127.0.0.1:9000"},
		"show", "--config", cfg, "--data", "/srv/gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, secret) {
		t.Fatalf("show printed the master key:\n%s", out)
	}
	fields := make(map[string][]string)
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 0 {
			fields[f[0]] = f[1:]
		}
	}
	for key, want := range map[string]string{
		"tokens.access_ttl": "5m " + cfg + " line 2",
		"tokens.leeway":     "30s default",
		"issuer":            `"" default (serve derives it from the listen address)`,
		"addr":              "127.0.0.1:9000 GATEHOUSE_ADDR",
		"data":              "/srv/gatehouse --data",
		"config":            cfg + " --config",
		"dev-tls":           "false default",
		"master":            "key (set, redacted) GATEHOUSE_MASTER_KEY",
	} {
		if got := strings.Join(fields[key], " "); got != want {
			t.Errorf("%s: got %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"cookies.same_site_none_reason", "transport.hsts_max_age"} {
		if fields[key] == nil {
			t.Errorf("show lacks %s:\n%s", key, out)
		}
	}
}

func TestPolicyDoc(t *testing.T) {
	cfg := writeConfig(t, "cookies:\n  same_site: strict\n")
	md, _, err := runPolicyCmd(t, nil, "doc", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Gatehouse security policy\n", "| `cookies.same_site` | `\"strict\"` | file line 2 |", "`SameSite=Strict`", ". Rules checked\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	html, _, err := runPolicyCmd(t, nil, "doc", "--config", cfg, "--format", "html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(html, "<!DOCTYPE html>") || !strings.Contains(html, "</html>") || strings.Contains(html, "<script") {
		t.Errorf("html is not a complete script-free page:\n%.300s", html)
	}
	if !strings.Contains(html, "<td><code>cookies.same_site</code></td><td><code>&#34;strict&#34;</code></td><td>file line 2</td>") {
		t.Errorf("html lacks the value row of cookies.same_site")
	}
}

// TestSecurityPolicyDocument keeps docs/SECURITY-POLICY.md, the document of
// the default policy, in step with the code.
func TestSecurityPolicyDocument(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "SECURITY-POLICY.md")
	got, _, err := runPolicyCmd(t, nil, "doc")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s is out of date with the default policy and the checks; regenerate it with\n"+
			"\tgo generate ./cmd/gatehouse\n"+
			"(which runs: go test ./cmd/gatehouse -run TestSecurityPolicyDocument -update), or with\n"+
			"\tgo run ./cmd/gatehouse policy doc > docs/SECURITY-POLICY.md\n"+
			"with no GATEHOUSE_* variables set, and commit the result", path)
	}
}

func TestServeRefusesErrorPolicy(t *testing.T) {
	for _, tt := range []struct {
		policy, rule, line string
	}{
		{"cookies: {same_site: none}\n", "[cookies.same_site.none]", "line 1"},
		{"# long tokens\ntokens: {access_ttl: 48h}\n", "[tokens.access_ttl.too_long]", "line 2"},
	} {
		data := t.TempDir()
		cfg := writeConfig(t, tt.policy)
		var stderr bytes.Buffer
		err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--config", cfg},
			getenvFrom(nil), nil, io.Discard, &stderr)
		if !errors.Is(err, errPolicyRefused) {
			t.Errorf("serve with %q: err = %v, want the policy refusal", tt.policy, err)
		}
		if out := stderr.String(); !strings.Contains(out, tt.rule) || !strings.Contains(out, cfg+" "+tt.line) || !strings.Contains(out, "reference: ") {
			t.Errorf("serve with %q printed %q, want the finding %s with its line and reference", tt.policy, out, tt.rule)
		}
		if _, err := os.Stat(filepath.Join(data, "gatehouse.db")); err == nil {
			t.Errorf("serve with %q opened the store before refusing", tt.policy)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in
// different goroutines.
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

func TestServeStartsWithWarnings(t *testing.T) {
	cfg := writeConfig(t, "tokens:\n  access_ttl: 2h\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--config", cfg},
			getenvFrom(nil), nil, pw, &stderr)
		pw.Close()
	}()
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				started <- true
			}
		}
		close(started)
		io.Copy(io.Discard, pr)
	}()
	select {
	case ok := <-started:
		if !ok {
			t.Fatalf("serve exited: %v\n%s", <-done, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v", err)
	}
	out := stderr.String()
	if !strings.Contains(out, "warning: tokens.access_ttl ("+cfg+" line 2)") || !strings.Contains(out, "[tokens.access_ttl.long]") {
		t.Errorf("serve did not print the warning:\n%s", out)
	}
	if strings.Contains(out, "note: ") {
		t.Errorf("serve printed notes at start-up:\n%s", out)
	}
}
