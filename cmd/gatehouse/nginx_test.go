package main

// A real nginx in front of Gatehouse and of an application it protects
// with auth_request, configured as docs/PROXY.md says.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nginxConf is the configuration of docs/PROXY.md with the addresses and
// the paths of a test: everything nginx writes goes to the test's directory.
const nginxConf = `%[5]s
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;

    upstream gatehouse { server %[2]s; }
    upstream app       { server %[3]s; }

    server {
        listen %[4]s;

        # Gatehouse's API, pages and assets, on the same host as the app.
        location ~ ^/(auth/|login$|signup$|account$|logout$|assets/|\.well-known/) {
            proxy_pass http://gatehouse;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }
        location = / {
            proxy_pass http://gatehouse;
            proxy_set_header Host $http_host;
        }

        # The protected application.
        location /app/ {
            auth_request /_gatehouse/verify;
            auth_request_set $auth_user  $upstream_http_x_auth_user_id;
            auth_request_set $auth_email $upstream_http_x_auth_email;
            # Overwrite whatever the client sent: an empty value removes the header.
            proxy_set_header X-Auth-User-Id $auth_user;
            proxy_set_header X-Auth-Email   $auth_email;
            proxy_set_header Host $http_host;
            proxy_pass http://app;
            error_page 401 = @gatehouse_login;
        }

        # The subrequest auth_request makes, with the client's cookies.
        location = /_gatehouse/verify {
            internal;
            proxy_pass http://gatehouse/auth/verify;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $http_host;
        }

        # A 401 for a browser becomes Gatehouse's redirect to the login page.
        location @gatehouse_login {
            rewrite ^ /auth/verify break;
            proxy_pass http://gatehouse;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Uri $request_uri;
        }
    }
}
`

func nginxPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"nginx", "/usr/sbin/nginx"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nginx is not installed; .ci/run installs it with apt-get install -y nginx")
	}
	t.Skip("nginx is not installed (apt-get install -y nginx); skipping the proxy test")
	return ""
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startNginx runs nginx in the foreground with conf and returns its URL.
func startNginx(t *testing.T, bin, gatehouse, app string) string {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers keep the rights to the test's directory
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, dir, gatehouse, app, addr, user), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT) // graceful stop of the nginx this test started
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	for i := 0; ; i++ {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", err, out.String(), log)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		if i > 200 {
			t.Fatalf("nginx did not listen on %s:\n%s", addr, out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// seen is one request that reached the protected application.
type seen struct {
	uri, user, email string
}

func TestNginxAuthRequest(t *testing.T) {
	bin := nginxPath(t)
	gh := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	var mu sync.Mutex
	var reached []seen
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached = append(reached, seen{r.URL.RequestURI(), r.Header.Get("X-Auth-User-Id"), r.Header.Get("X-Auth-Email")})
		mu.Unlock()
		fmt.Fprint(w, "app says hello")
	}))
	t.Cleanup(app.Close)
	base := startNginx(t, bin, strings.TrimPrefix(gh.url, "http://"), strings.TrimPrefix(app.URL, "http://"))

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, cookie string, header ...string) (*http.Response, string) {
		t.Helper()
		r, _ := http.NewRequest("GET", base+path, nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(reached)
	}
	forged := []string{"X-Auth-User-Id", "admin", "X-Auth-Email", "admin@example.org"}

	// Without a session nothing reaches the application.
	for _, tc := range []struct {
		name, cookie string
		header       []string
		status       int
		location     string
	}{
		{"no cookie", "", forged, 401, ""},
		{"garbage token", "__Host-access=eyJhbGciOiJub25lIn0.e30.", forged, 401, ""},
		{"lookalike cookie", "__host-access=x; access=y", nil, 401, ""},
		{"browser", "", []string{"Accept", "text/html,application/xhtml+xml"}, 302, "/login?next=%2Fapp%2Freport%3Fyear%3D2026"},
	} {
		res, body := get("/app/report?year=2026", tc.cookie, tc.header...)
		if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location {
			t.Errorf("%s: %d Location %q, want %d %q; body %.200s", tc.name, res.StatusCode, res.Header.Get("Location"), tc.status, tc.location, body)
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("%d unauthenticated requests reached the application: %v", n, reached)
	}

	// The login page is served on the same host, where the cookies will be.
	if res, _ := get("/login?next=%2Fapp%2Freport%3Fyear%3D2026", ""); res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("login page through nginx: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	j := jar{}
	res, body := call(t, j, "POST", base+"/auth/register", `{"email":"carol@example.org","password":"correct horse battery staple"}`)
	if res.StatusCode != 201 {
		t.Fatalf("register through nginx: %d %s", res.StatusCode, body)
	}
	var reg struct {
		User struct{ ID string } `json:"user"`
	}
	if err := json.Unmarshal([]byte(body), &reg); err != nil || reg.User.ID == "" {
		t.Fatalf("register answer %s: %v", body, err)
	}
	id := reg.User.ID

	res, body = get("/app/report?year=2026", j.header(), forged...)
	if res.StatusCode != 200 || body != "app says hello" {
		t.Fatalf("authenticated request: %d %q", res.StatusCode, body)
	}
	mu.Lock()
	got := reached
	mu.Unlock()
	want := seen{"/app/report?year=2026", id, "carol@example.org"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("the application saw %+v, want %+v (identity from Gatehouse, not the forged headers)", got, want)
	}

	// After logout the same cookies get nowhere.
	old := j.header()
	if res, body := call(t, j, "POST", base+"/auth/logout", ""); res.StatusCode != 204 {
		t.Fatalf("logout through nginx: %d %s", res.StatusCode, body)
	}
	if res, _ := get("/app/report?year=2026", old); res.StatusCode != 401 {
		t.Errorf("after logout: %d, want 401", res.StatusCode)
	}
	if n := count(); n != 1 {
		t.Errorf("after logout %d requests reached the application, want still 1", n)
	}
}
