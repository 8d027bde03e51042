package policy_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/policy"
)

// local is the context of a server on its default loopback address, with
// the master key in the environment.
var local = policy.Context{Addr: "127.0.0.1:8080", MasterKeyFromEnv: true}

func prefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

// ruleCase is a policy and context for one rule: trigger must produce a
// finding of the rule, pass must not.
type ruleCase struct {
	rule          string
	trigger, pass func(*policy.Policy, *policy.Context)
}

var ruleCases = []ruleCase{
	{"tokens.access_ttl.too_long",
		func(p *policy.Policy, _ *policy.Context) { p.Tokens.AccessTTL = 48 * time.Hour },
		func(p *policy.Policy, _ *policy.Context) { p.Tokens.AccessTTL = 24 * time.Hour }},
	{"tokens.access_ttl.long",
		func(p *policy.Policy, _ *policy.Context) { p.Tokens.AccessTTL = 61 * time.Minute },
		func(p *policy.Policy, _ *policy.Context) { p.Tokens.AccessTTL = time.Hour }},
	{"tokens.leeway.too_large",
		func(p *policy.Policy, _ *policy.Context) { p.Tokens.Leeway = 6 * time.Minute },
		func(p *policy.Policy, _ *policy.Context) { p.Tokens.Leeway = 5 * time.Minute }},
	{"tokens.leeway.large",
		func(p *policy.Policy, _ *policy.Context) { p.Tokens.Leeway = 90 * time.Second },
		func(p *policy.Policy, _ *policy.Context) { p.Tokens.Leeway = 60 * time.Second }},
	{"tokens.leeway.exceeds_access_ttl",
		func(p *policy.Policy, _ *policy.Context) {
			p.Tokens.AccessTTL, p.Tokens.Leeway = 30*time.Second, 30*time.Second
		},
		func(p *policy.Policy, _ *policy.Context) {
			p.Tokens.AccessTTL, p.Tokens.Leeway = 31*time.Second, 30*time.Second
		}},
	{"tokens.algorithm.hs256",
		func(p *policy.Policy, _ *policy.Context) { p.Tokens.Algorithm = "HS256" },
		func(p *policy.Policy, _ *policy.Context) { p.Tokens.Algorithm = "ES256" }},
	{"tokens.hs256.short_secret",
		func(p *policy.Policy, c *policy.Context) { p.Tokens.Algorithm, c.HS256SecretLen = "HS256", 31 },
		func(p *policy.Policy, c *policy.Context) { p.Tokens.Algorithm, c.HS256SecretLen = "HS256", 32 }},
	{"tokens.hs256.low_entropy",
		func(p *policy.Policy, c *policy.Context) { p.Tokens.Algorithm, c.HS256SecretLowEntropy = "HS256", true },
		func(p *policy.Policy, c *policy.Context) { p.Tokens.Algorithm, c.HS256SecretLowEntropy = "EdDSA", true }},
	{"issuer.derived",
		func(p *policy.Policy, _ *policy.Context) { p.Issuer = "" },
		func(p *policy.Policy, _ *policy.Context) { p.Issuer = "https://auth.example.com" }},
	{"issuer.http",
		func(p *policy.Policy, _ *policy.Context) { p.Issuer = "http://auth.example.com" },
		func(p *policy.Policy, _ *policy.Context) { p.Issuer = "http://localhost:8080" }},
	{"secrets.master_key.file",
		func(_ *policy.Policy, c *policy.Context) { c.MasterKeyFromEnv = false },
		func(_ *policy.Policy, c *policy.Context) { c.MasterKeyFromEnv = true }},
	{"cookies.same_site.none",
		func(p *policy.Policy, _ *policy.Context) {
			p.Cookies.SameSite, p.Cookies.SameSiteNoneReason = "none", "  "
		},
		func(p *policy.Policy, _ *policy.Context) {
			p.Cookies.SameSite, p.Cookies.SameSiteNoneReason = "none", "embedded in partner.example"
		}},
	{"cookies.same_site.none_justified",
		func(p *policy.Policy, _ *policy.Context) {
			p.Cookies.SameSite, p.Cookies.SameSiteNoneReason = "none", "embedded in partner.example"
		},
		func(p *policy.Policy, _ *policy.Context) { p.Cookies.SameSite = "none" }},
	{"cookies.same_site_none_reason.unused",
		func(p *policy.Policy, _ *policy.Context) {
			p.Cookies.SameSite, p.Cookies.SameSiteNoneReason = "strict", "old"
		},
		func(p *policy.Policy, _ *policy.Context) {
			p.Cookies.SameSite, p.Cookies.SameSiteNoneReason = "none", "old"
		}},
	{"csrf.trusted_origins.wildcard",
		func(p *policy.Policy, _ *policy.Context) { p.CSRF.TrustedOrigins = []string{"https://*.example.com"} },
		func(p *policy.Policy, _ *policy.Context) { p.CSRF.TrustedOrigins = []string{"https://app.example.com"} }},
	{"csrf.trusted_origins.http",
		func(p *policy.Policy, _ *policy.Context) { p.CSRF.TrustedOrigins = []string{"http://app.example.com"} },
		func(p *policy.Policy, _ *policy.Context) { p.CSRF.TrustedOrigins = []string{"http://localhost:3000"} }},
	{"csrf.trusted_origins.http_loopback",
		func(p *policy.Policy, _ *policy.Context) { p.CSRF.TrustedOrigins = []string{"http://[::1]:3000"} },
		func(p *policy.Policy, _ *policy.Context) { p.CSRF.TrustedOrigins = []string{"https://localhost:3000"} }},
	{"transport.plain_http",
		func(_ *policy.Policy, c *policy.Context) { c.Addr = "0.0.0.0:8080" },
		func(p *policy.Policy, c *policy.Context) {
			c.Addr = "0.0.0.0:8080"
			p.Transport.TrustedProxies = prefixes("10.0.0.5/32")
		}},
	{"transport.trusted_proxies.any",
		func(p *policy.Policy, _ *policy.Context) {
			p.Transport.TrustedProxies = prefixes("10.0.0.1/32", "::/0")
		},
		func(p *policy.Policy, _ *policy.Context) {
			p.Transport.TrustedProxies = prefixes("10.0.0.0/8", "fd00::/8")
		}},
	{"transport.trusted_proxies.broad",
		func(p *policy.Policy, _ *policy.Context) { p.Transport.TrustedProxies = prefixes("104.16.0.0/12") },
		func(p *policy.Policy, _ *policy.Context) {
			p.Transport.TrustedProxies = prefixes("104.16.0.0/16", "172.16.0.0/12", "2606:4700::/32", "::ffff:10.0.0.0/104")
		}},
	{"transport.hsts.disabled",
		func(p *policy.Policy, _ *policy.Context) { p.Transport.HSTSMaxAge = 0 },
		func(p *policy.Policy, _ *policy.Context) { p.Transport.HSTSMaxAge = time.Hour }},
	{"transport.hsts.short",
		func(p *policy.Policy, _ *policy.Context) { p.Transport.HSTSMaxAge = 8759 * time.Hour },
		func(p *policy.Policy, _ *policy.Context) { p.Transport.HSTSMaxAge = 2 * 8760 * time.Hour }},
	{"transport.dev_tls",
		func(_ *policy.Policy, c *policy.Context) { c.TLS, c.DevTLS = true, true },
		func(_ *policy.Policy, c *policy.Context) { c.TLS = true }},
	{"sessions.reuse_grace.too_long",
		func(p *policy.Policy, _ *policy.Context) { p.Sessions.ReuseGrace = 61 * time.Second },
		func(p *policy.Policy, _ *policy.Context) { p.Sessions.ReuseGrace = 60 * time.Second }},
	{"sessions.reuse_grace.long",
		func(p *policy.Policy, _ *policy.Context) { p.Sessions.ReuseGrace = 11 * time.Second },
		func(p *policy.Policy, _ *policy.Context) { p.Sessions.ReuseGrace = 0 }},
	{"sessions.absolute_lifetime.shorter_than_idle",
		func(p *policy.Policy, _ *policy.Context) {
			p.Sessions.IdleTimeout, p.Sessions.AbsoluteLifetime = 48*time.Hour, 24*time.Hour
		},
		func(p *policy.Policy, _ *policy.Context) {
			p.Sessions.IdleTimeout, p.Sessions.AbsoluteLifetime = 24*time.Hour, 24*time.Hour
		}},
	{"sessions.idle_timeout.long",
		func(p *policy.Policy, _ *policy.Context) { p.Sessions.IdleTimeout = 721 * time.Hour },
		func(p *policy.Policy, _ *policy.Context) { p.Sessions.IdleTimeout = 720 * time.Hour }},
	{"sessions.absolute_lifetime.long",
		func(p *policy.Policy, _ *policy.Context) { p.Sessions.AbsoluteLifetime = 2161 * time.Hour },
		func(p *policy.Policy, _ *policy.Context) { p.Sessions.AbsoluteLifetime = 2160 * time.Hour }},
	{"passwords.min_length.too_short",
		func(p *policy.Policy, _ *policy.Context) { p.Passwords.MinLength = 7 },
		func(p *policy.Policy, _ *policy.Context) { p.Passwords.MinLength = 8 }},
	{"passwords.min_length.below_recommended",
		func(p *policy.Policy, _ *policy.Context) { p.Passwords.MinLength = 14 },
		func(p *policy.Policy, _ *policy.Context) { p.Passwords.MinLength = 15 }},
	{"passwords.max_length.below_min",
		func(p *policy.Policy, _ *policy.Context) { p.Passwords.MinLength, p.Passwords.MaxLength = 80, 79 },
		func(p *policy.Policy, _ *policy.Context) { p.Passwords.MinLength, p.Passwords.MaxLength = 80, 80 }},
	{"passwords.max_length.too_short",
		func(p *policy.Policy, _ *policy.Context) { p.Passwords.MaxLength = 63 },
		func(p *policy.Policy, _ *policy.Context) { p.Passwords.MaxLength = 64 }},
	{"passwords.argon2.below_owasp",
		func(p *policy.Policy, _ *policy.Context) {
			p.Passwords.Argon2 = policy.Argon2{MemoryKiB: 47103, Iterations: 1, Parallelism: 1}
		},
		func(p *policy.Policy, _ *policy.Context) {
			p.Passwords.Argon2 = policy.Argon2{MemoryKiB: 47104, Iterations: 1, Parallelism: 1}
		}},
	{"passwords.argon2.memory_budget",
		func(p *policy.Policy, _ *policy.Context) {
			p.Passwords.Argon2.MemoryKiB, p.Passwords.MaxConcurrent = 65536, 17
		},
		func(p *policy.Policy, _ *policy.Context) {
			p.Passwords.Argon2.MemoryKiB, p.Passwords.MaxConcurrent = 65536, 16
		}},
	{"passwords.breached.fail_open",
		func(p *policy.Policy, _ *policy.Context) { p.Passwords.Breached.Enabled = true },
		func(p *policy.Policy, _ *policy.Context) {
			p.Passwords.Breached.Enabled, p.Passwords.Breached.Fail = true, "closed"
		}},
	{"passwords.breached.timeout.short",
		func(p *policy.Policy, _ *policy.Context) {
			p.Passwords.Breached.Enabled, p.Passwords.Breached.Fail = true, "closed"
			p.Passwords.Breached.Timeout = 499 * time.Millisecond
		},
		func(p *policy.Policy, _ *policy.Context) {
			p.Passwords.Breached.Enabled = true
			p.Passwords.Breached.Timeout = 500 * time.Millisecond
		}},
	{"throttle.account.ineffective",
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Account.MaxFailures = 101 },
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Account.MaxFailures = 100 }},
	{"throttle.ip.ineffective",
		func(p *policy.Policy, _ *policy.Context) { p.Registration, p.Throttle.IP.MaxFailures = "closed", 1001 },
		func(p *policy.Policy, _ *policy.Context) { p.Registration, p.Throttle.IP.MaxFailures = "open", 1001 }},
	{"registration.open_unthrottled",
		func(p *policy.Policy, _ *policy.Context) { p.Registration, p.Throttle.IP.MaxFailures = "open", 1001 },
		func(p *policy.Policy, _ *policy.Context) { p.Registration, p.Throttle.IP.MaxFailures = "open", 1000 }},
	{"throttle.account.window.short",
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Account.Window = 59 * time.Second },
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Account.Window = time.Minute }},
	{"throttle.ip.window.short",
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.IP.Window = time.Second },
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.IP.Window = time.Minute }},
	{"throttle.account.window.long",
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Account.Window = 25 * time.Hour },
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Account.Window = 24 * time.Hour }},
	{"throttle.delay.disabled",
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Delay = 0 },
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Delay, p.Throttle.Account.MaxFailures = 0, 1 }},
	{"throttle.delay.ineffective",
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Delay = 124 * time.Millisecond },
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Delay = 125 * time.Millisecond }},
	{"throttle.stuffing.window.short",
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Stuffing.Window = 59 * time.Second },
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Stuffing.Window = time.Minute }},
	{"throttle.stuffing.detect_only",
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Stuffing.IPMaxFailures = 0 },
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Stuffing.IPMaxFailures = 1 }},
	{"throttle.registration.disabled",
		func(p *policy.Policy, _ *policy.Context) { p.Throttle.Registration.MaxAttempts = 0 },
		func(p *policy.Policy, _ *policy.Context) {
			p.Registration, p.Throttle.Registration.MaxAttempts = "closed", 0
		}},
	{"throttle.registration.loose",
		func(p *policy.Policy, _ *policy.Context) {
			p.Throttle.Registration = policy.AttemptLimit{MaxAttempts: 101, Window: time.Hour}
		},
		func(p *policy.Policy, _ *policy.Context) {
			p.Throttle.Registration = policy.AttemptLimit{MaxAttempts: 100, Window: time.Hour}
		}},
}

func findingsOf(fs []policy.Finding, rule string) []policy.Finding {
	var out []policy.Finding
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func TestCheckRules(t *testing.T) {
	byID := make(map[string]policy.Rule)
	for _, r := range policy.Rules() {
		byID[r.ID] = r
	}
	for _, tc := range ruleCases {
		t.Run(tc.rule, func(t *testing.T) {
			r, ok := byID[tc.rule]
			if !ok {
				t.Fatalf("no rule %q in Rules()", tc.rule)
			}
			p, c := policy.Default(), local
			tc.trigger(&p, &c)
			got := findingsOf(policy.Check(p, nil, c), tc.rule)
			if len(got) == 0 {
				t.Fatalf("trigger case: no %s finding", tc.rule)
			}
			for _, f := range got {
				if f.Severity != r.Severity || f.Key != r.Key || f.Why != r.Why || f.Reference != r.Reference || f.Message == "" {
					t.Errorf("finding %+v does not carry its rule %+v, or has no message", f, r)
				}
			}
			p, c = policy.Default(), local
			tc.pass(&p, &c)
			if got := findingsOf(policy.Check(p, nil, c), tc.rule); len(got) != 0 {
				t.Errorf("pass case: got %+v, want no %s finding", got, tc.rule)
			}
		})
	}
}

// TestRulesDescribed checks that every rule has a test case, a known
// severity, a threat in one sentence and a reference.
func TestRulesDescribed(t *testing.T) {
	rules := policy.Rules()
	if len(rules) < 25 {
		t.Errorf("%d rules, want at least 25", len(rules))
	}
	seen := make(map[string]bool)
	for _, r := range rules {
		if seen[r.ID] {
			t.Errorf("duplicate rule id %q", r.ID)
		}
		seen[r.ID] = true
		if !slices.ContainsFunc(ruleCases, func(c ruleCase) bool { return c.rule == r.ID }) {
			t.Errorf("rule %s has no test case", r.ID)
		}
		if !slices.Contains([]string{policy.SeverityError, policy.SeverityWarning, policy.SeverityNote}, r.Severity) {
			t.Errorf("rule %s: severity %q", r.ID, r.Severity)
		}
		if r.Key == "" || r.Reference == "" || !strings.HasSuffix(r.Why, ".") || strings.Count(r.Why, ". ") > 0 {
			t.Errorf("rule %s: want a key, a reference and a one-sentence why, got %+v", r.ID, r)
		}
		if !strings.HasPrefix(r.Key, "-") && !strings.HasPrefix(r.Key, "GATEHOUSE_") && !slices.Contains(policy.Keys(), r.Key) {
			t.Errorf("rule %s: key %q is neither a policy key nor a flag or variable", r.ID, r.Key)
		}
	}
}

func TestCheckDefault(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080", ""} {
		for _, fromEnv := range []bool{false, true} {
			p, src, err := policy.Parse(nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range policy.Check(p, src, policy.Context{Addr: addr, MasterKeyFromEnv: fromEnv}) {
				if f.Severity != policy.SeverityNote {
					t.Errorf("Default on %q: %+v, want notes only", addr, f)
				}
			}
		}
	}
}

func TestCheckLinesAndOrder(t *testing.T) {
	file := "tokens:\n  access_ttl: 2h\ncookies:\n  same_site: none\n"
	p, src, err := policy.Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	fs := policy.Check(p, src, local)
	if len(fs) < 3 {
		t.Fatalf("findings %+v, want at least an error, a warning and a note", fs)
	}
	if fs[0].Rule != "cookies.same_site.none" || fs[0].Line != 4 || fs[0].Key != "cookies.same_site" {
		t.Errorf("first finding %+v, want the SameSite error on line 4", fs[0])
	}
	if fs[1].Rule != "tokens.access_ttl.long" || fs[1].Line != 2 {
		t.Errorf("second finding %+v, want the access_ttl warning on line 2", fs[1])
	}
	for _, f := range fs[2:] {
		if f.Severity != policy.SeverityNote || f.Line != 0 {
			t.Errorf("finding %+v, want notes on default keys after the warning", f)
		}
	}
	if !policy.HasErrors(fs) || policy.HasErrors(fs[1:]) {
		t.Errorf("HasErrors wrong for %+v", fs)
	}
}

// TestCheckArgon2Table checks the OWASP table row by row.
func TestCheckArgon2Table(t *testing.T) {
	rows := []struct {
		iterations uint32
		memory     uint32
	}{{1, 47104}, {2, 19456}, {3, 12288}, {4, 9216}, {5, 7168}, {10, 7168}}
	for _, r := range rows {
		for _, tt := range []struct {
			memory uint32
			want   bool
		}{{r.memory - 1, true}, {r.memory, false}} {
			p := policy.Default()
			p.Passwords.Argon2 = policy.Argon2{MemoryKiB: tt.memory, Iterations: r.iterations, Parallelism: 1}
			got := len(findingsOf(policy.Check(p, nil, local), "passwords.argon2.below_owasp")) > 0
			if got != tt.want {
				t.Errorf("t=%d m=%d: below_owasp = %v, want %v", r.iterations, tt.memory, got, tt.want)
			}
		}
	}
}

// TestCheckBreachedCheckOff checks that the breached-password rules say
// nothing while the check is off, whatever its other keys hold, and that a
// short timeout is fine for a mirror on this machine.
func TestCheckBreachedCheckOff(t *testing.T) {
	rules := []string{"passwords.breached.fail_open", "passwords.breached.timeout.short"}
	p := policy.Default()
	p.Passwords.Breached.Fail, p.Passwords.Breached.Timeout = "open", time.Millisecond
	fs := policy.Check(p, nil, local)
	for _, r := range rules {
		if got := findingsOf(fs, r); len(got) != 0 {
			t.Errorf("check off: got %+v, want no %s finding", got, r)
		}
	}
	p.Passwords.Breached.Enabled, p.Passwords.Breached.APIBase = true, "http://127.0.0.1:8090"
	if got := findingsOf(policy.Check(p, nil, local), rules[1]); len(got) != 0 {
		t.Errorf("local mirror: got %+v, want no %s finding", got, rules[1])
	}
}

// TestCheckDelayLongestWait checks when the progressive delay is judged too
// short to slow anyone: its longest wait before the account limit refuses
// attempts, delay doubled max_failures-2 times and at most the window, must
// reach 1s.
func TestCheckDelayLongestWait(t *testing.T) {
	tests := []struct {
		delay       time.Duration
		maxFailures int
		window      time.Duration
		want        bool
	}{
		{time.Second, 2, 15 * time.Minute, false},
		{999 * time.Millisecond, 2, 15 * time.Minute, true},
		{125 * time.Millisecond, 5, 15 * time.Minute, false}, // 125ms, 250ms, 500ms, 1s
		{124 * time.Millisecond, 5, 15 * time.Minute, true},
		{time.Millisecond, 100, 15 * time.Minute, false},            // grows to the window long before 100 failures
		{time.Millisecond, 10, 15 * time.Minute, true},              // 256ms at most
		{100 * time.Millisecond, 1, 15 * time.Minute, false},        // no second attempt to delay
		{100 * time.Millisecond, 100, 500 * time.Millisecond, true}, // capped by the window
	}
	for _, tt := range tests {
		p := policy.Default()
		p.Throttle.Delay = tt.delay
		p.Throttle.Account = policy.Limit{MaxFailures: tt.maxFailures, Window: tt.window}
		got := len(findingsOf(policy.Check(p, nil, local), "throttle.delay.ineffective")) > 0
		if got != tt.want {
			t.Errorf("delay %s, account %d per %s: ineffective = %v, want %v", tt.delay, tt.maxFailures, tt.window, got, tt.want)
		}
	}
}

func TestCheckReportsEachBadEntry(t *testing.T) {
	p := policy.Default()
	p.CSRF.TrustedOrigins = []string{"http://a.example", "https://ok.example", "http://b.example"}
	p.Transport.TrustedProxies = prefixes("0.0.0.0/0", "::/0")
	fs := policy.Check(p, nil, local)
	if n := len(findingsOf(fs, "csrf.trusted_origins.http")); n != 2 {
		t.Errorf("%d http origin findings, want 2", n)
	}
	if n := len(findingsOf(fs, "transport.trusted_proxies.any")); n != 2 {
		t.Errorf("%d trust-all findings, want 2", n)
	}
}

func TestCheckIssuer(t *testing.T) {
	p := policy.Default()
	fs := findingsOf(policy.Check(p, nil, policy.Context{Addr: "127.0.0.1:9000", TLS: true}), "issuer.derived")
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "https://127.0.0.1:9000") {
		t.Errorf("derived issuer findings %+v, want one naming https://127.0.0.1:9000", fs)
	}
	// Behind a proxy on every interface, the derived issuer is a plain
	// http URL that no client uses.
	p.Transport.TrustedProxies = prefixes("10.0.0.5/32")
	fs = findingsOf(policy.Check(p, nil, policy.Context{Addr: "0.0.0.0:8080"}), "issuer.http")
	if len(fs) != 1 {
		t.Errorf("issuer.http findings %+v, want one for the derived http://0.0.0.0:8080", fs)
	}
}

func TestSecretLowEntropy(t *testing.T) {
	random := make([]byte, 32)
	rand.Read(random)
	tests := []struct {
		name   string
		secret []byte
		want   bool
	}{
		{"empty", nil, true},
		{"one byte repeated", []byte(strings.Repeat("a", 40)), true},
		{"pattern repeated", []byte(strings.Repeat("ab12", 10)), true},
		{"phrase", []byte("correct horse battery staple and more"), true},
		{"common word", []byte("MyJWTsecretForProductionUse2024!!"), true},
		{"few distinct bytes", []byte("aabbaabbbbaaabababbbaaabbbabaabab"), true},
		{"random bytes", random, false},
		{"random base64", []byte(base64.StdEncoding.EncodeToString(random)), false},
		{"random hex", []byte(hex.EncodeToString(random)), false},
	}
	for _, tt := range tests {
		if got := policy.SecretLowEntropy(tt.secret); got != tt.want {
			t.Errorf("SecretLowEntropy(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestCheckRegistrationLimit checks when the sign-up limit is judged too
// loose: more than 100 sign-ups an hour from one address, counting the
// whole allowance of every window that starts within the hour, and never
// while registration is closed.
func TestCheckRegistrationLimit(t *testing.T) {
	tests := []struct {
		registration string
		limit        policy.AttemptLimit
		loose, off   bool
	}{
		{"open", policy.AttemptLimit{MaxAttempts: 20, Window: time.Hour}, false, false},
		{"open", policy.AttemptLimit{MaxAttempts: 400, Window: 24 * time.Hour}, true, false}, // all of it in the first hour
		{"open", policy.AttemptLimit{MaxAttempts: 100, Window: 24 * time.Hour}, false, false},
		{"open", policy.AttemptLimit{MaxAttempts: 10, Window: 6 * time.Minute}, false, false}, // 10 windows of 10
		{"open", policy.AttemptLimit{MaxAttempts: 10, Window: 5 * time.Minute}, true, false},  // 12 windows of 10
		{"open", policy.AttemptLimit{MaxAttempts: 1, Window: 7 * time.Minute}, false, false},  // 9 windows start in the hour
		{"open", policy.AttemptLimit{MaxAttempts: math.MaxInt, Window: time.Nanosecond}, true, false},
		{"open", policy.AttemptLimit{MaxAttempts: 0, Window: time.Hour}, false, true},
		{"closed", policy.AttemptLimit{MaxAttempts: 1000, Window: time.Second}, false, false},
	}
	for _, tt := range tests {
		p := policy.Default()
		p.Registration, p.Throttle.Registration = tt.registration, tt.limit
		fs := policy.Check(p, nil, local)
		loose := len(findingsOf(fs, "throttle.registration.loose")) > 0
		off := len(findingsOf(fs, "throttle.registration.disabled")) > 0
		if loose != tt.loose || off != tt.off {
			t.Errorf("registration %s, %d per %s: loose %v, disabled %v; want %v, %v", tt.registration, tt.limit.MaxAttempts, tt.limit.Window, loose, off, tt.loose, tt.off)
		}
	}
}
