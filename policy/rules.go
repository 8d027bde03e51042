package policy

import (
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// References used by several rules.
const (
	refStolenAccess = "RFC 9700 §4.10; RFC 6819 §5.1.5.3"
	refLeeway       = "RFC 7519 §4.1.4; ASVS 9.2.1"
	refSameSite     = `RFC 6265bis "The SameSite Attribute"; ASVS 3.3.2`
	refCSRF         = "ASVS 3.5.1; OWASP Cross-Site Request Forgery Prevention Cheat Sheet"
	refProxies      = "RFC 9700 §4.13; RFC 7239 §8.1"
	refHSTS         = "ASVS 3.4.1; RFC 6797 §6.1.1; OWASP HTTP Strict Transport Security Cheat Sheet"
	refReuse        = "RFC 9700 §4.14.2; ASVS 10.4.5"
	refThrottle     = "ASVS 6.3.1; NIST SP 800-63B-3 §5.2.2; OWASP Authentication Cheat Sheet"
	refDelay        = "ASVS 6.3.1; ASVS 6.1.1; OWASP Authentication Cheat Sheet (exponential back-off); SECURITY-CASES G-04"
	refStuffing     = "ASVS 6.3.1; OWASP Credential Stuffing Prevention Cheat Sheet; SECURITY-CASES G-06"
	refSignUp       = "ASVS 2.4.1; OWASP Authentication Cheat Sheet (Protect Against Automated Attacks); SECURITY-CASES I-10"
)

const (
	day  = 24 * time.Hour
	year = 365 * day
	// reuseGraceWarn is the default reuse_grace. Racing requests from one
	// browser (two tabs refreshing at once) land within a second or two of
	// each other even on slow mobile links, so the default already has a
	// wide margin; anything longer only lengthens the time in which a
	// replayed, already-rotated refresh token is answered rather than
	// revoking the session, and deserves a reason.
	reuseGraceWarn = 10 * time.Second
	// reuseGraceMax is where that undetected-replay window stops being a
	// trade-off: a minute is far beyond any honest race.
	reuseGraceMax = time.Minute
	// argon2MemoryBudgetKiB is the memory that concurrent password hashing
	// may take before it is a denial-of-service risk on a typical host.
	argon2MemoryBudgetKiB = 1 << 20 // 1 GiB
	// breachedTimeoutMin is the shortest breached-password timeout that
	// leaves room for a TLS handshake with a distant API, a padded answer
	// of some 30 KiB and a wait for one of the 32 check slots; below it
	// checks time out on an ordinary day. A mirror on this machine answers
	// in milliseconds and is exempt.
	breachedTimeoutMin = 500 * time.Millisecond
	// delayFelt is the wait below which the progressive delay is lost in
	// the time a login takes anyway (a round trip and an argon2id hash):
	// a delay that never reaches it before the account limit takes over
	// slows no script.
	delayFelt = time.Second
	// accountWindowMax is the longest account window that is not a
	// lockout attack in itself: anyone can fail max_failures logins on
	// purpose and block password login from every new browser for a whole
	// window.
	accountWindowMax = day
	// signUpsPerHourMax is the most sign-ups an hour from one address
	// that are not a flood in themselves: five times the default, more
	// than an office behind one NAT signs up on its busiest day, and
	// enough for one script to fill the breached-password check's 32
	// slots several times over.
	signUpsPerHourMax = 100
)

// argon2Minimum returns the least memory, in KiB, OWASP's Password Storage
// Cheat Sheet accepts for argon2id with the given number of passes (its
// table of equivalent settings, all with parallelism 1).
func argon2Minimum(iterations uint32) uint32 {
	switch iterations {
	case 0:
		return ^uint32(0)
	case 1:
		return 47104
	case 2:
		return 19456
	case 3:
		return 12288
	case 4:
		return 9216
	default:
		return 7168
	}
}

// when returns msg, formatted, as the only message if cond holds.
func when(cond bool, format string, args ...any) []string {
	if !cond {
		return nil
	}
	return []string{fmt.Sprintf(format, args...)}
}

// rules are the checks of Check, grouped as the sections of Document.
var rules = []rule{
	// Tokens and signing.
	{Rule{"tokens.access_ttl.too_long", SeverityError, "tokens.access_ttl",
		"A stolen access token is a bearer credential that works until it expires, and a day or more is enough to use it at leisure.",
		refStolenAccess}, func(p Policy, _ Context) []string {
		return when(p.Tokens.AccessTTL > day, "access tokens live %s, more than 24h; set 5m to 1h and let the refresh token keep users logged in", formatDuration(p.Tokens.AccessTTL))
	}},
	{Rule{"tokens.access_ttl.long", SeverityWarning, "tokens.access_ttl",
		"A stolen access token is a bearer credential that works until it expires, so every extra minute of lifetime is a minute of use for a thief.",
		refStolenAccess}, func(p Policy, _ Context) []string {
		ttl := p.Tokens.AccessTTL
		return when(ttl > time.Hour && ttl <= day, "access tokens live %s, more than 1h; 5m to 15m is usual, since refreshing is cheap", formatDuration(ttl))
	}},
	{Rule{"tokens.leeway.too_large", SeverityError, "tokens.leeway",
		"Leeway extends every token beyond its exp, so a large one silently lengthens the life of stolen and revoked tokens, while synchronised clocks differ by seconds.",
		refLeeway}, func(p Policy, _ Context) []string {
		return when(p.Tokens.Leeway > 5*time.Minute, "leeway is %s, more than 5m; keep it at 30s to 60s and synchronise clocks with NTP", formatDuration(p.Tokens.Leeway))
	}},
	{Rule{"tokens.leeway.large", SeverityWarning, "tokens.leeway",
		"Leeway extends every token beyond its exp, so it lengthens the life of stolen tokens by as much.",
		refLeeway}, func(p Policy, _ Context) []string {
		l := p.Tokens.Leeway
		return when(l > time.Minute && l <= 5*time.Minute, "leeway is %s, more than 60s; clocks kept by NTP need far less", formatDuration(l))
	}},
	{Rule{"tokens.leeway.exceeds_access_ttl", SeverityWarning, "tokens.leeway",
		"A leeway as long as the token lifetime at least doubles how long a token is accepted, which makes the configured lifetime misleading.",
		refLeeway}, func(p Policy, _ Context) []string {
		l, ttl := p.Tokens.Leeway, p.Tokens.AccessTTL
		return when(l > 0 && ttl > 0 && l >= ttl, "leeway %s is not shorter than access_ttl %s: tokens are accepted for %s", formatDuration(l), formatDuration(ttl), formatDuration(l+ttl))
	}},
	{Rule{"tokens.algorithm.hs256", SeverityNote, "tokens.algorithm",
		"With HS256 the verification key is the signing key, so any service able to verify tokens can also mint them for any user.",
		"RFC 7515 §10.5; ASVS 9.1.2"}, func(p Policy, _ Context) []string {
		return when(p.Tokens.Algorithm == "HS256", "HS256 is for a single service only: the secret is never published in the JWKS, and every service that verifies tokens must hold it; use EdDSA to let other services verify")
	}},
	{Rule{"tokens.hs256.short_secret", SeverityError, "tokens.algorithm",
		"An HMAC key shorter than the hash output can be brute-forced offline from a single captured token, after which anyone can mint tokens.",
		"RFC 7518 §3.2; RFC 8725 §3.5"}, func(p Policy, c Context) []string {
		n := c.HS256SecretLen
		return when(p.Tokens.Algorithm == "HS256" && n > 0 && n < 32, "the HS256 secret is %d bytes; it must be at least 32 random bytes", n)
	}},
	{Rule{"tokens.hs256.low_entropy", SeverityError, "tokens.algorithm",
		"A human-chosen HMAC key is guessed offline from a single captured token by dictionary attack, after which anyone can mint tokens.",
		"RFC 8725 §3.5; ASVS 11.5.1"}, func(p Policy, c Context) []string {
		return when(p.Tokens.Algorithm == "HS256" && c.HS256SecretLowEntropy, "the HS256 secret looks chosen by a person (a phrase, a pattern or a common word); use 32 bytes from a random generator")
	}},
	{Rule{"issuer.derived", SeverityNote, "issuer",
		"Relying services must compare iss with a fixed value, and a derived issuer changes whenever the address or scheme does, invalidating every access token.",
		"RFC 8725 §3.8; ASVS 9.2.3"}, func(p Policy, c Context) []string {
		if p.Issuer != "" {
			return nil
		}
		derived := ""
		if iss := effectiveIssuer(p, c); iss != "" {
			derived = " (" + iss + ")"
		}
		return []string{"issuer is not set, so the server derives it from the address it listens on" + derived + "; set it to the public https URL of this server"}
	}},
	{Rule{"issuer.http", SeverityWarning, "issuer",
		"Services that find the verification keys at the issuer's URL would fetch them over plain HTTP, where anyone on the path can substitute their own keys.",
		"ASVS 9.1.3; ASVS 12.2.1"}, func(p Policy, c Context) []string {
		iss := effectiveIssuer(p, c)
		u, err := url.Parse(iss)
		if err != nil || u.Scheme != "http" || isLoopbackHost(u.Hostname()) {
			return nil
		}
		return []string{fmt.Sprintf("issuer %q is an http:// URL on a host other than this machine; use the https URL clients reach", clip(iss))}
	}},
	{Rule{"secrets.master_key.file", SeverityNote, "GATEHOUSE_MASTER_KEY",
		"The key that seals the signing keys then sits next to the database it protects, so one copy of the data dir (a backup, a snapshot) yields both.",
		"ASVS 13.3.1"}, func(p Policy, c Context) []string {
		return when(!c.MasterKeyFromEnv, "the master key is read from master.key in the data dir; in production pass it in GATEHOUSE_MASTER_KEY from a secrets manager and keep it out of backups of the data dir")
	}},

	// Cookies.
	{Rule{"cookies.same_site.none", SeverityError, "cookies.same_site",
		"SameSite=None makes browsers attach the access cookie to requests from any site, leaving CSRF defence to the Origin checks alone and exposing authenticated responses to cross-site leaks.",
		refSameSite}, func(p Policy, _ Context) []string {
		return when(p.Cookies.SameSite == "none" && strings.TrimSpace(p.Cookies.SameSiteNoneReason) == "",
			"same_site is none with no reason given; use lax, or record why cross-site cookies are needed in cookies.same_site_none_reason")
	}},
	{Rule{"cookies.same_site.none_justified", SeverityWarning, "cookies.same_site",
		"SameSite=None makes browsers attach the access cookie to requests from any site, leaving CSRF defence to the Origin checks alone.",
		refSameSite}, func(p Policy, _ Context) []string {
		reason := strings.TrimSpace(p.Cookies.SameSiteNoneReason)
		return when(p.Cookies.SameSite == "none" && reason != "", "same_site is none (reason given: %q); make sure trusted_origins is as short as it can be", clip(reason))
	}},
	{Rule{"cookies.same_site_none_reason.unused", SeverityNote, "cookies.same_site_none_reason",
		"A recorded exception that no longer applies misleads the next reviewer about what the deployment does.",
		refSameSite}, func(p Policy, _ Context) []string {
		return when(p.Cookies.SameSite != "none" && strings.TrimSpace(p.Cookies.SameSiteNoneReason) != "",
			"a reason for SameSite=None is recorded but same_site is %s; remove the reason", p.Cookies.SameSite)
	}},

	// CSRF.
	{Rule{"csrf.trusted_origins.wildcard", SeverityError, "csrf.trusted_origins",
		"Origins are compared exactly, so a wildcard either matches nothing, silently, or, read as intended, lets every site make authenticated state-changing requests.",
		refCSRF}, func(p Policy, _ Context) []string {
		var msgs []string
		for _, o := range p.CSRF.TrustedOrigins {
			if strings.Contains(o, "*") {
				msgs = append(msgs, fmt.Sprintf("trusted origin %q contains a wildcard; list each origin exactly", clip(o)))
			}
		}
		return msgs
	}},
	{Rule{"csrf.trusted_origins.http", SeverityError, "csrf.trusted_origins",
		"A page served over plain HTTP can be rewritten by anyone on the network path, who then makes state-changing requests that Gatehouse trusts as coming from that origin.",
		refCSRF}, func(p Policy, _ Context) []string {
		var msgs []string
		for _, o := range p.CSRF.TrustedOrigins {
			if u, err := url.Parse(o); err == nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
				msgs = append(msgs, fmt.Sprintf("trusted origin %q is plain http; trust only https origins", clip(o)))
			}
		}
		return msgs
	}},
	{Rule{"csrf.trusted_origins.http_loopback", SeverityWarning, "csrf.trusted_origins",
		"Every page served from that local port, by any program on the user's machine, may make state-changing requests with the user's cookies.",
		refCSRF}, func(p Policy, _ Context) []string {
		var msgs []string
		for _, o := range p.CSRF.TrustedOrigins {
			if u, err := url.Parse(o); err == nil && u.Scheme == "http" && isLoopbackHost(u.Hostname()) {
				msgs = append(msgs, fmt.Sprintf("trusted origin %q is a local development origin; remove it in production", clip(o)))
			}
		}
		return msgs
	}},

	// Transport.
	{Rule{"transport.plain_http", SeverityError, "--addr",
		"Passwords, session cookies and tokens would cross the network unencrypted, readable and changeable by anyone on the path.",
		"ASVS 12.2.1"}, func(p Policy, c Context) []string {
		host, ok := listenHost(c.Addr)
		if !ok || c.TLS || len(p.Transport.TrustedProxies) > 0 || isLoopbackHost(host) {
			return nil
		}
		return []string{fmt.Sprintf("plain HTTP on %s, which is not a loopback address; configure TLS (--tls-cert/--tls-key), or listen on 127.0.0.1 behind a TLS-terminating proxy listed in transport.trusted_proxies", c.Addr)}
	}},
	{Rule{"transport.trusted_proxies.any", SeverityError, "transport.trusted_proxies",
		"Every client becomes a trusted proxy and can choose its own address in X-Forwarded-For, escaping the per-address login limit and forging the audit trail, and can claim https.",
		refProxies}, func(p Policy, _ Context) []string {
		var msgs []string
		for _, pfx := range p.Transport.TrustedProxies {
			if pfx.Bits() == 0 {
				msgs = append(msgs, fmt.Sprintf("%s trusts every address; list only your proxies' addresses", pfx))
			}
		}
		return msgs
	}},
	{Rule{"transport.trusted_proxies.broad", SeverityWarning, "transport.trusted_proxies",
		"Any host in the range can forge X-Forwarded-For and X-Forwarded-Proto, so a public range wider than your own proxies hands that power to strangers.",
		refProxies}, func(p Policy, _ Context) []string {
		var msgs []string
		for _, pfx := range p.Transport.TrustedProxies {
			if pfx.Bits() > 0 && broadPublic(pfx) {
				msgs = append(msgs, fmt.Sprintf("%s is a broad range of public addresses; list only the addresses of your proxies", pfx))
			}
		}
		return msgs
	}},
	{Rule{"transport.hsts.disabled", SeverityWarning, "transport.hsts_max_age",
		"Without HSTS, a browser's plain-HTTP request to the site can be intercepted and kept on HTTP (SSL stripping), exposing cookies and passwords.",
		refHSTS}, func(p Policy, _ Context) []string {
		return when(p.Transport.HSTSMaxAge == 0, "HSTS is disabled (hsts_max_age is 0); set 8760h (one year)")
	}},
	{Rule{"transport.hsts.short", SeverityWarning, "transport.hsts_max_age",
		"A short HSTS max-age lapses between a user's visits, reopening the first-request window for SSL stripping.",
		refHSTS}, func(p Policy, _ Context) []string {
		h := p.Transport.HSTSMaxAge
		return when(h > 0 && h < year, "hsts_max_age is %s, less than one year (8760h)", formatDuration(h))
	}},
	{Rule{"transport.dev_tls", SeverityWarning, "--dev-tls",
		"A self-signed certificate is trusted by no browser, so users learn to click through certificate warnings, which is exactly what an interception attack needs.",
		"ASVS 12.2.2"}, func(_ Policy, c Context) []string {
		return when(c.DevTLS, "the self-signed development certificate is in use; it is for trying Gatehouse out, not for production: use --tls-cert/--tls-key with a publicly trusted certificate")
	}},

	// Sessions and revocation.
	{Rule{"sessions.reuse_grace.too_long", SeverityError, "sessions.reuse_grace",
		"Within the grace window a stolen, already-rotated refresh token is answered with the live successor instead of revoking the session, so the theft goes undetected.",
		refReuse}, func(p Policy, _ Context) []string {
		g := p.Sessions.ReuseGrace
		return when(g > reuseGraceMax, "reuse_grace is %s, more than 60s; honest races between tabs take a second or two: keep the default 10s", formatDuration(g))
	}},
	{Rule{"sessions.reuse_grace.long", SeverityWarning, "sessions.reuse_grace",
		"Within the grace window a stolen, already-rotated refresh token is answered with the live successor instead of revoking the session, so the theft goes undetected.",
		refReuse}, func(p Policy, _ Context) []string {
		g := p.Sessions.ReuseGrace
		return when(g > reuseGraceWarn && g <= reuseGraceMax, "reuse_grace is %s, more than the default 10s, which already covers racing requests on slow links", formatDuration(g))
	}},
	{Rule{"sessions.absolute_lifetime.shorter_than_idle", SeverityError, "sessions.absolute_lifetime",
		"The idle timeout can never take effect, a sign that the two values are swapped and sessions do not end when the operator believes they do.",
		"ASVS 7.3.1; ASVS 7.3.2"}, func(p Policy, _ Context) []string {
		s := p.Sessions
		return when(s.AbsoluteLifetime < s.IdleTimeout, "absolute_lifetime %s is shorter than idle_timeout %s; the idle timeout never applies", formatDuration(s.AbsoluteLifetime), formatDuration(s.IdleTimeout))
	}},
	{Rule{"sessions.idle_timeout.long", SeverityWarning, "sessions.idle_timeout",
		"A refresh token left on an abandoned or stolen device keeps its session alive for as long as the idle timeout.",
		"ASVS 7.3.1; OWASP Session Management Cheat Sheet"}, func(p Policy, _ Context) []string {
		return when(p.Sessions.IdleTimeout > 30*day, "idle_timeout is %s, more than 30 days (720h)", formatDuration(p.Sessions.IdleTimeout))
	}},
	{Rule{"sessions.absolute_lifetime.long", SeverityWarning, "sessions.absolute_lifetime",
		"A stolen refresh token that is kept in use can hold its session open until the absolute lifetime ends.",
		"ASVS 7.3.2; ASVS 10.4.8"}, func(p Policy, _ Context) []string {
		return when(p.Sessions.AbsoluteLifetime > 90*day, "absolute_lifetime is %s, more than 90 days (2160h)", formatDuration(p.Sessions.AbsoluteLifetime))
	}},

	// Passwords.
	{Rule{"passwords.min_length.too_short", SeverityError, "passwords.min_length",
		"Passwords shorter than 8 characters fall to online guessing and to offline cracking of a stolen database in little time.",
		"ASVS 6.2.1; NIST SP 800-63B-3 §5.1.1.2"}, func(p Policy, _ Context) []string {
		return when(p.Passwords.MinLength < 8, "min_length is %d; it must be at least 8", p.Passwords.MinLength)
	}},
	{Rule{"passwords.min_length.below_recommended", SeverityNote, "passwords.min_length",
		"Short passwords are the first an attacker tries; length is what makes a password hard to guess.",
		"ASVS 6.2.1"}, func(p Policy, _ Context) []string {
		n := p.Passwords.MinLength
		return when(n >= 8 && n < 15, "min_length is %d; ASVS strongly recommends 15 for passwords that are the only factor", n)
	}},
	{Rule{"passwords.max_length.below_min", SeverityError, "passwords.max_length",
		"No password satisfies both bounds, so nobody can register or change a password.",
		"ASVS 6.2.1; ASVS 6.2.9"}, func(p Policy, _ Context) []string {
		pw := p.Passwords
		return when(pw.MaxLength < pw.MinLength, "max_length %d is below min_length %d", pw.MaxLength, pw.MinLength)
	}},
	{Rule{"passwords.max_length.too_short", SeverityError, "passwords.max_length",
		"A cap below 64 forbids passphrases and password-manager output, pushing users to shorter, weaker passwords.",
		"ASVS 6.2.9"}, func(p Policy, _ Context) []string {
		return when(p.Passwords.MaxLength < 64, "max_length is %d; passwords of at least 64 characters must be allowed", p.Passwords.MaxLength)
	}},
	{Rule{"passwords.argon2.below_owasp", SeverityError, "passwords.argon2.memory_kib",
		"Hashes cheaper than the OWASP minimum let a stolen password database be cracked offline on GPUs far faster than intended.",
		"OWASP Password Storage Cheat Sheet (Argon2id); ASVS 11.4.2"}, func(p Policy, _ Context) []string {
		a := p.Passwords.Argon2
		need := argon2Minimum(a.Iterations)
		return when(a.Iterations > 0 && a.MemoryKiB < need,
			"argon2id with %d KiB and %d iterations is below the OWASP minimum of %d KiB for %d iterations (19456 KiB with 2, 12288 with 3, 9216 with 4, 7168 with 5 or more)",
			a.MemoryKiB, a.Iterations, need, a.Iterations)
	}},
	{Rule{"passwords.argon2.memory_budget", SeverityWarning, "passwords.max_concurrent",
		"Each running hash holds memory_kib of memory, so a burst of logins takes memory_kib × max_concurrent and can push the server into swap or the OOM killer.",
		"ASVS 2.4.1; OWASP Password Storage Cheat Sheet"}, func(p Policy, _ Context) []string {
		pw := p.Passwords
		total := uint64(pw.Argon2.MemoryKiB) * uint64(max(pw.MaxConcurrent, 0))
		return when(total > argon2MemoryBudgetKiB, "%d concurrent hashes of %d KiB take up to %.1f GiB; lower max_concurrent so that the total stays within the memory you can spare",
			pw.MaxConcurrent, pw.Argon2.MemoryKiB, float64(total)/(1<<20))
	}},
	{Rule{"passwords.breached.fail_open", SeverityWarning, "passwords.breached.fail",
		"While the range API cannot answer in time a password known from a breach is accepted if it passes the local rules, and anyone able to slow the API down, or to fill its 32 check slots with sign-ups, chooses when that happens.",
		"ASVS 6.2.12; ASVS 16.5.3; SECURITY-CASES H-06"}, func(p Policy, _ Context) []string {
		b := p.Passwords.Breached
		return when(b.Enabled && b.Fail == "open", "the breached-password check fails open: a new password is accepted unchecked whenever the API does not answer within %s (only a warning is logged); set passwords.breached.fail to closed, or alert on that warning if sign-ups must not depend on the API", formatDuration(b.Timeout))
	}},
	{Rule{"passwords.breached.timeout.short", SeverityWarning, "passwords.breached.timeout",
		"A timeout shorter than an ordinary round trip to the range API makes checks time out routinely, which skips the check when it fails open and refuses sign-ups and password changes when it fails closed.",
		"ASVS 6.2.12; SECURITY-CASES H-06"}, func(p Policy, _ Context) []string {
		b := p.Passwords.Breached
		if !b.Enabled || b.Timeout >= breachedTimeoutMin || isLoopbackAPI(b.APIBase) {
			return nil
		}
		outcome := "the password is accepted unchecked (fail open)"
		if b.Fail == "closed" {
			outcome = "the sign-up or password change is refused with 503 (fail closed)"
		}
		return []string{fmt.Sprintf("breached.timeout is %s, under 500ms: a check that waits for a slot or for a slow answer gives up and %s; keep the default 2s", formatDuration(b.Timeout), outcome)}
	}},

	// Throttling and enumeration.
	{Rule{"throttle.account.ineffective", SeverityError, "throttle.account.max_failures",
		"Online guessing against one account is limited only by this number, and NIST caps consecutive failures at 100.",
		refThrottle}, func(p Policy, _ Context) []string {
		return when(p.Throttle.Account.MaxFailures > 100, "account.max_failures is %d, more than 100; 5 to 10 is usual", p.Throttle.Account.MaxFailures)
	}},
	{Rule{"throttle.ip.ineffective", SeverityWarning, "throttle.ip.max_failures",
		"Without a real per-address limit one client can spray common passwords across every account, since the account limit only counts failures per account.",
		refThrottle}, func(p Policy, _ Context) []string {
		return when(p.Registration != "open" && p.Throttle.IP.MaxFailures > 1000, "ip.max_failures is %d, more than 1000; 50 to 100 is usual", p.Throttle.IP.MaxFailures)
	}},
	{Rule{"registration.open_unthrottled", SeverityError, "throttle.ip.max_failures",
		"With open sign-up the server faces the internet at large, and without a real per-address limit one client can spray common passwords across every account.",
		refThrottle}, func(p Policy, _ Context) []string {
		return when(p.Registration == "open" && p.Throttle.IP.MaxFailures > 1000, "registration is open and ip.max_failures is %d, more than 1000, which disables the per-address limit in practice; 50 to 100 is usual", p.Throttle.IP.MaxFailures)
	}},
	{Rule{"throttle.account.window.short", SeverityWarning, "throttle.account.window",
		"The limit restarts with every window, so a short window multiplies the guesses an attacker gets against an account each day.",
		refThrottle}, func(p Policy, _ Context) []string {
		l := p.Throttle.Account
		return when(l.Window > 0 && l.Window < time.Minute, "account.window is %s, under 1m: up to %d guesses per account per day", formatDuration(l.Window), perDay(l))
	}},
	{Rule{"throttle.ip.window.short", SeverityWarning, "throttle.ip.window",
		"The limit restarts with every window, so a short window multiplies the guesses one address gets each day.",
		refThrottle}, func(p Policy, _ Context) []string {
		l := p.Throttle.IP
		return when(l.Window > 0 && l.Window < time.Minute, "ip.window is %s, under 1m: up to %d guesses per address per day", formatDuration(l.Window), perDay(l))
	}},
	{Rule{"throttle.account.window.long", SeverityWarning, "throttle.account.window",
		"Anyone can fail an account's logins on purpose and block password login to it from every browser that has not logged into it before until the window ends, so a long window makes the limit itself a lockout attack.",
		"ASVS 6.1.1; OWASP Authentication Cheat Sheet (Account Lockout); SECURITY-CASES G-09"}, func(p Policy, _ Context) []string {
		l := p.Throttle.Account
		return when(l.Window > accountWindowMax, "account.window is %s, more than 24h: %d wrong passwords lock the owner out of password login from any new browser for that long; 15m to 1h is usual", formatDuration(l.Window), l.MaxFailures)
	}},
	{Rule{"throttle.delay.disabled", SeverityWarning, "throttle.delay",
		"Without the progressive delay every guess the account limit allows can be fired as fast as the server answers, instead of each failure doubling the wait before the next.",
		refDelay}, func(p Policy, _ Context) []string {
		l := p.Throttle.Account
		return when(p.Throttle.Delay == 0 && l.MaxFailures > 1, "the progressive login delay is off (delay is 0): the %d attempts per account that throttle.account allows per %s can be made back to back; set 1s (browsers that logged into the account before are exempt, so owners are not slowed down)", l.MaxFailures, formatDuration(l.Window))
	}},
	{Rule{"throttle.delay.ineffective", SeverityWarning, "throttle.delay",
		"A delay that never grows past a fraction of a second before the account limit takes over is lost in the time a login takes anyway, so it does not slow online guessing.",
		refDelay}, func(p Policy, _ Context) []string {
		d, l := p.Throttle.Delay, p.Throttle.Account
		if d <= 0 || l.MaxFailures < 2 {
			return nil
		}
		longest := longestDelay(d, l)
		return when(longest < delayFelt, "delay is %s: the longest wait it imposes before throttle.account stops attempts is %s, under 1s; set 1s", formatDuration(d), formatDuration(longest))
	}},
	{Rule{"throttle.stuffing.window.short", SeverityWarning, "throttle.stuffing.window",
		"The alarm counts failures in fixed windows that restart empty, so with a short window a slower stuffing run stays under the threshold in every window and is never noticed.",
		refStuffing}, func(p Policy, _ Context) []string {
		st := p.Throttle.Stuffing
		l := Limit{MaxFailures: st.MaxFailures, Window: st.Window}
		return when(l.Window > 0 && l.Window < time.Minute, "stuffing.window is %s, under 1m: a run of up to %d failed logins a day never sets the alarm off; keep 5m, and raise stuffing.max_failures instead if normal traffic sets it off", formatDuration(l.Window), perDay(l))
	}},
	{Rule{"throttle.stuffing.detect_only", SeverityWarning, "throttle.stuffing.ip_max_failures",
		"With no stricter per-address limit the alarm only reports a credential-stuffing run, and each of its addresses keeps its full allowance of guesses while it lasts.",
		refStuffing}, func(p Policy, _ Context) []string {
		ip := p.Throttle.IP
		return when(p.Throttle.Stuffing.IPMaxFailures == 0, "stuffing.ip_max_failures is 0: while the alarm is on each address may still fail %d logins per %s; set it below %d (the default is 10), as low as people behind your shared addresses can live with", ip.MaxFailures, formatDuration(ip.Window), ip.MaxFailures)
	}},
	{Rule{"throttle.registration.disabled", SeverityWarning, "throttle.registration.max_attempts",
		"Without a limit of its own sign-up is bounded only by the hashing pool, so one script can create accounts without end and fill the breached-password check's slots while it does.",
		refSignUp}, func(p Policy, _ Context) []string {
		return when(p.Registration == "open" && p.Throttle.Registration.MaxAttempts == 0, "registration is open and registration.max_attempts is 0: one address may sign up without limit, slowed only by the hashing pool; set 20 per 1h (the default), or what the most people who sign up behind one address in a window need")
	}},
	{Rule{"throttle.registration.loose", SeverityWarning, "throttle.registration.max_attempts",
		"A per-address sign-up limit far above what the people behind one address need lets one script create accounts by the hundred and crowd out the hashing pool and the breached-password check.",
		refSignUp}, func(p Policy, _ Context) []string {
		l := p.Throttle.Registration
		if p.Registration != "open" || l.MaxAttempts <= 0 || l.Window <= 0 {
			return nil
		}
		n := signUpsPerHour(l)
		return when(n > signUpsPerHourMax, "registration.max_attempts is %d per %s: one address may sign up %d times an hour, more than %d; 20 per 1h is the default", l.MaxAttempts, formatDuration(l.Window), n, signUpsPerHourMax)
	}},
}

// signUpsPerHour is how many sign-ups l lets one address make within an
// hour: the whole allowance of each window that starts in it. It saturates
// rather than overflow.
func signUpsPerHour(l AttemptLimit) int64 {
	windows := int64(1)
	if l.Window < time.Hour {
		windows = int64((time.Hour + l.Window - 1) / l.Window)
	}
	if int64(l.MaxAttempts) > math.MaxInt64/windows {
		return math.MaxInt64
	}
	return int64(l.MaxAttempts) * windows
}

// longestDelay is the longest wait the progressive delay d imposes before
// the account limit l refuses attempts anyway: the wait after failure
// l.MaxFailures-1, d doubled l.MaxFailures-2 times, at most the window. It
// stops doubling at delayFelt, all that its callers need to know, so that
// it cannot overflow.
func longestDelay(d time.Duration, l Limit) time.Duration {
	for k := l.MaxFailures - 1; k > 1 && d < delayFelt; k-- {
		d *= 2
	}
	return min(d, l.Window)
}

// isLoopbackAPI reports whether the range API at base is on this machine,
// a local mirror that answers in milliseconds.
func isLoopbackAPI(base string) bool {
	u, err := url.Parse(base)
	return err == nil && isLoopbackHost(u.Hostname())
}

// perDay is how many failures l allows in a day.
func perDay(l Limit) int64 {
	return int64(l.MaxFailures) * int64(day/l.Window)
}

// broadPublic reports whether pfx holds public addresses and is wider than
// a /16 (IPv4) or a /32 (IPv6): far more than any one operator's proxies.
func broadPublic(pfx netip.Prefix) bool {
	a := pfx.Addr()
	if a.Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
		a = pfx.Addr()
	}
	if a.Is4() {
		return pfx.Bits() < 16 && !private4(pfx)
	}
	return pfx.Bits() < 32 && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast()
}

// private4 reports whether pfx lies within one of the IPv4 ranges that are
// not routed on the internet.
func private4(pfx netip.Prefix) bool {
	for _, r := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"} {
		priv := netip.MustParsePrefix(r)
		if pfx.Bits() >= priv.Bits() && priv.Contains(pfx.Addr()) {
			return true
		}
	}
	return false
}
