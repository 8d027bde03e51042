package httpapi_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/throttle"
	"github.com/gatehouse/gatehouse/token"
)

// An API with its own ServeMux protects a route with Gatehouse's middleware
// and reads the authenticated user from the request context.
func ExampleRequireAuth() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)

	// The pieces cmd/gatehouse wires from the policy file.
	db, err := sqlite.Open(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	master := make([]byte, gatehouse.MasterKeySize) // keep it secret and stable in production
	rand.Read(master)
	keys, _ := gatehouse.NewKeyring(db, master, token.EdDSA, nil)
	if err := keys.EnsureActive(ctx); err != nil {
		panic(err)
	}
	refreshKey := make([]byte, 32)
	rand.Read(refreshKey)
	svc, err := gatehouse.NewService(gatehouse.Config{
		Users: db, Sessions: db, Keys: keys, Limiter: throttle.NewMemory(nil),
		Hasher: password.NewHasher(password.Options{Params: password.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}}),
		Issuer: "https://auth.example.org", Audience: "gatehouse",
		AccessTTL: 10 * time.Minute, Leeway: 30 * time.Second,
		IdleTimeout: 168 * time.Hour, AbsoluteLifetime: 720 * time.Hour, ReuseGrace: 10 * time.Second,
		PasswordRules:    password.Rules{MinLength: 8, MaxLength: 1024},
		RegistrationOpen: true,
		AccountLimit:     gatehouse.Limit{MaxFailures: 5, Window: 15 * time.Minute},
		IPLimit:          gatehouse.Limit{MaxFailures: 50, Window: 15 * time.Minute},
		RefreshKey:       refreshKey,
	})
	if err != nil {
		panic(err)
	}

	// Your API: Gatehouse's routes under /auth/, yours behind RequireAuth.
	auth, _ := httpapi.NewServer(httpapi.Config{Service: svc, JWKS: keys.PublicJWKs})
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("GET /orders", httpapi.RequireAuth(svc)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := httpapi.Principal(r)
		u, _ := svc.User(r.Context(), p)
		fmt.Fprintf(w, "orders of %s", u.Email)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A client without a cookie is refused; after registering it gets in.
	res, _ := http.Get(srv.URL + "/orders")
	fmt.Println(res.StatusCode)
	res, _ = http.Post(srv.URL+"/auth/register", "application/json",
		strings.NewReader(`{"email":"ann@example.org","password":"correct horse battery staple"}`))
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == httpapi.AccessCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/orders", nil)
	req.Header.Set("Cookie", cookie)
	res, _ = http.DefaultClient.Do(req)
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, string(body))
	// Output:
	// 401
	// 200 orders of ann@example.org
}
