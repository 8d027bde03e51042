// Command protected-service is a small API that trusts Gatehouse for login:
// it verifies the __Host-access cookie (or a bearer token) itself with
// package verifier, and honours logouts through Gatehouse's revocation
// feed, without calling Gatehouse on each request.
//
//	go run ./examples/protected-service --gatehouse http://127.0.0.1:8080 \
//	    --issuer http://127.0.0.1:8080 --addr 127.0.0.1:8081
//
// with the feed token in GATEHOUSE_FEED_TOKEN (its SHA-256 must be listed
// in Gatehouse's services.feed_token_sha256). Then, with a cookie jar from
// a Gatehouse login: curl -b jar.txt http://127.0.0.1:8081/orders
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/verifier"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "protected-service:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("protected-service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("gatehouse", "http://127.0.0.1:8080", "Gatehouse `URL` (https, or http on loopback)")
	issuer := fs.String("issuer", "", "Gatehouse's issuer (default: the Gatehouse URL)")
	audience := fs.String("audience", "gatehouse", "Gatehouse's audience")
	ttl := fs.Duration("access-ttl", 10*time.Minute, "Gatehouse's tokens.access_ttl")
	leeway := fs.Duration("leeway", 30*time.Second, "Gatehouse's tokens.leeway")
	addr := fs.String("addr", "127.0.0.1:8081", "listen `address`")
	bearer := fs.Bool("allow-bearer", false, "accept Authorization: Bearer as well as the cookie")
	token := fs.String("service-token", "", "revocation feed token (prefer GATEHOUSE_FEED_TOKEN: argv is visible to other users)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" {
		*token = getenv("GATEHOUSE_FEED_TOKEN")
	}
	if *issuer == "" {
		*issuer = *base
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	v, err := verifier.New(ctx, verifier.Options{
		BaseURL: *base, Issuer: *issuer, Audience: *audience, MaxTTL: *ttl, Leeway: *leeway,
		AllowBearer: *bearer, ServiceToken: *token, Logger: log,
	})
	if err != nil {
		return err
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verifier.FromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"user_id": c.Subject, "orders": []string{}})
	})))
	mux.Handle("POST /orders", v.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})))
	// The cookie rides on cross-site requests too (SameSite=Lax lets
	// top-level navigations through): refuse cross-origin writes.
	h := http.NewCrossOriginProtection().Handler(mux)

	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("protected-service listening", slog.String("addr", *addr), slog.String("gatehouse", *base))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
