package policy

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	// algorithms are the JWT signing algorithms the server implements.
	// "none" is not among them and never will be: an unsigned token would
	// let anyone be anyone.
	algorithms    = []string{"EdDSA", "ES256", "RS256", "HS256"}
	sameSites     = []string{"lax", "strict", "none"}
	registrations = []string{"open", "closed"}
	failModes     = []string{"open", "closed"}
)

// maxBreachedTimeout bounds passwords.breached.timeout: a sign-up or a
// password change waits for the check.
const maxBreachedTimeout = 30 * time.Second

// Validate reports values that can never work, so that the server refuses
// to start rather than run with them: a required duration that is not
// positive, a negative leeway or grace, impossible password or Argon2
// settings, a throttle that blocks the first attempt, an unknown algorithm,
// SameSite or registration mode, a trusted origin that no browser would
// send, an invalid trusted proxy and an empty audience. It also repeats the
// range checks Parse makes, so that a Policy built in code is held to the
// same rules as one read from a file.
//
// The error joins one [*Error] per problem, in document order, each with
// Key set and Line 0; [Sources.Locate] adds the lines. Validate returns nil
// for [Default]().
func (p Policy) Validate() error {
	var v validation
	if p.Audience == "" {
		v.fail("audience", "must not be empty: a token must name the service it is for, so that one service's token is refused by another")
	}
	v.oneOf("tokens.algorithm", p.Tokens.Algorithm, algorithms)
	v.positive("tokens.access_ttl", p.Tokens.AccessTTL)
	v.nonNegative("tokens.leeway", p.Tokens.Leeway)
	v.positive("sessions.idle_timeout", p.Sessions.IdleTimeout)
	v.positive("sessions.absolute_lifetime", p.Sessions.AbsoluteLifetime)
	v.nonNegative("sessions.reuse_grace", p.Sessions.ReuseGrace)
	v.oneOf("cookies.same_site", p.Cookies.SameSite, sameSites)
	for i, o := range p.CSRF.TrustedOrigins {
		if why := checkOrigin(o); why != "" {
			v.fail("csrf.trusted_origins", "entry %d, %q, is not an origin (scheme://host[:port]): %s", i+1, clip(o), why)
		}
	}
	pw := p.Passwords
	if pw.MinLength < 1 {
		v.fail("passwords.min_length", "must be at least 1, got %d", pw.MinLength)
	}
	if pw.MaxLength < pw.MinLength {
		v.fail("passwords.max_length", "must be at least passwords.min_length (%d), got %d", pw.MinLength, pw.MaxLength)
	}
	if pw.Argon2.MemoryKiB == 0 || pw.Argon2.MemoryKiB > maxMemoryKiB {
		v.fail("passwords.argon2.memory_kib", "must be between 1 and %d, got %d", maxMemoryKiB, pw.Argon2.MemoryKiB)
	}
	if pw.Argon2.Iterations == 0 {
		v.fail("passwords.argon2.iterations", "must be at least 1")
	}
	if pw.Argon2.Parallelism == 0 {
		v.fail("passwords.argon2.parallelism", "must be at least 1")
	}
	if pw.MaxConcurrent < 0 {
		v.fail("passwords.max_concurrent", "must not be negative (0 means one per CPU, within 64 MiB), got %d", pw.MaxConcurrent)
	}
	if why := checkAPIBase(pw.Breached.APIBase); why != "" {
		v.fail("passwords.breached.api_base", "%q %s", clip(pw.Breached.APIBase), why)
	}
	v.oneOf("passwords.breached.fail", pw.Breached.Fail, failModes)
	if t := pw.Breached.Timeout; t <= 0 || t > maxBreachedTimeout {
		v.fail("passwords.breached.timeout", "must be positive and at most %s, got %s", formatDuration(maxBreachedTimeout), formatDuration(t))
	}
	v.oneOf("registration", p.Registration, registrations)
	v.limit("throttle.account", p.Throttle.Account)
	v.limit("throttle.ip", p.Throttle.IP)
	v.nonNegative("throttle.delay", p.Throttle.Delay)
	if d := p.Throttle.Delay; d >= p.Throttle.Account.Window && p.Throttle.Account.Window > 0 {
		v.fail("throttle.delay", "must be shorter than throttle.account.window (%s), got %s: the delay doubles from it up to the window", formatDuration(p.Throttle.Account.Window), formatDuration(d))
	}
	st := p.Throttle.Stuffing
	v.limit("throttle.stuffing", Limit{MaxFailures: st.MaxFailures, Window: st.Window})
	if st.IPMaxFailures < 0 || (st.IPMaxFailures > 0 && p.Throttle.IP.MaxFailures >= 1 && st.IPMaxFailures >= p.Throttle.IP.MaxFailures) {
		v.fail("throttle.stuffing.ip_max_failures", "must be 0 (keep throttle.ip.max_failures during the alarm) or between 1 and throttle.ip.max_failures (%d) minus 1, got %d", p.Throttle.IP.MaxFailures, st.IPMaxFailures)
	}
	if reg := p.Throttle.Registration; reg.MaxAttempts < 0 {
		v.fail("throttle.registration.max_attempts", "must not be negative (0 turns the limit off), got %d", reg.MaxAttempts)
	}
	v.positive("throttle.registration.window", p.Throttle.Registration.Window)
	for i, pfx := range p.Transport.TrustedProxies {
		if !pfx.IsValid() || pfx != pfx.Masked() {
			v.fail("transport.trusted_proxies", "entry %d, %s, is not a valid IP prefix", i+1, pfx)
		}
	}
	v.nonNegative("transport.hsts_max_age", p.Transport.HSTSMaxAge)
	if p.Keys.RotationInterval <= p.Tokens.AccessTTL {
		v.fail("keys.rotation_interval", "must be longer than tokens.access_ttl (%s), got %s", formatDuration(p.Tokens.AccessTTL), formatDuration(p.Keys.RotationInterval))
	}
	for i, h := range p.Services.FeedTokenSHA256 {
		if !isSHA256Hex(h) {
			v.fail("services.feed_token_sha256", "entry %d is not a SHA-256 in lower-case hex (64 characters): store the hash of the token, never the token (printf %%s \"$TOKEN\" | sha256sum)", i+1)
		}
	}
	return errors.Join(v.errs...)
}

// A validation collects the problems Validate finds.
type validation struct {
	errs []error
}

func (v *validation) fail(key, format string, args ...any) {
	v.errs = append(v.errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validation) positive(key string, d time.Duration) {
	if d <= 0 {
		v.fail(key, "must be positive, got %s", formatDuration(d))
	}
}

func (v *validation) nonNegative(key string, d time.Duration) {
	if d < 0 {
		v.fail(key, "must not be negative, got %s", formatDuration(d))
	}
}

func (v *validation) oneOf(key, s string, allowed []string) {
	if !slices.Contains(allowed, s) {
		v.fail(key, "unknown value %q (want %s)", clip(s), strings.Join(allowed, ", "))
	}
}

func (v *validation) limit(key string, l Limit) {
	if l.MaxFailures < 1 {
		v.fail(key+".max_failures", "must be at least 1, got %d", l.MaxFailures)
	}
	v.positive(key+".window", l.Window)
}

// checkOrigin returns why s is not an origin exactly as a browser sends it
// in the Origin header (lower-case scheme://host[:port], no default port),
// or "" if it is one. Origins are compared byte for byte, so an entry in any
// other form would never match and is refused rather than silently ignored.
func checkOrigin(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "the scheme must be http or https"
	case u.Opaque != "" || u.Hostname() == "":
		return "there is no host"
	case u.User != nil:
		return "remove the user info"
	case u.Path != "" || u.RawPath != "":
		return "remove the path (even a trailing /)"
	case u.RawQuery != "" || u.ForceQuery:
		return "remove the query"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "remove the fragment"
	case s != strings.ToLower(s):
		return "write it in lower case, as browsers send it"
	case !isASCII(s):
		return "write the host in its ASCII (punycode) form, as browsers send it"
	case strings.HasSuffix(u.Host, ":"):
		return "the port is empty"
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		switch {
		case err != nil || n < 1 || n > 65535 || port[0] == '0':
			return "invalid port " + port
		case u.Scheme == "http" && n == 80, u.Scheme == "https" && n == 443:
			return "remove the default port, which browsers leave out"
		}
	}
	return ""
}

// checkAPIBase returns why s cannot be the base URL of a Pwned Passwords
// range API, or "" if it can: an absolute https URL, plain http only on a
// loopback host (a local mirror), no user info, query or fragment.
func checkAPIBase(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return "is not an absolute URL (want e.g. https://api.pwnedpasswords.com)"
	case u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())):
		return "must use https (plain http only on a loopback host)"
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "must have no user info, query or fragment"
	}
	return ""
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
