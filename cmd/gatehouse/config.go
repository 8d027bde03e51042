package main

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/policy"
)

// common are the options every command that opens the store shares.
type common struct {
	data   string
	config string
	store  storeOptions
}

func (c *common) register(fs *flag.FlagSet, e env) {
	fs.StringVar(&c.data, "data", envOr(e, "GATEHOUSE_DATA", "./gatehouse-data"), "data `dir` (GATEHOUSE_DATA)")
	fs.StringVar(&c.config, "config", e.getenv("GATEHOUSE_CONFIG"), "policy `file` (GATEHOUSE_CONFIG)")
	c.store.register(fs, e)
}

func envOr(e env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

// loadPolicy reads the policy file, if any, over the defaults.
func loadPolicy(path string) (policy.Policy, policy.Sources, error) {
	if path == "" {
		return policy.Parse(nil)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return policy.Policy{}, nil, fmt.Errorf("read policy: %w", err)
	}
	p, src, err := policy.Parse(data)
	if err != nil {
		return policy.Policy{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := src.Locate(p.Validate()); err != nil {
		return policy.Policy{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, src, nil
}

// app is the wired-up server: stores, keys and the service.
type app struct {
	db       store
	keys     *gatehouse.Keyring
	svc      *gatehouse.Service
	policy   policy.Policy
	backends *backends
	audit    *gatehouse.AuditTrail // nil when the store keeps no audit trail
	metrics  *metrics.Metrics
}

func (a *app) Close() error {
	if a.audit != nil {
		a.audit.Close() // writes what is buffered, before the store closes
	}
	return a.backends.Close()
}

// ready reports whether the database and Redis, if any, answer (/readyz).
func (a *app) ready(ctx context.Context) error { return a.backends.ready(ctx) }

// openApp opens (creating on first start) the data dir or PostgreSQL, Redis
// when configured, the master key and the signing keys, and builds the service.
func openApp(ctx context.Context, c common, p policy.Policy, issuer string, e env, log *slog.Logger) (*app, error) {
	if err := c.store.check(p.Tokens.AccessTTL); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(c.data)
	if err != nil {
		return nil, err
	}
	c.data = dir
	if c.store.postgres() {
		// Every instance must seal and open the same signing keys and
		// derive the same refresh successors: a key file created on one
		// machine's disk is not shared with the others.
		if e.getenv("GATEHOUSE_MASTER_KEY") == "" {
			return nil, errors.New("with PostgreSQL (--database-url) every instance must share one master key: set GATEHOUSE_MASTER_KEY to the base64 of 32 random bytes (head -c 32 /dev/urandom | base64), the same on every instance")
		}
	} else if err := os.MkdirAll(c.data, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	master, err := masterKey(c.data, e)
	if err != nil {
		return nil, err
	}
	b, err := openBackends(ctx, c.data, c.store, log)
	if err != nil {
		return nil, err
	}
	db := b.db
	keys, err := gatehouse.NewKeyring(db, master, p.Tokens.Algorithm, nil)
	if err != nil {
		b.Close()
		return nil, err
	}
	keys.SetSchedule(keySchedule(p))
	if err := keys.EnsureActive(ctx); err != nil {
		b.Close()
		if errors.Is(err, gatehouse.ErrMasterKey) {
			if c.store.postgres() {
				return nil, fmt.Errorf("%w; use the GATEHOUSE_MASTER_KEY this database was created with", err)
			}
			return nil, fmt.Errorf("%w; use the master key this data dir was created with (GATEHOUSE_MASTER_KEY or %s)", err, filepath.Join(c.data, "master.key"))
		}
		return nil, err
	}
	// The refresh successor key is derived from the master key, so every
	// instance that shares the master key derives the same successors.
	refreshKey, err := hkdf.Key(sha256.New, master, nil, "gatehouse refresh successor v1", 32)
	if err != nil {
		b.Close()
		return nil, err
	}
	params := password.Params{
		MemoryKiB: p.Passwords.Argon2.MemoryKiB, Iterations: p.Passwords.Argon2.Iterations,
		Parallelism: p.Passwords.Argon2.Parallelism,
	}
	if err := params.Validate(); err != nil {
		b.Close()
		return nil, fmt.Errorf("policy passwords.argon2: %w", err)
	}
	hasher := password.NewHasher(password.Options{Params: params, MaxConcurrent: p.Passwords.MaxConcurrent})
	// The known-device key, like the refresh key, is derived from the
	// master key: every instance verifies the others' device cookies.
	deviceKey, err := hkdf.Key(sha256.New, master, nil, "gatehouse known device v1", 32)
	if err != nil {
		b.Close()
		return nil, err
	}
	breached, err := breachChecker(p.Passwords.Breached)
	if err != nil {
		b.Close()
		return nil, err
	}
	obs := newObservers(db, hasher, keys, p, log)
	svc, err := gatehouse.NewService(gatehouse.Config{
		Users: db, Sessions: db, Keys: keys, Hasher: hasher, Limiter: b.limiter, Broker: b.broker,
		Issuer: issuer, Audience: p.Audience,
		AccessTTL: p.Tokens.AccessTTL, Leeway: p.Tokens.Leeway,
		IdleTimeout: p.Sessions.IdleTimeout, AbsoluteLifetime: p.Sessions.AbsoluteLifetime,
		ReuseGrace:       p.Sessions.ReuseGrace,
		PasswordRules:    password.Rules{MinLength: p.Passwords.MinLength, MaxLength: p.Passwords.MaxLength},
		RegistrationOpen: p.Registration == "open",
		AccountLimit:     gatehouse.Limit{MaxFailures: p.Throttle.Account.MaxFailures, Window: p.Throttle.Account.Window},
		IPLimit:          gatehouse.Limit{MaxFailures: p.Throttle.IP.MaxFailures, Window: p.Throttle.IP.Window},
		LoginDelay:       p.Throttle.Delay,
		Stuffing: gatehouse.StuffingAlarm{MaxFailures: p.Throttle.Stuffing.MaxFailures, Window: p.Throttle.Stuffing.Window,
			IPMaxFailures: p.Throttle.Stuffing.IPMaxFailures},
		// Every sign-up counts, so the policy's max_attempts is the
		// limit's MaxFailures; 0 is off, as in the policy.
		RegistrationLimit: gatehouse.Limit{MaxFailures: p.Throttle.Registration.MaxAttempts,
			Window: p.Throttle.Registration.Window},
		Breached: breached, BreachedFailClosed: p.Passwords.Breached.Fail == "closed",
		Events:     obs.sinks(),
		RefreshKey: refreshKey,
		DeviceKey:  deviceKey,
		Logger:     log,
	})
	if err != nil {
		obs.close()
		b.Close()
		return nil, err
	}
	obs.service.Store(svc)
	return &app{db: db, keys: keys, svc: svc, policy: p, backends: b, audit: obs.audit, metrics: obs.metrics}, nil
}

// masterKey returns the key that seals signing keys: GATEHOUSE_MASTER_KEY
// (base64 of 32 bytes) when set, else the data dir's master.key file,
// created with mode 0600 on first start.
func masterKey(dir string, e env) ([]byte, error) {
	if v := e.getenv("GATEHOUSE_MASTER_KEY"); v != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(k) != gatehouse.MasterKeySize {
			return nil, fmt.Errorf("GATEHOUSE_MASTER_KEY must be the base64 encoding of %d random bytes (for example: head -c 32 /dev/urandom | base64)", gatehouse.MasterKeySize)
		}
		return k, nil
	}
	path := filepath.Join(dir, "master.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, "gatehouse.db")); err == nil {
			return nil, fmt.Errorf("%s is missing but the database exists: restore the master key file or set GATEHOUSE_MASTER_KEY; a new key would not open the stored signing keys", path)
		}
		k := make([]byte, gatehouse.MasterKeySize)
		rand.Read(k)
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write master key: %w", err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != gatehouse.MasterKeySize {
		return nil, fmt.Errorf("%s is not a valid master key (base64 of %d bytes)", path, gatehouse.MasterKeySize)
	}
	return k, nil
}

// checkPlainHTTPAddr refuses plain HTTP on anything but a loopback address:
// cookies and passwords would cross the network in clear.
func checkPlainHTTPAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid --addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to serve plain HTTP on %s: passwords and session cookies would cross the network unencrypted; listen on a loopback address (127.0.0.1) behind a TLS-terminating proxy, or configure TLS", addr)
	}
	return nil
}

func sameSite(s string) http.SameSite {
	switch s {
	case "strict":
		return http.SameSiteStrictMode
	case "none":
		return http.SameSiteNoneMode
	}
	return http.SameSiteLaxMode
}
