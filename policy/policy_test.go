package policy_test

import (
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/policy"
)

// example is the policy file of the format's specification: every key, each
// at its default except issuer.
const example = `issuer: "http://127.0.0.1:8080"      # default "" meaning: derived by the server from its address; keep as string
audience: "gatehouse"
tokens:   {algorithm: EdDSA, access_ttl: 10m, leeway: 30s}
sessions: {idle_timeout: 168h, absolute_lifetime: 720h, reuse_grace: 10s}
cookies:  {same_site: lax, same_site_none_reason: ""}   # lax | strict | none
csrf:     {trusted_origins: []}
passwords: {min_length: 8, max_length: 1024, argon2: {memory_kib: 19456, iterations: 2, parallelism: 1}, max_concurrent: 0, breached: {enabled: false, api_base: "https://api.pwnedpasswords.com", fail: open, timeout: 2s}}
registration: open                    # open | closed
throttle: {account: {max_failures: 5, window: 15m}, ip: {max_failures: 50, window: 15m}, delay: 1s, stuffing: {max_failures: 500, window: 5m, ip_max_failures: 10}, registration: {max_attempts: 20, window: 1h}}
transport: {trusted_proxies: [], hsts_max_age: 8760h}
keys:     {rotation_interval: 720h}
services: {feed_token_sha256: []}
`

// baseline is the secure baseline written out by hand, so that a change to
// Default has to be made twice, deliberately.
func baseline() policy.Policy {
	return policy.Policy{
		Issuer:   "",
		Audience: "gatehouse",
		Tokens:   policy.Tokens{Algorithm: "EdDSA", AccessTTL: 10 * time.Minute, Leeway: 30 * time.Second},
		Sessions: policy.Sessions{IdleTimeout: 168 * time.Hour, AbsoluteLifetime: 720 * time.Hour, ReuseGrace: 10 * time.Second},
		Cookies:  policy.Cookies{SameSite: "lax"},
		CSRF:     policy.CSRF{TrustedOrigins: nil},
		Passwords: policy.Passwords{
			MinLength: 8, MaxLength: 1024,
			Argon2:        policy.Argon2{MemoryKiB: 19456, Iterations: 2, Parallelism: 1},
			MaxConcurrent: 0,
			Breached:      policy.Breached{Enabled: false, APIBase: "https://api.pwnedpasswords.com", Fail: "open", Timeout: 2 * time.Second},
		},
		Registration: "open",
		Throttle: policy.Throttle{
			Account:      policy.Limit{MaxFailures: 5, Window: 15 * time.Minute},
			IP:           policy.Limit{MaxFailures: 50, Window: 15 * time.Minute},
			Delay:        time.Second,
			Stuffing:     policy.Stuffing{MaxFailures: 500, Window: 5 * time.Minute, IPMaxFailures: 10},
			Registration: policy.AttemptLimit{MaxAttempts: 20, Window: time.Hour},
		},
		Transport: policy.Transport{TrustedProxies: nil, HSTSMaxAge: 8760 * time.Hour},
		Keys:      policy.SigningKeys{RotationInterval: 720 * time.Hour},
		Services:  policy.Services{FeedTokenSHA256: nil},
	}
}

var allKeys = []string{
	"issuer",
	"audience",
	"tokens.algorithm",
	"tokens.access_ttl",
	"tokens.leeway",
	"sessions.idle_timeout",
	"sessions.absolute_lifetime",
	"sessions.reuse_grace",
	"cookies.same_site",
	"cookies.same_site_none_reason",
	"csrf.trusted_origins",
	"passwords.min_length",
	"passwords.max_length",
	"passwords.argon2.memory_kib",
	"passwords.argon2.iterations",
	"passwords.argon2.parallelism",
	"passwords.max_concurrent",
	"passwords.breached.enabled",
	"passwords.breached.api_base",
	"passwords.breached.fail",
	"passwords.breached.timeout",
	"registration",
	"throttle.account.max_failures",
	"throttle.account.window",
	"throttle.ip.max_failures",
	"throttle.ip.window",
	"throttle.delay",
	"throttle.stuffing.max_failures",
	"throttle.stuffing.window",
	"throttle.stuffing.ip_max_failures",
	"throttle.registration.max_attempts",
	"throttle.registration.window",
	"transport.trusted_proxies",
	"transport.hsts_max_age",
	"keys.rotation_interval",
	"services.feed_token_sha256",
}

func TestDefault(t *testing.T) {
	if got, want := policy.Default(), baseline(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default() = %+v, want %+v", got, want)
	}
}

func TestKeys(t *testing.T) {
	got := policy.Keys()
	if !slices.Equal(got, allKeys) {
		t.Errorf("Keys() = %q, want %q", got, allKeys)
	}
	got[0] = "changed"
	if again := policy.Keys(); again[0] != "issuer" {
		t.Errorf("Keys()[0] = %q after changing an earlier result, want %q", again[0], "issuer")
	}
	for _, key := range allKeys {
		if _, ok := policy.Default().Value(key); !ok {
			t.Errorf("Value(%q) not found", key)
		}
	}
	if v, ok := policy.Default().Value("tokens"); ok {
		t.Errorf("Value(%q) = %q, true; want not found for a section", "tokens", v)
	}
}

func TestValue(t *testing.T) {
	p := policy.Default()
	p.Tokens.AccessTTL = 90 * time.Minute
	p.Tokens.Leeway = 0
	p.Sessions.ReuseGrace = 500 * time.Millisecond
	p.CSRF.TrustedOrigins = []string{"https://a.example", `https://"q".example`}
	p.Transport.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		key, want string
	}{
		{"issuer", `""`},
		{"audience", `"gatehouse"`},
		{"tokens.algorithm", `"EdDSA"`},
		{"tokens.access_ttl", "1h30m"},
		{"tokens.leeway", "0s"},
		{"sessions.idle_timeout", "168h"},
		{"sessions.reuse_grace", "500ms"},
		{"csrf.trusted_origins", `["https://a.example", "https://\"q\".example"]`},
		{"passwords.argon2.memory_kib", "19456"},
		{"transport.trusted_proxies", `["10.0.0.0/8", "::1/128"]`},
		{"transport.hsts_max_age", "8760h"},
	}
	for _, tt := range tests {
		if got, _ := p.Value(tt.key); got != tt.want {
			t.Errorf("Value(%q) = %s, want %s", tt.key, got, tt.want)
		}
	}
}

// TestValueRoundTrip checks that a file written from Value reads back as
// the same policy.
func TestValueRoundTrip(t *testing.T) {
	odd := policy.Default()
	odd.Issuer = "https://auth.example.com/tenant \"one\"\t✓"
	odd.Audience = "yes"
	odd.Tokens = policy.Tokens{Algorithm: "ES256", AccessTTL: 1500 * time.Millisecond, Leeway: 0}
	odd.Sessions = policy.Sessions{IdleTimeout: time.Hour + time.Second, AbsoluteLifetime: 48 * time.Hour, ReuseGrace: 0}
	odd.Cookies.SameSite = "strict"
	odd.Cookies.SameSiteNoneReason = "partner | <b>\"embed\"</b>: #1"
	odd.CSRF.TrustedOrigins = []string{"https://app.example.com", "http://localhost:3000"}
	odd.Passwords = policy.Passwords{MinLength: 12, MaxLength: 64, Argon2: policy.Argon2{MemoryKiB: 4 << 20, Iterations: 4294967295, Parallelism: 255}, MaxConcurrent: 4}
	odd.Registration = "closed"
	odd.Throttle.IP = policy.Limit{MaxFailures: 1, Window: time.Nanosecond}
	odd.Throttle.Delay = 0
	odd.Throttle.Stuffing = policy.Stuffing{MaxFailures: 7, Window: 90 * time.Second, IPMaxFailures: 0}
	odd.Throttle.Registration = policy.AttemptLimit{MaxAttempts: 0, Window: 36 * time.Hour}
	odd.Passwords.Breached = policy.Breached{Enabled: true, APIBase: "http://127.0.0.1:8089/pwned \"mirror\"", Fail: "closed", Timeout: 250 * time.Millisecond}
	odd.Transport = policy.Transport{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("fd00::/8")},
		HSTSMaxAge:     0,
	}
	for name, p := range map[string]policy.Policy{"default": policy.Default(), "odd": odd} {
		t.Run(name, func(t *testing.T) {
			file := render(p)
			got, _, err := policy.Parse([]byte(file))
			if err != nil {
				t.Fatalf("Parse(render(p)) error: %v\nfile:\n%s", err, file)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("Parse(render(p)) = %+v, want %+v\nfile:\n%s", got, p, file)
			}
		})
	}
}

// render writes p as a block-style policy file with every key, using Value.
func render(p policy.Policy) string {
	var b strings.Builder
	var open []string // the sections the next key is nested in
	for _, key := range policy.Keys() {
		parts := strings.Split(key, ".")
		sections, name := parts[:len(parts)-1], parts[len(parts)-1]
		common := 0
		for common < len(open) && common < len(sections) && open[common] == sections[common] {
			common++
		}
		open = open[:common]
		for _, s := range sections[common:] {
			fmt.Fprintf(&b, "%s%s:\n", strings.Repeat("  ", len(open)), s)
			open = append(open, s)
		}
		v, _ := p.Value(key)
		fmt.Fprintf(&b, "%s%s: %s\n", strings.Repeat("  ", len(open)), name, v)
	}
	return b.String()
}

// TestReference checks that REFERENCE.md documents every key, in order,
// with its true default.
func TestReference(t *testing.T) {
	doc, err := os.ReadFile("REFERENCE.md")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for line := range strings.Lines(string(doc)) {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), " | ")
		if len(cells) != 5 {
			t.Errorf("row %q has %d cells, want 5", line, len(cells))
			continue
		}
		key := strings.Trim(strings.TrimSpace(cells[0]), "`")
		keys = append(keys, key)
		want, ok := policy.Default().Value(key)
		if !ok {
			t.Errorf("REFERENCE.md documents unknown key %q", key)
			continue
		}
		if got := strings.Trim(cells[2], "`"); got != want {
			t.Errorf("REFERENCE.md default of %s = %s, want %s", key, got, want)
		}
		for i, cell := range cells {
			if strings.TrimSpace(cell) == "" {
				t.Errorf("REFERENCE.md row %s: cell %d is empty", key, i+1)
			}
		}
	}
	if !slices.Equal(keys, policy.Keys()) {
		t.Errorf("REFERENCE.md keys = %q, want %q", keys, policy.Keys())
	}
}
