package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/throttle"
	"github.com/gatehouse/gatehouse/token"
)

// storeEnv is the real handler on a real SQLite file, with a second,
// read-only view of that file, so a test can tell whether a request changed
// the store: snapshot dumps every row of every table, and changed asks
// SQLite whether any connection committed since the last call. Unlike env
// it takes a testing.TB, so fuzz targets can build one per worker (methods
// take the TB of the test or fuzz input at hand), and its
// clock is frozen, so nothing expires however long a fuzz run lasts.
type storeEnv struct {
	h       http.Handler
	svc     *gatehouse.Service
	view    *sql.DB
	watch   *sql.Conn
	version int64
	user    *user // a registered, logged-in user
}

func newStoreEnv(tb testing.TB, opts ...func(*gatehouse.Config)) *storeEnv {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "gatehouse.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	now := time.Now().UTC().Truncate(time.Second)
	clk := func() time.Time { return now }
	keys, err := gatehouse.NewKeyring(db, bytes.Repeat([]byte{7}, gatehouse.MasterKeySize), token.EdDSA, clk)
	if err != nil {
		tb.Fatal(err)
	}
	if err := keys.EnsureActive(ctx); err != nil {
		tb.Fatal(err)
	}
	cfg := gatehouse.Config{
		Users: db, Sessions: db, Keys: keys,
		Hasher:  password.NewHasher(password.Options{Params: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}}),
		Limiter: throttle.NewMemory(clk),
		Issuer:  testIssuer, Audience: testAudience,
		AccessTTL: 10 * time.Minute, Leeway: 30 * time.Second,
		IdleTimeout: 24 * time.Hour, AbsoluteLifetime: 72 * time.Hour, ReuseGrace: 10 * time.Second,
		PasswordRules:    password.Rules{MinLength: 8, MaxLength: 1024},
		RegistrationOpen: true,
		AccountLimit:     gatehouse.Limit{MaxFailures: 5, Window: 15 * time.Minute},
		IPLimit:          gatehouse.Limit{MaxFailures: 50, Window: 15 * time.Minute},
		RefreshKey:       bytes.Repeat([]byte{9}, 32),
		Now:              clk,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),

		RegistrationLimit: gatehouse.Limit{MaxFailures: 20, Window: time.Hour}, // the policy's default
	}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := gatehouse.NewService(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := httpapi.NewServer(httpapi.Config{Service: svc, Ready: db.Ping, JWKS: keys.PublicJWKs, Now: clk, Logger: cfg.Logger})
	if err != nil {
		tb.Fatal(err)
	}
	view, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { view.Close() })
	watch, err := view.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { watch.Close() })
	e := &storeEnv{h: h, svc: svc, view: view, watch: watch}
	e.changed(tb)

	res := e.serve(http.MethodPost, "/auth/register", "application/json", `{"email":"owner@example.org","password":"`+testPassword+`"}`, "")
	if res.Code != http.StatusCreated {
		tb.Fatalf("register: %d %s", res.Code, res.Body)
	}
	e.user = &user{email: "owner@example.org"}
	for _, c := range res.Result().Cookies() {
		switch c.Name {
		case httpapi.AccessCookie:
			e.user.access = c.Value
		case httpapi.RefreshCookie:
			e.user.refresh = c.Value
		}
	}
	if !e.changed(tb) {
		tb.Fatal("data_version did not change after a registration: changed cannot be trusted")
	}
	return e
}

// serve runs one request through the handler, from a loopback client
// without Origin or Sec-Fetch-Site (a non-browser client).
func (e *storeEnv) serve(method, path, contentType, body, cookie string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://gatehouse.test"+path, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:40000"
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// changed reports whether anything was committed to the store since the
// last call. SQLite's data_version changes on this connection whenever
// another connection commits, so this is exact and cheap.
func (e *storeEnv) changed(tb testing.TB) bool {
	tb.Helper()
	var v int64
	if err := e.watch.QueryRowContext(context.Background(), `PRAGMA data_version`).Scan(&v); err != nil {
		tb.Fatalf("data_version: %v", err)
	}
	old := e.version
	e.version = v
	return v != old
}

// snapshot returns every row of every table, as text, tables by name and
// rows sorted.
func (e *storeEnv) snapshot(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	var tables []string
	rows, err := e.view.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		tb.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, t := range tables {
		rows, err := e.view.QueryContext(ctx, `SELECT * FROM "`+t+`"`)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%q", vals))
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		rows.Close()
		slices.Sort(lines)
		fmt.Fprintf(&b, "%s %q (%d rows)\n%s\n", t, cols, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}
