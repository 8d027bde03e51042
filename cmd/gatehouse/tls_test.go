package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial number and returns it.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	c, _ := x509.ParseCertificate(der)
	return c
}

func handshake(addr string, cfg *tls.Config) (*tls.ConnectionState, error) {
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	st := conn.ConnectionState()
	return &st, nil
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1)
	s := startServeTLS(t, "--addr", "127.0.0.1:0", "--data", dir, "--tls-cert", certFile, "--tls-key", keyFile, "--http-redirect-addr", "127.0.0.1:0")
	addr := strings.TrimPrefix(s.url, "https://")

	// J-01: TLS 1.0 and 1.1 refused, 1.2 accepted, 1.3 chosen by default, h2 offered.
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		if _, err := handshake(addr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v}); err == nil {
			t.Errorf("handshake with TLS version %x succeeded, want refused", v)
		}
	}
	st, err := handshake(addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
	if err != nil || st.Version != tls.VersionTLS12 {
		t.Fatalf("TLS 1.2: %v", err)
	}
	st, err = handshake(addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil || st.Version != tls.VersionTLS13 || st.NegotiatedProtocol != "h2" {
		t.Fatalf("default handshake: version %x proto %q err %v, want TLS 1.3 and h2", st.Version, st.NegotiatedProtocol, err)
	}

	// J-02: HSTS on every HTTPS response, errors included.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, path := range []string{"/healthz", "/nope", "/api/protected"} {
		res, err := client.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
			t.Errorf("%s: HSTS = %q", path, got)
		}
	}

	// The redirect listener sends pages to https, refuses API routes, and
	// never sets a cookie.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get("http://" + s.redirect + "/account?x=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	_, port, _ := net.SplitHostPort(addr)
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "https://127.0.0.1:"+port+"/account?x=1" {
		t.Fatalf("redirect: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = noFollow.Post("http://"+s.redirect+"/auth/login", "application/json", strings.NewReader(`{"email":"a@b.c","password":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 0 || res.Header.Get("Location") != "" {
		t.Fatalf("login over the redirect listener: %d, cookies %v", res.StatusCode, res.Cookies())
	}

	// The certificate is reloaded when the files change, without a restart.
	writeCert(t, certFile, keyFile, 2)
	future := time.Now().Add(time.Minute)
	os.Chtimes(certFile, future, future)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := handshake(addr, &tls.Config{InsecureSkipVerify: true})
		if err == nil && st.PeerCertificates[0].SerialNumber.Int64() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("new certificate not served after the files changed")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestServeDevTLS(t *testing.T) {
	dir := t.TempDir()
	s := startServeTLS(t, "--addr", "127.0.0.1:0", "--data", dir, "--dev-tls")
	pemBytes, err := os.ReadFile(filepath.Join(dir, "dev-tls-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := client.Get(s.url + "/healthz")
	if err != nil {
		t.Fatalf("dev certificate does not verify for 127.0.0.1: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if fi, _ := os.Stat(filepath.Join(dir, "dev-tls-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("dev key mode %v", fi.Mode().Perm())
	}
}

func TestServeTLSRefusals(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", "x.pem"}, "go together"},
		{[]string{"--tls-cert", filepath.Join(dir, "none.pem"), "--tls-key", filepath.Join(dir, "none.key")}, "load TLS certificate"},
		{[]string{"--http-redirect-addr", "127.0.0.1:0"}, "needs TLS"},
	}
	for _, c := range cases {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, c.args...)
		err := run(t.Context(), args, getenvFrom(nil), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
}
