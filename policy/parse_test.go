package policy_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/policy"
)

func TestParseExample(t *testing.T) {
	want := baseline()
	want.Issuer = "http://127.0.0.1:8080"
	got, src, err := policy.Parse([]byte(example))
	if err != nil {
		t.Fatalf("Parse(example) error: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(example) = %+v, want %+v", got, want)
	}
	wantLines := map[string]int{
		"issuer": 1, "audience": 2, "tokens.leeway": 3, "sessions.reuse_grace": 4, "cookies.same_site": 5,
		"cookies.same_site_none_reason": 5,
		"csrf.trusted_origins":          6, "passwords.argon2.parallelism": 7, "registration": 8,
		"throttle.ip.window": 9, "transport.hsts_max_age": 10,
	}
	for key, line := range wantLines {
		if got, want := src[key], fmt.Sprintf("file line %d", line); got != want {
			t.Errorf("Sources[%q] = %q, want %q", key, got, want)
		}
	}
	for _, key := range policy.Keys() {
		if !strings.HasPrefix(src[key], "file line ") {
			t.Errorf("Sources[%q] = %q, want a file line: the example sets every key", key, src[key])
		}
	}

	// With issuer at its default too, the example is exactly the baseline.
	atDefault := strings.Replace(example, `"http://127.0.0.1:8080"`, `""`, 1)
	got, _, err = policy.Parse([]byte(atDefault))
	if err != nil {
		t.Fatalf("Parse(example with empty issuer) error: %v", err)
	}
	if !reflect.DeepEqual(got, baseline()) {
		t.Errorf("Parse(example with empty issuer) = %+v, want %+v", got, baseline())
	}
}

func TestParseGivesDefaults(t *testing.T) {
	for _, in := range []string{
		"",
		"\n\n",
		"# nothing but a comment\n",
		"---\n",
		"--- # a lone document start\n...\n",
		"{}",
		"tokens:\n",
		"tokens: ~\nsessions: null\ncookies: {}\npasswords:\n  argon2:\nthrottle:\n  account:\n  ip: {}\n",
	} {
		got, src, err := policy.Parse([]byte(in))
		if err != nil {
			t.Errorf("Parse(%q) error: %v", in, err)
			continue
		}
		if !reflect.DeepEqual(got, baseline()) {
			t.Errorf("Parse(%q) = %+v, want the defaults", in, got)
		}
		if len(src) != len(allKeys) {
			t.Errorf("Parse(%q): len(Sources) = %d, want %d", in, len(src), len(allKeys))
		}
		for _, key := range allKeys {
			if src[key] != "default" {
				t.Errorf("Parse(%q): Sources[%q] = %q, want %q", in, key, src[key], "default")
			}
		}
	}
}

// TestParseSingleKey sets each key alone, on line 1, and checks that only
// that key changes.
func TestParseSingleKey(t *testing.T) {
	tests := []struct {
		in     string
		key    string
		change func(*policy.Policy)
	}{
		{`issuer: "https://auth.example.com"`, "issuer", func(p *policy.Policy) { p.Issuer = "https://auth.example.com" }},
		{`issuer: ""`, "issuer", func(p *policy.Policy) {}},
		{`audience: api`, "audience", func(p *policy.Policy) { p.Audience = "api" }},
		{`audience: !!str 123`, "audience", func(p *policy.Policy) { p.Audience = "123" }},
		{`tokens: {algorithm: ES256}`, "tokens.algorithm", func(p *policy.Policy) { p.Tokens.Algorithm = "ES256" }},
		{`tokens: {access_ttl: 1s}`, "tokens.access_ttl", func(p *policy.Policy) { p.Tokens.AccessTTL = time.Second }},
		{`tokens: {access_ttl: "1h30m"}`, "tokens.access_ttl", func(p *policy.Policy) { p.Tokens.AccessTTL = 90 * time.Minute }},
		{`tokens: {leeway: 0}`, "tokens.leeway", func(p *policy.Policy) { p.Tokens.Leeway = 0 }},
		{`sessions: {idle_timeout: 2s}`, "sessions.idle_timeout", func(p *policy.Policy) { p.Sessions.IdleTimeout = 2 * time.Second }},
		{`sessions: {absolute_lifetime: 3s}`, "sessions.absolute_lifetime", func(p *policy.Policy) { p.Sessions.AbsoluteLifetime = 3 * time.Second }},
		{`sessions: {reuse_grace: 500ms}`, "sessions.reuse_grace", func(p *policy.Policy) { p.Sessions.ReuseGrace = 500 * time.Millisecond }},
		{`cookies: {same_site: strict}`, "cookies.same_site", func(p *policy.Policy) { p.Cookies.SameSite = "strict" }},
		{`cookies: {same_site_none_reason: "embedded in partner.example"}`, "cookies.same_site_none_reason", func(p *policy.Policy) {
			p.Cookies.SameSiteNoneReason = "embedded in partner.example"
		}},
		{`csrf: {trusted_origins: ["https://app.example.com", "http://localhost:3000"]}`, "csrf.trusted_origins", func(p *policy.Policy) {
			p.CSRF.TrustedOrigins = []string{"https://app.example.com", "http://localhost:3000"}
		}},
		{`csrf: {trusted_origins: }`, "csrf.trusted_origins", func(p *policy.Policy) {}},
		{`passwords: {min_length: 12}`, "passwords.min_length", func(p *policy.Policy) { p.Passwords.MinLength = 12 }},
		{`passwords: {max_length: 0x100}`, "passwords.max_length", func(p *policy.Policy) { p.Passwords.MaxLength = 256 }},
		{`passwords: {argon2: {memory_kib: 4194304}}`, "passwords.argon2.memory_kib", func(p *policy.Policy) { p.Passwords.Argon2.MemoryKiB = 4194304 }},
		{`passwords: {argon2: {iterations: 4294967295}}`, "passwords.argon2.iterations", func(p *policy.Policy) { p.Passwords.Argon2.Iterations = 4294967295 }},
		{`passwords: {argon2: {parallelism: 255}}`, "passwords.argon2.parallelism", func(p *policy.Policy) { p.Passwords.Argon2.Parallelism = 255 }},
		{`passwords: {max_concurrent: 1_000}`, "passwords.max_concurrent", func(p *policy.Policy) { p.Passwords.MaxConcurrent = 1000 }},
		{`passwords: {breached: {enabled: true}}`, "passwords.breached.enabled", func(p *policy.Policy) { p.Passwords.Breached.Enabled = true }},
		{`passwords: {breached: {api_base: "https://pwned.internal"}}`, "passwords.breached.api_base", func(p *policy.Policy) { p.Passwords.Breached.APIBase = "https://pwned.internal" }},
		{`passwords: {breached: {fail: closed}}`, "passwords.breached.fail", func(p *policy.Policy) { p.Passwords.Breached.Fail = "closed" }},
		{`passwords: {breached: {timeout: 500ms}}`, "passwords.breached.timeout", func(p *policy.Policy) { p.Passwords.Breached.Timeout = 500 * time.Millisecond }},
		{`registration: closed`, "registration", func(p *policy.Policy) { p.Registration = "closed" }},
		{`throttle: {account: {max_failures: 3}}`, "throttle.account.max_failures", func(p *policy.Policy) { p.Throttle.Account.MaxFailures = 3 }},
		{`throttle: {account: {window: 1s}}`, "throttle.account.window", func(p *policy.Policy) { p.Throttle.Account.Window = time.Second }},
		{`throttle: {ip: {max_failures: 1000}}`, "throttle.ip.max_failures", func(p *policy.Policy) { p.Throttle.IP.MaxFailures = 1000 }},
		{`throttle: {ip: {window: 24h}}`, "throttle.ip.window", func(p *policy.Policy) { p.Throttle.IP.Window = 24 * time.Hour }},
		{`throttle: {delay: 0}`, "throttle.delay", func(p *policy.Policy) { p.Throttle.Delay = 0 }},
		{`throttle: {stuffing: {max_failures: 2000}}`, "throttle.stuffing.max_failures", func(p *policy.Policy) { p.Throttle.Stuffing.MaxFailures = 2000 }},
		{`throttle: {stuffing: {window: 1h}}`, "throttle.stuffing.window", func(p *policy.Policy) { p.Throttle.Stuffing.Window = time.Hour }},
		{`throttle: {stuffing: {ip_max_failures: 0}}`, "throttle.stuffing.ip_max_failures", func(p *policy.Policy) { p.Throttle.Stuffing.IPMaxFailures = 0 }},
		{`throttle: {registration: {max_attempts: 0}}`, "throttle.registration.max_attempts", func(p *policy.Policy) { p.Throttle.Registration.MaxAttempts = 0 }},
		{`throttle: {registration: {window: 24h}}`, "throttle.registration.window", func(p *policy.Policy) { p.Throttle.Registration.Window = 24 * time.Hour }},
		{`transport: {trusted_proxies: [10.0.0.1, "::1", 172.16.0.0/12, "fd00::/8"]}`, "transport.trusted_proxies", func(p *policy.Policy) {
			p.Transport.TrustedProxies = []netip.Prefix{
				netip.MustParsePrefix("10.0.0.1/32"),
				netip.MustParsePrefix("::1/128"),
				netip.MustParsePrefix("172.16.0.0/12"),
				netip.MustParsePrefix("fd00::/8"),
			}
		}},
		{`transport: {hsts_max_age: 0}`, "transport.hsts_max_age", func(p *policy.Policy) { p.Transport.HSTSMaxAge = 0 }},
		{`keys: {rotation_interval: 168h}`, "keys.rotation_interval", func(p *policy.Policy) { p.Keys.RotationInterval = 168 * time.Hour }},
		{`services: {feed_token_sha256: ["` + feedHash + `"]}`, "services.feed_token_sha256", func(p *policy.Policy) {
			p.Services.FeedTokenSHA256 = []string{feedHash}
		}},
	}
	covered := make(map[string]bool)
	for _, tt := range tests {
		covered[tt.key] = true
		want := baseline()
		tt.change(&want)
		got, src, err := policy.Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, want)
		}
		for _, key := range allKeys {
			wantSrc := "default"
			if key == tt.key {
				wantSrc = "file line 1"
			}
			if src[key] != wantSrc {
				t.Errorf("Parse(%q): Sources[%q] = %q, want %q", tt.in, key, src[key], wantSrc)
			}
		}
	}
	for _, key := range allKeys {
		if !covered[key] {
			t.Errorf("no single-key case for %s", key)
		}
	}
}

func TestParseSourcesLines(t *testing.T) {
	in := "# policy\n\npasswords:\n  argon2:\n    memory_kib: 65536\n  min_length: 10\ntransport:\n  trusted_proxies:\n    - 10.0.0.0/8\n"
	_, src, err := policy.Parse([]byte(in))
	if err != nil {
		t.Fatalf("Parse error: %v", err)
	}
	for key, want := range map[string]string{
		"passwords.argon2.memory_kib":  "file line 5",
		"passwords.min_length":         "file line 6",
		"transport.trusted_proxies":    "file line 8",
		"passwords.argon2.iterations":  "default",
		"passwords.argon2.parallelism": "default",
	} {
		if got := src[key]; got != want {
			t.Errorf("Sources[%q] = %q, want %q", key, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		key  string
		msg  string // a part of Error.Msg
	}{
		// Unknown and duplicate keys.
		{"unknown top-level key", "issuer: x\nfoo: 1\n", 2, "foo", "unknown key"},
		{"misspelt key", "issuer: x\naudience: y\ntokens:\n  acces_ttl: 10m\n", 4, "tokens.acces_ttl", "unknown key (did you mean access_ttl?)"},
		{"unknown nested key", "passwords:\n  argon2:\n    memory: 1\n", 3, "passwords.argon2.memory", "unknown key"},
		{"unknown section", "throttle:\n  acount: {max_failures: 1}\n", 2, "throttle.acount", "did you mean account?"},
		{"key in the wrong section", "tokens: {idle_timeout: 1h}\n", 1, "tokens.idle_timeout", "unknown key"},
		{"duplicate key", "issuer: a\naudience: b\nissuer: c\n", 3, "issuer", "duplicate key (first set on line 1)"},
		{"YAML 1.1 boolean", "passwords:\n  breached:\n    enabled: yes\n", 3, "passwords.breached.enabled", `want true or false, got the string "yes"`},
		{"duplicate section", "tokens: {leeway: 1s}\ntokens: {leeway: 2s}\n", 2, "tokens", "duplicate key"},
		{"duplicate nested key", "tokens:\n  leeway: 1s\n  leeway: 1s\n", 3, "tokens.leeway", "duplicate key"},
		{"non-string key", "1: x\n", 1, "", "want a plain key name"},
		{"merge key", "tokens: &t {leeway: 1s}\nsessions:\n  <<: *t\n", 3, "sessions", "want a plain key name"},

		// Wrong types.
		{"list for a section", "tokens: [1, 2]\n", 1, "tokens", "want a mapping of keys, got a list"},
		{"string for a section", "cookies: lax\n", 1, "cookies", "want a mapping of keys"},
		{"integer for a string", "issuer: 123\n", 1, "issuer", `want a string, got the integer 123 (quote it`},
		{"integer registration", "registration: 1\n", 1, "registration", "want a string, got the integer 1"},
		{"boolean for a string", "audience: true\n", 1, "audience", "want a string, got the boolean true"},
		{"mapping for a string", "issuer: {a: b}\n", 1, "issuer", "want a string, got a mapping"},
		{"custom tag", "audience: !secret x\n", 1, "audience", "got a value tagged !secret"},
		{"custom tag on a section", "tokens: !t {leeway: 1s}\n", 1, "tokens", "got a mapping tagged !t"},
		{"null for a string", "tokens:\n  algorithm:\n", 2, "tokens.algorithm", "no value given"},
		{"string for an integer", "passwords: {min_length: eight}\n", 1, "passwords.min_length", `want an integer, got the string "eight"`},
		{"float for an integer", "passwords: {min_length: 8.5}\n", 1, "passwords.min_length", "want an integer, got the number 8.5"},
		{"quoted integer", "passwords: {min_length: \"8\"}\n", 1, "passwords.min_length", "want an integer"},
		{"list for a duration", "tokens: {access_ttl: [10m]}\n", 1, "tokens.access_ttl", "want a duration such as 10m, got a list"},
		{"boolean for a duration", "tokens: {leeway: false}\n", 1, "tokens.leeway", "got the boolean false"},
		{"string for a list", "csrf: {trusted_origins: \"https://a.example\"}\n", 1, "csrf.trusted_origins", "want a list, got the string"},
		{"mapping for a list", "csrf:\n  trusted_origins:\n    a: b\n", 3, "csrf.trusted_origins", "want a list, got a mapping"},
		{"integer in a list", "csrf:\n  trusted_origins:\n    - https://a.example\n    - 42\n", 4, "csrf.trusted_origins", "want a string, got the integer 42"},
		{"top level not a mapping", "- issuer\n", 1, "", "the file must be a mapping of keys, got a list"},
		{"top level scalar", "hello\n", 1, "", "the file must be a mapping of keys"},

		// Durations.
		{"words", "issuer: x\naudience: y\ntokens:\n  access_ttl: 10 minutes\n", 4, "tokens.access_ttl", `invalid duration "10 minutes"`},
		{"bare number", "tokens: {leeway: 30}\n", 1, "tokens.leeway", `invalid duration "30": missing unit`},
		{"bare float", "sessions: {reuse_grace: 1.5}\n", 1, "sessions.reuse_grace", "missing unit"},
		{"negative", "sessions:\n  idle_timeout: -1h\n", 2, "sessions.idle_timeout", `invalid duration "-1h": must not be negative`},
		{"negative zero", "tokens: {leeway: -0}\n", 1, "tokens.leeway", "must not be negative"},
		{"day unit", "sessions: {absolute_lifetime: 30d}\n", 1, "sessions.absolute_lifetime", `invalid duration "30d"`},
		{"empty string", "throttle: {ip: {window: \"\"}}\n", 1, "throttle.ip.window", `invalid duration ""`},
		{"overflow", "transport: {hsts_max_age: 9999999999h}\n", 1, "transport.hsts_max_age", "invalid duration"},

		// Integers out of range.
		{"parallelism 256", "passwords:\n  argon2:\n    parallelism: 256\n", 3, "passwords.argon2.parallelism", "256 is out of range (0 to 255)"},
		{"memory over 4 GiB", "passwords: {argon2: {memory_kib: 4194305}}\n", 1, "passwords.argon2.memory_kib", "out of range (0 to 4194304)"},
		{"negative iterations", "passwords: {argon2: {iterations: -1}}\n", 1, "passwords.argon2.iterations", "out of range"},
		{"iterations over uint32", "passwords: {argon2: {iterations: 4294967296}}\n", 1, "passwords.argon2.iterations", "out of range"},
		{"int64 overflow", "passwords: {max_length: 9223372036854775808}\n", 1, "passwords.max_length", "does not fit in an integer"},
		{"uint64 overflow", "throttle: {ip: {max_failures: 99999999999999999999}}\n", 1, "throttle.ip.max_failures", "does not fit in an integer"},
		{"negative overflow", "passwords: {min_length: -99999999999999999999}\n", 1, "passwords.min_length", "does not fit in an integer"},

		// Trusted proxies.
		{"invalid IP", "transport:\n  trusted_proxies:\n    - 10.0.0.1\n    - 300.1.1.1\n", 4, "transport.trusted_proxies", `invalid IP address "300.1.1.1"`},
		{"hostname", "transport: {trusted_proxies: [proxy.internal]}\n", 1, "transport.trusted_proxies", "invalid IP address"},
		{"invalid CIDR", "transport: {trusted_proxies: [10.0.0.0/33]}\n", 1, "transport.trusted_proxies", `invalid CIDR "10.0.0.0/33"`},
		{"host bits set", "transport: {trusted_proxies: [10.0.0.1/8]}\n", 1, "transport.trusted_proxies", "did you mean 10.0.0.0/8?"},
		{"zone", "transport: {trusted_proxies: [\"fe80::1%eth0\"]}\n", 1, "transport.trusted_proxies", "must not have a zone"},

		// Documents, aliases, syntax and size.
		{"second document", "issuer: a\n---\naudience: b\n", 2, "", "a second YAML document"},
		{"alias", "issuer: &a x\naudience: *a\n", 2, "audience", "aliases are not allowed"},
		{"alias in a list", "csrf:\n  trusted_origins: &o [\"https://a.example\"]\ntransport:\n  trusted_proxies: [*o]\n", 4, "transport.trusted_proxies", "aliases are not allowed"},
		{"alias for a section", "tokens: &t {leeway: 1s}\nsessions: *t\n", 2, "sessions", "aliases are not allowed"},
		{"syntax error", "issuer: a\naudience: b\ntokens: [\n", 3, "", "invalid YAML"},
		{"missing colon", "issuer: a\naudience\n", 2, "", "invalid YAML"},
		{"too large", "#" + strings.Repeat(" ", policy.MaxSize), 0, "", "more than the limit of 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, src, err := policy.Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, nil error; want an error", tt.in, p)
			}
			if !reflect.DeepEqual(p, policy.Policy{}) || src != nil {
				t.Errorf("Parse(%q) returned a policy or sources with its error", tt.in)
			}
			var e *policy.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %v (%T) is not a *policy.Error", tt.in, err, err)
			}
			if e.Line != tt.line || e.Key != tt.key || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("Parse(%q) error = {Line: %d, Key: %q, Msg: %q}, want {Line: %d, Key: %q, Msg containing %q}",
					tt.in, e.Line, e.Key, e.Msg, tt.line, tt.key, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "policy: ") {
				t.Errorf("error %q does not start with %q", err, "policy: ")
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	in := "issuer: 1\ntokens:\n  acces_ttl: 1m\n  leeway: 30\nregistration: open\nregistration: closed\n"
	_, _, err := policy.Parse([]byte(in))
	want := []string{
		"policy: line 1: issuer: want a string, got the integer 1 (quote it if you mean the text: \"1\")",
		"policy: line 3: tokens.acces_ttl: unknown key (did you mean access_ttl?)",
		"policy: line 4: tokens.leeway: invalid duration \"30\": missing unit (write e.g. 30s or 30m)",
		"policy: line 6: registration: duplicate key (first set on line 5)",
	}
	if got := errorStrings(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseCapsErrors(t *testing.T) {
	var in strings.Builder
	for i := range 50 {
		fmt.Fprintf(&in, "unknown%d: x\n", i)
	}
	_, _, err := policy.Parse([]byte(in.String()))
	got := errorStrings(t, err)
	if len(got) != 21 {
		t.Fatalf("Parse of 50 unknown keys gave %d errors, want 20 and a summary", len(got))
	}
	if want := "policy: and 30 more problems"; got[20] != want {
		t.Errorf("last error = %q, want %q", got[20], want)
	}
}

// TestParseBillionLaughs checks that a file built to expand exponentially
// through aliases is refused, wherever the aliases are. Were the aliases
// expanded, the test would run out of memory or time.
func TestParseBillionLaughs(t *testing.T) {
	var lol strings.Builder
	lol.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for c := 'b'; c <= 'i'; c++ {
		fmt.Fprintf(&lol, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1)
	}
	for _, in := range []string{
		lol.String(),
		lol.String() + "csrf: {trusted_origins: *i}\n",
		"tokens:\n  " + strings.ReplaceAll(lol.String(), "\n", "\n  "),
	} {
		if _, _, err := policy.Parse([]byte(in)); err == nil {
			t.Errorf("Parse(billion laughs) gave no error")
		}
	}
}

// TestParseLargeFile checks that a file just under MaxSize is read.
func TestParseLargeFile(t *testing.T) {
	var in bytes.Buffer
	in.WriteString("transport:\n  trusted_proxies:\n")
	for i := 0; in.Len() < policy.MaxSize-100; i++ {
		fmt.Fprintf(&in, "    - 10.%d.%d.0/24\n", i/256%256, i%256)
	}
	p, _, err := policy.Parse(in.Bytes())
	if err != nil {
		t.Fatalf("Parse error: %v", err)
	}
	if len(p.Transport.TrustedProxies) < 1000 {
		t.Errorf("got %d trusted proxies, want many", len(p.Transport.TrustedProxies))
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  policy.Error
		want string
	}{
		{policy.Error{Line: 3, Key: "tokens.access_ttl", Msg: `invalid duration "10 minutes"`}, `policy: line 3: tokens.access_ttl: invalid duration "10 minutes"`},
		{policy.Error{Key: "audience", Msg: "must not be empty"}, "policy: audience: must not be empty"},
		{policy.Error{Line: 2, Msg: "invalid YAML: oops"}, "policy: line 2: invalid YAML: oops"},
		{policy.Error{Msg: "file too large"}, "policy: file too large"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// errorStrings returns the messages of the *policy.Error values joined in
// err, failing the test on any other kind of error.
func errorStrings(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want some")
	}
	var out []string
	for _, e := range unjoin(err) {
		if _, ok := e.(*policy.Error); !ok {
			t.Errorf("error %v is a %T, want *policy.Error", e, e)
		}
		out = append(out, e.Error())
	}
	return out
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
