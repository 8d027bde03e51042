package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keysCmd runs gatehouse keys with args and returns its output.
func keysCmd(t *testing.T, envv map[string]string, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := run(context.Background(), append([]string{"keys"}, args...), getenvFrom(envv), strings.NewReader(""), &out, io.Discard)
	return out.String(), err
}

// keyStates parses keys list output into kid -> state.
func keyStates(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if i == 0 {
			if len(f) != 6 || f[0] != "KID" {
				t.Fatalf("list header %q", line)
			}
			continue
		}
		m[f[0]] = f[2]
	}
	return m
}

func TestKeysCommands(t *testing.T) {
	data := t.TempDir()
	out, err := keysCmd(t, nil, "list", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	st := keyStates(t, out)
	if len(st) != 1 {
		t.Fatalf("first list: %v, want one active key", st)
	}
	var first string
	for kid := range st {
		first = kid
	}

	if out, err = keysCmd(t, nil, "rotate", "--data", data); err != nil || !strings.Contains(out, "now signs") {
		t.Fatalf("rotate: %q, %v", out, err)
	}
	out, _ = keysCmd(t, nil, "list", "--data", data)
	st = keyStates(t, out)
	if st[first] != "retired" || len(st) != 3 {
		t.Fatalf("after rotate: %v, want the first key retired, one active, one next", st)
	}

	// Import a PKCS#8 PEM Ed25519 key and make it sign.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	pemFile := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	out, err = keysCmd(t, nil, "import", "--alg", "EdDSA", "--private-key-file", pemFile, "--activate", "--data", data)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	imported := strings.Fields(strings.TrimPrefix(out, "imported key "))[0]
	out, _ = keysCmd(t, nil, "list", "--data", data)
	if keyStates(t, out)[imported] != "active" {
		t.Fatalf("imported key not active: %s", out)
	}
	for _, secret := range []string{base64.StdEncoding.EncodeToString(der), "PRIVATE"} {
		if strings.Contains(out, secret) {
			t.Fatalf("keys list shows key material: %s", out)
		}
	}

	for name, args := range map[string][]string{
		"other algorithm": {"import", "--alg", "ES256", "--private-key-file", pemFile},
		"missing file":    {"import", "--alg", "EdDSA", "--private-key-file", filepath.Join(data, "nope.pem")},
		"no alg":          {"import", "--private-key-file", pemFile},
		"retire unknown":  {"retire", "no-such-kid"},
		"retire no kid":   {"retire"},
		"unknown command": {"delete", first},
		"stray argument":  {"rotate", "now"},
	} {
		if _, err := keysCmd(t, nil, append(args, "--data", data)...); err == nil {
			t.Errorf("keys %s: no error", name)
		}
	}

	// The server signs with the imported key and publishes every key but
	// never private material.
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", data)
	j := jar{}
	if res, body := call(t, j, "POST", s.url+"/auth/register", `{"email":"k@example.org","password":"correct horse battery staple"}`); res.StatusCode != 201 {
		t.Fatalf("register: %d %s", res.StatusCode, body)
	}
	h, _, _ := strings.Cut(j["__Host-access"], ".")
	hb, _ := base64.RawURLEncoding.DecodeString(h)
	var hdr struct{ Kid string }
	json.Unmarshal(hb, &hdr)
	if hdr.Kid != imported {
		t.Fatalf("token kid %s, want the imported key %s", hdr.Kid, imported)
	}
	res, body := call(t, jar{}, "GET", s.url+"/.well-known/jwks.json", "")
	if res.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("JWKS Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	var doc struct{ Keys []map[string]any }
	json.Unmarshal([]byte(body), &doc)
	if len(doc.Keys) != 4 {
		t.Errorf("JWKS has %d keys, want 4 (retired, retired, active, next): %s", len(doc.Keys), body)
	}
	for _, k := range doc.Keys {
		for _, p := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[p]; ok {
				t.Errorf("JWK %v has private member %s", k["kid"], p)
			}
		}
	}

	// Retiring the signing key hands over to the next one.
	if out, err := keysCmd(t, nil, "retire", imported, "--data", data); err != nil || !strings.Contains(out, "retired") {
		t.Fatalf("retire: %q %v", out, err)
	}
}

func TestKeysHS256Import(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "gatehouse.yaml")
	os.WriteFile(cfg, []byte("tokens: {algorithm: HS256}\n"), 0o600)
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("short"), 0o600)
	if _, err := keysCmd(t, nil, "import", "--alg", "HS256", "--private-key-file", secret, "--data", data, "--config", cfg); err == nil {
		t.Error("a 5-byte HS256 secret was imported")
	}
	b := make([]byte, 32)
	rand.Read(b)
	os.WriteFile(secret, b, 0o600)
	if out, err := keysCmd(t, nil, "import", "--alg", "HS256", "--private-key-file", secret, "--activate", "--data", data, "--config", cfg); err != nil {
		t.Fatalf("HS256 import: %q %v", out, err)
	}
}

// TestKeysWrongMasterKey: every keys command refuses to work with another
// master key, naming the problem, and never creates a key.
func TestKeysWrongMasterKey(t *testing.T) {
	data := t.TempDir()
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	if _, err := keysCmd(t, map[string]string{"GATEHOUSE_MASTER_KEY": key}, "list", "--data", data); err != nil {
		t.Fatal(err)
	}
	other := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 32)))
	for _, sub := range []string{"list", "rotate"} {
		_, err := keysCmd(t, map[string]string{"GATEHOUSE_MASTER_KEY": other}, sub, "--data", data)
		if err == nil || !strings.Contains(err.Error(), "wrong master key") {
			t.Errorf("keys %s with the wrong master key: %v, want an error naming the wrong master key", sub, err)
		}
	}
	out, _ := keysCmd(t, map[string]string{"GATEHOUSE_MASTER_KEY": key}, "list", "--data", data)
	if n := len(keyStates(t, out)); n != 1 {
		t.Fatalf("after the failed attempts there are %d keys, want 1", n)
	}
}

// TestServeRevocationFeed: the feed is off without a configured token
// hash, and answers a service holding the token when one is configured.
func TestServeRevocationFeed(t *testing.T) {
	off := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	res, _ := call(t, jar{}, "GET", off.url+"/auth/revocations", "")
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("feed without configuration: %d, want 404", res.StatusCode)
	}

	const token = "a-service-token-for-the-feed-0123456789"
	cfg := filepath.Join(t.TempDir(), "gatehouse.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("services: {feed_token_sha256: [%x]}\n", sha256.Sum256([]byte(token)))), 0o600)
	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--config", cfg)
	j := jar{}
	call(t, j, "POST", s.url+"/auth/register", `{"email":"f@example.org","password":"correct horse battery staple"}`)
	call(t, j, "POST", s.url+"/auth/logout", "")
	for bearer, want := range map[string]int{"": 401, "wrong": 401, token: 200} {
		r, _ := http.NewRequest("GET", s.url+"/auth/revocations", nil)
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("bearer %q: %d, want %d", bearer, res.StatusCode, want)
		}
		if want == 200 && !strings.Contains(string(b), `"session_id"`) {
			t.Errorf("feed %s lacks the logged-out session", b)
		}
	}
}
