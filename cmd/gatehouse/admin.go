package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/pwned"
)

// defaultAdminAddr is where the admin listener (/metrics) listens unless
// --admin-addr says otherwise: loopback, never the public interface.
const defaultAdminAddr = "127.0.0.1:9090"

// activeSessionsInterval is how often the active-sessions gauge is counted.
const activeSessionsInterval = 30 * time.Second

// observers are the sinks of the security events: the audit trail (when
// the store keeps one) and the metrics.
type observers struct {
	audit   *gatehouse.AuditTrail
	metrics *metrics.Metrics
	// service is set once the service exists; the stuffing-alarm gauge
	// reads it.
	service atomic.Pointer[gatehouse.Service]
}

// sessionCounter is what the active-sessions gauge needs of a store;
// sqlite.DB and postgres.DB have it.
type sessionCounter interface {
	CountActiveSessions(ctx context.Context, now, idleSince time.Time) (int, error)
}

func newObservers(db store, hasher *password.Hasher, keys *gatehouse.Keyring, p policy.Policy, log *slog.Logger) *observers {
	o := &observers{}
	if as, ok := db.(gatehouse.AuditStore); ok {
		o.audit = gatehouse.NewAuditTrail(as, gatehouse.AuditOptions{Logger: log})
	}
	src := metrics.Sources{
		Hasher: hasher, Keys: keys, Audit: o.audit, Logger: log,
		StuffingAlarm: func() bool {
			svc := o.service.Load()
			return svc != nil && svc.StuffingAlarm()
		},
	}
	if sc, ok := db.(sessionCounter); ok {
		idle := p.Sessions.IdleTimeout
		src.ActiveSessions = func(ctx context.Context) (int, error) {
			now := time.Now()
			return sc.CountActiveSessions(ctx, now, now.Add(-idle))
		}
	}
	o.metrics = metrics.New(src)
	return o
}

// sinks is the Service's EventSink: both observers.
func (o *observers) sinks() gatehouse.EventSink {
	if o.audit == nil {
		return o.metrics
	}
	return gatehouse.EventSinks{o.audit, o.metrics}
}

func (o *observers) close() {
	if o.audit != nil {
		o.audit.Close()
	}
}

// breachChecker returns the breached-password checker the policy asks
// for, or nil when the check is off.
func breachChecker(b policy.Breached) (gatehouse.BreachChecker, error) {
	if !b.Enabled {
		return nil, nil
	}
	c, err := pwned.New(pwned.Options{BaseURL: b.APIBase, Timeout: b.Timeout})
	if err != nil {
		return nil, fmt.Errorf("policy passwords.breached.api_base: %w", err)
	}
	return c, nil
}

// checkAdminAddr refuses an admin listener on anything but a loopback
// address unless allowed: the metrics tell an attacker the server's load,
// its attack counters and its session count, and are not authenticated.
func checkAdminAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid --admin-addr %q: %w", addr, err)
	}
	if allowRemote || host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to serve the admin listener (/metrics) on %s: it is unauthenticated; listen on a loopback address (--admin-addr 127.0.0.1:9090) and scrape through a tunnel or a proxy with authentication, or pass --insecure-admin-remote if a firewall already restricts it", addr)
}

// startAdmin starts the admin listener, which serves GET /metrics and
// nothing else. With the default address a port already taken is logged and
// skipped, so that a second server on one machine (or a test) still starts;
// an address set explicitly must be available. It returns nil when no
// listener was started.
func startAdmin(addr string, explicit bool, m *metrics.Metrics, log *slog.Logger, errc chan<- error) (*http.Server, net.Addr, error) {
	if addr == "" {
		return nil, nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if !explicit && errors.Is(err, syscall.EADDRINUSE) {
			log.Warn("admin listener not started: its default address is taken; set --admin-addr", slog.String("addr", addr))
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("admin listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := httpapi.NewHTTPServer(addr, mux)
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	go func() { errc <- srv.Serve(ln) }()
	return srv, ln.Addr(), nil
}
