package policy_test

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/policy"
)

// feedHash is a well-formed entry of services.feed_token_sha256.
const feedHash = "5d1b8a8e4d9c0b9b2f6b5f1e1d7fb5b6a0f9f7c1e0f9b2c3d4e5f60718293a4b"

func TestValidateDefault(t *testing.T) {
	if err := policy.Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
	}
	p, _, err := policy.Parse([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate() of the example = %v, want nil", err)
	}
}

// TestValidate breaks one value at a time and checks that exactly that key
// is reported.
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		msg    string // a part of Error.Msg
		change func(*policy.Policy)
	}{
		{"empty audience", "audience", "must not be empty", func(p *policy.Policy) { p.Audience = "" }},
		{"algorithm none", "tokens.algorithm", `unknown value "none" (want EdDSA, ES256, RS256, HS256)`, func(p *policy.Policy) { p.Tokens.Algorithm = "none" }},
		{"algorithm HS512", "tokens.algorithm", "unknown value", func(p *policy.Policy) { p.Tokens.Algorithm = "HS512" }},
		{"algorithm lower case", "tokens.algorithm", "unknown value", func(p *policy.Policy) { p.Tokens.Algorithm = "eddsa" }},
		{"zero access_ttl", "tokens.access_ttl", "must be positive, got 0s", func(p *policy.Policy) { p.Tokens.AccessTTL = 0 }},
		{"negative access_ttl", "tokens.access_ttl", "must be positive, got -1s", func(p *policy.Policy) { p.Tokens.AccessTTL = -time.Second }},
		{"negative leeway", "tokens.leeway", "must not be negative", func(p *policy.Policy) { p.Tokens.Leeway = -1 }},
		{"zero idle_timeout", "sessions.idle_timeout", "must be positive", func(p *policy.Policy) { p.Sessions.IdleTimeout = 0 }},
		{"zero absolute_lifetime", "sessions.absolute_lifetime", "must be positive", func(p *policy.Policy) { p.Sessions.AbsoluteLifetime = 0 }},
		{"negative reuse_grace", "sessions.reuse_grace", "must not be negative", func(p *policy.Policy) { p.Sessions.ReuseGrace = -time.Millisecond }},
		{"same_site capitalised", "cookies.same_site", `unknown value "Lax" (want lax, strict, none)`, func(p *policy.Policy) { p.Cookies.SameSite = "Lax" }},
		{"same_site empty", "cookies.same_site", "unknown value", func(p *policy.Policy) { p.Cookies.SameSite = "" }},
		{"min_length 0", "passwords.min_length", "must be at least 1, got 0", func(p *policy.Policy) { p.Passwords.MinLength = 0 }},
		{"max_length below min_length", "passwords.max_length", "must be at least passwords.min_length (8), got 7", func(p *policy.Policy) { p.Passwords.MaxLength = 7 }},
		{"memory_kib 0", "passwords.argon2.memory_kib", "must be between 1 and 4194304, got 0", func(p *policy.Policy) { p.Passwords.Argon2.MemoryKiB = 0 }},
		{"memory_kib over 4 GiB", "passwords.argon2.memory_kib", "must be between 1 and 4194304", func(p *policy.Policy) { p.Passwords.Argon2.MemoryKiB = 4194305 }},
		{"iterations 0", "passwords.argon2.iterations", "must be at least 1", func(p *policy.Policy) { p.Passwords.Argon2.Iterations = 0 }},
		{"parallelism 0", "passwords.argon2.parallelism", "must be at least 1", func(p *policy.Policy) { p.Passwords.Argon2.Parallelism = 0 }},
		{"negative max_concurrent", "passwords.max_concurrent", "must not be negative", func(p *policy.Policy) { p.Passwords.MaxConcurrent = -1 }},
		{"breached api_base http", "passwords.breached.api_base", "must use https", func(p *policy.Policy) { p.Passwords.Breached.APIBase = "http://pwned.example" }},
		{"breached api_base relative", "passwords.breached.api_base", "not an absolute URL", func(p *policy.Policy) { p.Passwords.Breached.APIBase = "/range" }},
		{"breached api_base query", "passwords.breached.api_base", "no user info, query or fragment", func(p *policy.Policy) { p.Passwords.Breached.APIBase = "https://pwned.example/?k=1" }},
		{"breached fail maybe", "passwords.breached.fail", `unknown value "maybe" (want open, closed)`, func(p *policy.Policy) { p.Passwords.Breached.Fail = "maybe" }},
		{"breached timeout 0", "passwords.breached.timeout", "must be positive and at most 30s, got 0s", func(p *policy.Policy) { p.Passwords.Breached.Timeout = 0 }},
		{"breached timeout 1m", "passwords.breached.timeout", "at most 30s", func(p *policy.Policy) { p.Passwords.Breached.Timeout = time.Minute }},
		{"registration invite", "registration", `unknown value "invite" (want open, closed)`, func(p *policy.Policy) { p.Registration = "invite" }},
		{"account max_failures 0", "throttle.account.max_failures", "must be at least 1, got 0", func(p *policy.Policy) { p.Throttle.Account.MaxFailures = 0 }},
		{"account window 0", "throttle.account.window", "must be positive", func(p *policy.Policy) { p.Throttle.Account.Window = 0 }},
		{"ip max_failures negative", "throttle.ip.max_failures", "must be at least 1", func(p *policy.Policy) { p.Throttle.IP.MaxFailures = -5 }},
		{"ip window negative", "throttle.ip.window", "must be positive", func(p *policy.Policy) { p.Throttle.IP.Window = -time.Minute }},
		{"delay negative", "throttle.delay", "must not be negative", func(p *policy.Policy) { p.Throttle.Delay = -time.Second }},
		{"delay as long as the window", "throttle.delay", "must be shorter than throttle.account.window (15m), got 15m", func(p *policy.Policy) { p.Throttle.Delay = 15 * time.Minute }},
		{"stuffing max_failures 0", "throttle.stuffing.max_failures", "must be at least 1", func(p *policy.Policy) { p.Throttle.Stuffing.MaxFailures = 0 }},
		{"stuffing window 0", "throttle.stuffing.window", "must be positive", func(p *policy.Policy) { p.Throttle.Stuffing.Window = 0 }},
		{"stuffing ip limit not stricter", "throttle.stuffing.ip_max_failures", "between 1 and throttle.ip.max_failures (50) minus 1, got 50", func(p *policy.Policy) { p.Throttle.Stuffing.IPMaxFailures = 50 }},
		{"stuffing ip limit negative", "throttle.stuffing.ip_max_failures", "got -1", func(p *policy.Policy) { p.Throttle.Stuffing.IPMaxFailures = -1 }},
		{"registration max_attempts negative", "throttle.registration.max_attempts", "must not be negative (0 turns the limit off), got -1", func(p *policy.Policy) { p.Throttle.Registration.MaxAttempts = -1 }},
		{"registration window 0", "throttle.registration.window", "must be positive, got 0s", func(p *policy.Policy) { p.Throttle.Registration.Window = 0 }},
		{"zero trusted proxy", "transport.trusted_proxies", "entry 1, invalid Prefix, is not a valid IP prefix", func(p *policy.Policy) {
			p.Transport.TrustedProxies = []netip.Prefix{{}}
		}},
		{"unmasked trusted proxy", "transport.trusted_proxies", "entry 2", func(p *policy.Policy) {
			p.Transport.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.0.0.1/8")}
		}},
		{"negative hsts_max_age", "transport.hsts_max_age", "must not be negative", func(p *policy.Policy) { p.Transport.HSTSMaxAge = -time.Hour }},
		{"rotation within access_ttl", "keys.rotation_interval", "must be longer than tokens.access_ttl (10m), got 10m", func(p *policy.Policy) { p.Keys.RotationInterval = 10 * time.Minute }},
		{"feed token in clear", "services.feed_token_sha256", "entry 2 is not a SHA-256", func(p *policy.Policy) {
			p.Services.FeedTokenSHA256 = []string{feedHash, "a-service-token-in-clear"}
		}},
		{"feed hash upper case", "services.feed_token_sha256", "entry 1 is not a SHA-256", func(p *policy.Policy) {
			p.Services.FeedTokenSHA256 = []string{strings.ToUpper(feedHash)}
		}},
	}
	badOrigins := []struct{ origin, msg string }{
		{"https://app.example.com/", "remove the path"},
		{"https://app.example.com/login", "remove the path"},
		{"https://user:pw@app.example.com", "remove the user info"},
		{"https://app.example.com?x=1", "remove the query"},
		{"https://app.example.com?", "remove the query"},
		{"https://app.example.com#top", "remove the fragment"},
		{"https://app.example.com#", "remove the fragment"},
		{"app.example.com", "the scheme must be http or https"},
		{"*", "the scheme must be http or https"},
		{"null", "the scheme must be http or https"},
		{"ftp://app.example.com", "the scheme must be http or https"},
		{"", "the scheme must be http or https"},
		{"https://", "there is no host"},
		{"https:app.example.com", "there is no host"},
		{"https://:8443", "there is no host"},
		{"HTTPS://APP.EXAMPLE.COM", "lower case"},
		{"https://App.example.com", "lower case"},
		{"https://bücher.example", "punycode"},
		{"https://app.example.com:443", "remove the default port"},
		{"http://app.example.com:80", "remove the default port"},
		{"https://app.example.com:99999", "invalid port"},
		{"https://app.example.com:08443", "invalid port"},
		{"https://app.example.com:", "the port is empty"},
		{"https://app.example.com :8443", "not a URL"},
	}
	for _, o := range badOrigins {
		tests = append(tests, struct {
			name   string
			key    string
			msg    string
			change func(*policy.Policy)
		}{"origin " + o.origin, "csrf.trusted_origins", o.msg, func(p *policy.Policy) {
			p.CSRF.TrustedOrigins = []string{"https://ok.example", o.origin}
		}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy.Default()
			tt.change(&p)
			errs := unjoin(p.Validate())
			if len(errs) != 1 || errs[0] == nil {
				t.Fatalf("Validate() = %v, want exactly one error", errs)
			}
			e, ok := errs[0].(*policy.Error)
			if !ok {
				t.Fatalf("Validate() error %v is a %T, want *policy.Error", errs[0], errs[0])
			}
			if e.Key != tt.key || e.Line != 0 || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("Validate() error = {Line: %d, Key: %q, Msg: %q}, want {Line: 0, Key: %q, Msg containing %q}",
					e.Line, e.Key, e.Msg, tt.key, tt.msg)
			}
		})
	}
}

func TestValidateGoodOrigins(t *testing.T) {
	p := policy.Default()
	p.CSRF.TrustedOrigins = []string{
		"https://app.example.com",
		"http://localhost:3000",
		"https://app.example.com:8443",
		"http://127.0.0.1:8080",
		"https://[::1]:8443",
		"https://xn--bcher-kva.example",
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

func TestValidateReportsEveryProblemInOrder(t *testing.T) {
	p := policy.Default()
	p.Audience = ""
	p.Tokens.AccessTTL = 0
	p.Registration = "maybe"
	p.Transport.HSTSMaxAge = -1
	want := []string{
		"policy: audience: must not be empty: a token must name the service it is for, so that one service's token is refused by another",
		"policy: tokens.access_ttl: must be positive, got 0s",
		`policy: registration: unknown value "maybe" (want open, closed)`,
		"policy: transport.hsts_max_age: must not be negative, got -1ns",
	}
	if got := errorStrings(t, p.Validate()); !reflect.DeepEqual(got, want) {
		t.Errorf("Validate() errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLocate(t *testing.T) {
	in := "tokens:\n  access_ttl: 0s\nregistration: sometimes\n"
	p, src, err := policy.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	p.Audience = "" // not from the file: no line to give
	got := errorStrings(t, src.Locate(errors.Join(p.Validate(), &policy.Error{Line: 9, Key: "issuer", Msg: "kept"})))
	want := []string{
		"policy: audience: must not be empty: a token must name the service it is for, so that one service's token is refused by another",
		"policy: line 2: tokens.access_ttl: must be positive, got 0s",
		`policy: line 3: registration: unknown value "sometimes" (want open, closed)`,
		"policy: line 9: issuer: kept",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Locate(Validate()) =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := src.Locate(nil); err != nil {
		t.Errorf("Locate(nil) = %v, want nil", err)
	}
	other := errors.New("not a policy error")
	if err := src.Locate(other); !errors.Is(err, other) {
		t.Errorf("Locate(other) = %v, want it kept", err)
	}
}
