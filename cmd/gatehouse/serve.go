package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/httpapi"
)

func runServe(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c common
	c.register(fs, e)
	addr := fs.String("addr", envOr(e, "GATEHOUSE_ADDR", "127.0.0.1:8080"), "listen `address` (GATEHOUSE_ADDR)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish on SIGTERM")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if err := checkPlainHTTPAddr(*addr); err != nil {
		return err
	}
	p, _, err := loadPolicy(c.config)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	url := "http://" + ln.Addr().String()
	issuer := p.Issuer
	if issuer == "" {
		issuer = url
	}
	a, err := openApp(ctx, c, p, issuer, e, log)
	if err != nil {
		return err
	}
	defer a.Close()

	h, err := httpapi.NewServer(httpapi.Config{
		Service:        a.svc,
		Ready:          a.db.Ping,
		JWKS:           a.keys.PublicJWKs,
		SameSite:       sameSite(p.Cookies.SameSite),
		TrustedOrigins: p.CSRF.TrustedOrigins,
		TrustedProxies: p.Transport.TrustedProxies,
		HSTSMaxAge:     p.Transport.HSTSMaxAge,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	srv := httpapi.NewHTTPServer(*addr, h)
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.svc.Run(runCtx, 2*time.Second)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(e.stdout, "gatehouse %s listening on %s\n", version, url)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish, then close the store.
	sctx, scancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(e.stdout, "gatehouse stopped")
	return nil
}
