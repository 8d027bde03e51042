package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/httpapi"
)

func runServe(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c common
	c.register(fs, e)
	c.store.registerServe(fs, e)
	addr := fs.String("addr", envOr(e, "GATEHOUSE_ADDR", "127.0.0.1:8080"), "listen `address` (GATEHOUSE_ADDR)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish on SIGTERM")
	tlsCert := fs.String("tls-cert", e.getenv("GATEHOUSE_TLS_CERT"), "TLS certificate `file` (PEM, full chain; GATEHOUSE_TLS_CERT)")
	tlsKey := fs.String("tls-key", e.getenv("GATEHOUSE_TLS_KEY"), "TLS private key `file` (PEM; GATEHOUSE_TLS_KEY)")
	devTLS := fs.Bool("dev-tls", false, "serve https with a self-signed certificate for localhost kept in the data dir (for trying it out)")
	redirectAddr := fs.String("http-redirect-addr", e.getenv("GATEHOUSE_HTTP_REDIRECT_ADDR"), "optional plain-HTTP `address` that redirects pages to https")
	verifyUser := fs.String("verify-user-header", envOr(e, "GATEHOUSE_VERIFY_USER_HEADER", httpapi.DefaultUserHeader), "`header` that carries the user id in GET /auth/verify answers (GATEHOUSE_VERIFY_USER_HEADER)")
	verifyEmail := fs.String("verify-email-header", envOr(e, "GATEHOUSE_VERIFY_EMAIL_HEADER", httpapi.DefaultEmailHeader), "`header` that carries the email in GET /auth/verify answers (GATEHOUSE_VERIFY_EMAIL_HEADER)")
	verifyNoRedirect := fs.Bool("verify-no-login-redirect", false, "answer 401 to unauthenticated GET /auth/verify, never a redirect to the login page")
	adminAddr := fs.String("admin-addr", envOr(e, "GATEHOUSE_ADMIN_ADDR", defaultAdminAddr), "admin listener `address` serving GET /metrics, never on the public listener; loopback only unless --insecure-admin-remote; empty turns it off (GATEHOUSE_ADMIN_ADDR)")
	adminRemote := fs.Bool("insecure-admin-remote", false, "allow --admin-addr on a non-loopback address: the metrics are unauthenticated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errTLSPair
	}
	p, src, err := loadPolicy(c.config)
	if err != nil {
		return err
	}
	useTLS := *tlsCert != "" || *devTLS
	if !useTLS && len(p.Transport.TrustedProxies) == 0 {
		// Behind trusted proxies plain HTTP is fine on any address: each
		// request must then come from a proxy that says it was https.
		if err := checkPlainHTTPAddr(*addr); err != nil {
			return err
		}
	}
	// The checks of `gatehouse policy check`, before anything is opened:
	// a dangerous policy never serves a single request.
	if err := startupCheck(p, src, checkContext(*addr, *tlsCert, *devTLS, e), c.config, e.stderr); err != nil {
		auditPolicyRejected(ctx, c, p, src, checkContext(*addr, *tlsCert, *devTLS, e))
		return err
	}
	if *adminAddr != "" {
		if err := checkAdminAddr(*adminAddr, *adminRemote); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	var certs *certReloader
	if useTLS {
		if *devTLS && *tlsCert == "" {
			if err := os.MkdirAll(c.data, 0o700); err != nil {
				return err
			}
			if *tlsCert, *tlsKey, err = devCertificate(c.data); err != nil {
				return fmt.Errorf("dev TLS certificate: %w", err)
			}
		}
		if certs, err = newCertReloader(*tlsCert, *tlsKey, log); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	issuer := p.Issuer
	if issuer == "" {
		issuer = url
	}
	a, err := openApp(ctx, c, p, issuer, e, log)
	if err != nil {
		return err
	}
	defer a.Close()

	feedHashes, err := feedTokenHashes(p)
	if err != nil {
		return err
	}
	// Closed when shutdown starts, so that revocation streams end instead
	// of holding the graceful shutdown until its timeout.
	streamsDone := make(chan struct{})
	h, err := httpapi.NewServer(httpapi.Config{
		Service:               a.svc,
		Ready:                 a.ready,
		JWKS:                  a.keys.PublicJWKs,
		JWKSMaxAge:            jwksMaxAge,
		FeedTokenSHA256:       feedHashes,
		Done:                  streamsDone,
		SameSite:              sameSite(p.Cookies.SameSite),
		TrustedOrigins:        p.CSRF.TrustedOrigins,
		TrustedProxies:        p.Transport.TrustedProxies,
		HSTSMaxAge:            p.Transport.HSTSMaxAge,
		HSTSIncludeSubdomains: true,
		ForwardAuth:           httpapi.ForwardAuth{UserHeader: *verifyUser, EmailHeader: *verifyEmail, NoLoginRedirect: *verifyNoRedirect},
		Logger:                log,
	})
	if err != nil {
		return err
	}
	srv := httpapi.NewHTTPServer(*addr, httpapi.Instrument(h, a.metrics))
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	srv.RegisterOnShutdown(func() { close(streamsDone) })
	drain := newDrainer()
	srv.ConnState = drain.connState

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.svc.Run(runCtx, c.store.syncInterval)
	go a.metrics.Run(runCtx, activeSessionsInterval)

	errc := make(chan error, 3)
	served := make(chan error, 1) // what srv's Serve returned
	if certs != nil {
		srv.TLSConfig = serverTLSConfig(certs.GetCertificate)
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go certs.watch(runCtx, hup, 2*time.Second)
		go func() { served <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	fmt.Fprintf(e.stdout, "gatehouse %s listening on %s\n", version, url)
	explicitAdmin := e.getenv("GATEHOUSE_ADMIN_ADDR") != ""
	fs.Visit(func(f *flag.Flag) { explicitAdmin = explicitAdmin || f.Name == "admin-addr" })
	admin, adminAt, err := startAdmin(*adminAddr, explicitAdmin, a.metrics, log, errc)
	if err != nil {
		return err
	}
	if admin != nil {
		fmt.Fprintf(e.stdout, "gatehouse metrics at http://%s/metrics\n", adminAt)
	}

	var redirect *http.Server
	if *redirectAddr != "" {
		if !useTLS {
			return errors.New("--http-redirect-addr needs TLS (--tls-cert/--tls-key or --dev-tls)")
		}
		rln, err := net.Listen("tcp", *redirectAddr)
		if err != nil {
			return err
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		redirect = httpapi.NewHTTPServer(*redirectAddr, httpapi.RedirectToHTTPS(port))
		go func() { errc <- redirect.Serve(rln) }()
		fmt.Fprintf(e.stdout, "gatehouse redirecting http://%s to https\n", rln.Addr())
	}

	select {
	case err := <-errc:
		return err
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Stop accepting, let the requests of connections already accepted be
	// read (see drainer), let in-flight requests finish, then close the store.
	ln.Close()
	<-served // Serve has returned: Shutdown has no listener left to close
	drain.wait(min(500*time.Millisecond, *shutdownTimeout/2))
	sctx, scancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer scancel()
	if redirect != nil {
		redirect.Shutdown(sctx)
	}
	if admin != nil {
		admin.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(e.stdout, "gatehouse stopped")
	return nil
}
