package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// freeAdminAddr returns a loopback address with a port nobody listens on now.
func freeAdminAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMetricsOnAdminListenerOnly: /metrics is served on --admin-addr and
// nowhere on the public listener, and the admin listener serves nothing
// else. The metrics reflect the traffic: requests by route pattern, logins
// by outcome, the hashing pool, the signing key's age, active sessions.
// (A route refused before routing still counts under its pattern.)
func TestMetricsOnAdminListenerOnly(t *testing.T) {
	admin := freeAdminAddr(t)
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--admin-addr", admin)

	if code, body := get(t, s.url+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("GET /metrics on the public listener: %d %.80s, want 404", code, body)
	}
	j := jar{}
	if res, body := call(t, j, "POST", s.url+"/auth/register", `{"email":"metered@example.org","password":"correct horse battery staple"}`); res.StatusCode != 201 {
		t.Fatalf("register: %d %s", res.StatusCode, body)
	}
	if res, _ := call(t, jar{}, "POST", s.url+"/auth/login", `{"email":"metered@example.org","password":"wrong password!"}`); res.StatusCode != 401 {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	call(t, jar{}, "DELETE", s.url+"/auth/sessions/a-random-session-id", "")

	if code, _ := get(t, "http://"+admin+"/auth/me"); code != http.StatusNotFound {
		t.Fatalf("GET /auth/me on the admin listener: %d, want 404", code)
	}
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		var code int
		code, body = get(t, "http://"+admin+"/metrics")
		if code != 200 {
			t.Fatalf("GET /metrics on the admin listener: %d", code)
		}
		// Counted at start and every 30s: any count will do here.
		if !strings.Contains(body, "\ngatehouse_active_sessions -1\n") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		`gatehouse_http_requests_total{code="201",route="POST /auth/register"} 1`,
		`gatehouse_http_requests_total{code="401",route="DELETE /auth/sessions/{id}"} 1`,
		`gatehouse_logins_total{outcome="failure",reason="bad_password"} 1`,
		`gatehouse_security_events_total{event="register",outcome="success",reason=""} 1`,
		"gatehouse_hash_queue_depth 0",
		"gatehouse_hash_acquired_total 2",
		"gatehouse_credential_stuffing_alarm 0",
	} {
		if !strings.Contains(body, "\n"+want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, want := range []string{"gatehouse_signing_key_age_seconds ", "gatehouse_hash_wait_seconds_total ", "gatehouse_audit_events_dropped_total 0", "process_resident_memory_bytes ", "gatehouse_active_sessions "} {
		if !strings.Contains(body, "\n"+want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "a-random-session-id") {
		t.Error("a raw request path became a metric label")
	}
}

// TestAdminAddrLoopbackOnly: the admin listener refuses a public address
// unless --insecure-admin-remote says so.
func TestAdminAddrLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":9090", "192.0.2.1:9090", "[::]:0"} {
		err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--admin-addr", addr},
			getenvFrom(nil), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--insecure-admin-remote") {
			t.Errorf("serve --admin-addr %s: err = %v, want a refusal naming --insecure-admin-remote", addr, err)
		}
	}
	// Explicitly allowed, it starts.
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--admin-addr", "0.0.0.0:0", "--insecure-admin-remote")
	if code, _ := get(t, s.url+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("GET /metrics on the public listener: %d, want 404", code)
	}
}

// TestAdminAddrTaken: an explicitly chosen admin address that is taken
// stops the start; the default one being taken only skips the listener.
func TestAdminAddrTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--admin-addr", ln.Addr().String()},
		getenvFrom(nil), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "admin listener") {
		t.Fatalf("serve with a taken --admin-addr: %v, want an admin listener error", err)
	}
}
