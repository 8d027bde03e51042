package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Document writes the security policy of a deployment for a security
// reviewer or auditor: for tokens and signing, cookies, CSRF, transport,
// sessions and revocation, passwords, throttling and enumeration, and
// logging, the values in force and where each came from (src), what they
// defend against, the risk that remains, and the findings of [Check] that
// concern them. format is "markdown" or "html"; an HTML document is a
// complete page with every value escaped and no script.
//
// The output depends only on its arguments (no timestamps), so a document
// generated from a checked-in policy can itself be checked in and compared.
func Document(p Policy, src Sources, findings []Finding, format string) ([]byte, error) {
	d := document{Sections: sections(p, src), Findings: findings, Rules: Rules()}
	bySection := make(map[string]int)
	for i, s := range d.Sections {
		for _, v := range s.Values {
			bySection[v.Key] = i
		}
		for _, k := range s.extraKeys {
			bySection[k] = i
		}
	}
	for _, f := range findings {
		switch f.Severity {
		case SeverityError:
			d.Errors++
		case SeverityWarning:
			d.Warnings++
		default:
			d.Notes++
		}
		if i, ok := bySection[f.Key]; ok {
			d.Sections[i].Findings = append(d.Sections[i].Findings, f)
		} else {
			d.Unplaced = append(d.Unplaced, f)
		}
	}
	switch format {
	case "markdown", "md":
		return d.markdown(), nil
	case "html":
		return d.html()
	default:
		return nil, fmt.Errorf("policy: unknown document format %q (want markdown or html)", format)
	}
}

// A document is what Document renders.
type document struct {
	Sections                []section
	Findings                []Finding
	Unplaced                []Finding // findings whose key no section shows
	Rules                   []Rule
	Errors, Warnings, Notes int
}

// A section is one area of the policy.
type section struct {
	Title    string
	Values   []value
	How      []string // what is in force and how it works
	Defends  []string // what it defends against
	Residual []string // the risk that remains
	Findings []Finding
	// extraKeys are finding keys outside the policy file (flags,
	// environment variables) that belong to this section.
	extraKeys []string
}

// A value is one key's effective value and where it came from.
type value struct {
	Key, Value, Source string
}

// values lists the effective value and source of each of keys that the
// format knows.
func values(p Policy, src Sources, keys ...string) []value {
	var vs []value
	for _, k := range keys {
		v, ok := p.Value(k)
		if !ok {
			continue
		}
		s := src[k]
		if s == "" {
			s = "not recorded"
		}
		vs = append(vs, value{Key: k, Value: v, Source: s})
	}
	return vs
}

// Prose may use `code` spans; it interpolates only values that validation
// restricts to known words, numbers and durations, never free text from the
// policy file, which appears only in the tables, escaped.

func sections(p Policy, src Sources) []section {
	ss := []section{
		tokensSection(p, src), cookiesSection(p, src), csrfSection(p, src), transportSection(p, src),
		sessionsSection(p, src), passwordsSection(p, src), throttleSection(p, src), loggingSection(),
	}
	// A key that no section describes yet is still shown with its value,
	// so that the document never hides a setting that is in force.
	shown := make(map[string]bool)
	for _, s := range ss {
		for _, v := range s.Values {
			shown[v.Key] = true
		}
	}
	var rest []string
	for _, k := range Keys() {
		if !shown[k] {
			rest = append(rest, k)
		}
	}
	if len(rest) > 0 {
		ss = append(ss, section{
			Title:  "Other settings",
			Values: values(p, src, rest...),
			How:    []string{"These settings are in force; this document does not describe them yet."},
		})
	}
	return ss
}

var algorithmNames = map[string]string{
	"EdDSA": "Ed25519 signatures (`EdDSA`)",
	"ES256": "ECDSA P-256 signatures with SHA-256 (`ES256`)",
	"RS256": "RSA PKCS#1 v1.5 signatures with SHA-256 (`RS256`), 3072-bit keys",
	"HS256": "HMAC-SHA256 with a 32-byte secret from `crypto/rand` (`HS256`)",
}

func tokensSection(p Policy, src Sources) section {
	t := p.Tokens
	alg := algorithmNames[t.Algorithm]
	if alg == "" {
		alg = "`" + t.Algorithm + "`"
	}
	issuer := "the value of `issuer`"
	if p.Issuer == "" {
		issuer = "the URL the server listens on (`issuer` is not set)"
	}
	s := section{
		Title:  "Tokens and signing",
		Values: values(p, src, "issuer", "audience", "tokens.algorithm", "tokens.access_ttl", "tokens.leeway", "keys.rotation_interval"),
		How: []string{
			"Access tokens are JWTs of type `at+jwt`, signed with " + alg + ". Each key is bound to that one algorithm and is looked up by `kid` only; a token can never choose how it is verified.",
			"Verification checks length and shape before decoding anything, allows only the expected header fields (no `none`, no embedded or remote keys `jwk`/`jku`/`x5u`, no `crit`), then the signature, then requires `exp`, `iat`, `iss`, `aud`, `jti` and `sid`, with `iss` equal to " + issuer + " and `aud` containing the `audience`.",
			fmt.Sprintf("A token lives %s and is accepted for at most %s after issue (lifetime plus a leeway of %s for clock skew); a token claiming a longer lifetime is refused. No token outlives the idle end of its session.", human(t.AccessTTL), human(t.AccessTTL+t.Leeway), human(t.Leeway)),
			"Every accepted token is also checked against the in-memory set of ended sessions (see Sessions and revocation), so a valid signature alone is not enough.",
			"Private signing keys are stored in the database sealed with AES-256-GCM under the master key (`GATEHOUSE_MASTER_KEY`, or `master.key` in the data dir, created with mode 0600). A wrong or missing master key for an existing database stops the server; it never generates a new key silently.",
		},
		Defends: []string{
			"Forged and altered tokens, algorithm confusion and `alg: none` (RFC 8725 §3.1, ASVS 9.1.1, 9.1.2), attacker-supplied keys (ASVS 9.1.3).",
			"Tokens minted for another service or by another issuer (RFC 8725 §3.8, §3.9; ASVS 9.2.3), and ID or refresh tokens presented as access tokens (explicit typing; RFC 8725 §3.11, ASVS 9.2.2).",
			"Theft of signing keys from a copy of the database alone.",
		},
		Residual: []string{
			fmt.Sprintf("An access token is a bearer token: one stolen from the wire, a log or a compromised browser is usable until it expires (up to %s) unless its session is revoked. Tokens are not sender-constrained (no DPoP or mTLS binding, RFC 9700 §4.10.1).", human(t.AccessTTL+t.Leeway)),
			"Whoever holds the master key and a copy of the database holds the signing keys and can mint tokens for any user.",
		},
		extraKeys: []string{"GATEHOUSE_MASTER_KEY"},
	}
	if t.Algorithm == "HS256" {
		s.Residual = append(s.Residual, "With `HS256` every service that verifies tokens holds the signing secret and can mint tokens; the secret is never published in the JWKS, so only this server can verify.")
	} else {
		s.How = append(s.How, "Public verification keys are published at `/.well-known/jwks.json` so that other services can verify tokens without being able to mint them.")
	}
	return s
}

func cookiesSection(p Policy, src Sources) section {
	ss := map[string]string{"lax": "Lax", "strict": "Strict", "none": "None"}[p.Cookies.SameSite]
	s := section{
		Title:  "Cookies",
		Values: values(p, src, "cookies.same_site", "cookies.same_site_none_reason"),
		How: []string{
			"The access token travels in `__Host-access` (`SameSite=" + ss + "`) and the refresh token in `__Host-refresh` (always `SameSite=Strict`). Both are `Secure; HttpOnly; Path=/` with no `Domain`, and expire with the token they carry; logout expires both.",
			"Only a cookie named exactly `__Host-access` is read as a credential: no `Authorization` header, no query parameter. A cookie name that appears twice in one request is ignored altogether, since one of the two was planted.",
		},
		Defends: []string{
			"Token theft by injected script (`HttpOnly`; ASVS 3.3.4).",
			"Cookies planted or shadowed by a sibling subdomain or over plain HTTP (the `__Host-` prefix; RFC 6265bis \"Cookie Name Prefixes\", ASVS 3.3.1, 3.3.3).",
			"Cross-site requests carrying the user's credentials (SameSite; RFC 6265bis \"The SameSite Attribute\", ASVS 3.3.2). The refresh token is never sent on any cross-site request.",
		},
		Residual: []string{
			"Script injected into a page of the same origin cannot read the tokens but can make requests that carry them.",
			"`SameSite` does not separate sites that share a registrable domain (`a.example.com` and `b.example.com` are same-site); the CSRF checks below do.",
		},
	}
	switch p.Cookies.SameSite {
	case "lax":
		s.Residual = append(s.Residual, "With `SameSite=Lax` browsers send the access cookie on top-level cross-site navigations (GET); Gatehouse changes no state on GET.")
	case "none":
		s.Residual = append(s.Residual, "With `SameSite=None` browsers send the access cookie on every cross-site request, including from third-party frames and scripts; CSRF defence rests on the Origin checks alone, and authenticated responses are exposed to cross-site leaks.")
	}
	return s
}

func csrfSection(p Policy, src Sources) section {
	trusted := "No other origin is trusted."
	if n := len(p.CSRF.TrustedOrigins); n > 0 {
		trusted = fmt.Sprintf("%d other origin(s) listed in `csrf.trusted_origins` may also make these requests.", n)
	}
	return section{
		Title:  "CSRF",
		Values: values(p, src, "csrf.trusted_origins"),
		How: []string{
			"Every state-changing request (any method but GET, HEAD and OPTIONS) passes Go's `http.CrossOriginProtection`: a browser's `Sec-Fetch-Site` must say same-origin, or else its `Origin` must match the `Host`. On top of it, an `Origin` header must be exactly the scheme and host of the request, with no user info (`https://evil@host` is refused) and no path beyond `/`. " + trusted,
			"Request bodies must be `application/json`, which an HTML form on another site cannot send without a CORS preflight, and are decoded strictly (unknown fields, trailing data and bodies over 16 KiB are refused).",
			"No CORS headers are ever sent, so browsers neither let other origins read responses nor allow preflighted cross-origin requests.",
		},
		Defends: []string{
			"Cross-site request forgery against login, logout, refresh, password change and session management (ASVS 3.5.1, 3.5.2, 3.5.3; OWASP Cross-Site Request Forgery Prevention Cheat Sheet), including login CSRF.",
			"Cross-origin reading of authenticated responses (ASVS 3.4.2).",
		},
		Residual: []string{
			"A request with neither `Sec-Fetch-Site` nor `Origin` is allowed: it comes from a non-browser client (curl, a server), which carries no ambient browser cookies to abuse. A very old browser that sends neither header is protected only by SameSite and the JSON content type.",
			"Every trusted origin is trusted fully: script running on it (XSS, a compromised dependency) can make state-changing requests with the user's cookies.",
			"Script injected into Gatehouse's own origin defeats any CSRF defence.",
		},
	}
}

func transportSection(p Policy, src Sources) section {
	hsts := "No `Strict-Transport-Security` header is sent (`hsts_max_age` is 0)."
	if p.Transport.HSTSMaxAge > 0 {
		hsts = "Every HTTPS response carries `Strict-Transport-Security: max-age=" + strconv.Itoa(int(p.Transport.HSTSMaxAge/time.Second)) + "; includeSubDomains`, errors included."
	}
	proxies := "No proxy is trusted: `X-Forwarded-For` and `X-Forwarded-Proto` are ignored and the socket address is the client's address."
	if n := len(p.Transport.TrustedProxies); n > 0 {
		proxies = fmt.Sprintf("%d trusted proxy range(s): only a peer in them is believed about the client address (`X-Forwarded-For`, read from the right up to the first untrusted hop) and the original scheme (`X-Forwarded-Proto`).", n)
	}
	return section{
		Title:  "Transport",
		Values: values(p, src, "transport.trusted_proxies", "transport.hsts_max_age"),
		How: []string{
			"When Gatehouse terminates TLS itself (`--tls-cert`/`--tls-key`): TLS 1.2 at least, 1.3 preferred, Go's default cipher suites (forward secrecy, no RC4, 3DES or static RSA), HTTP/2; the certificate is reloaded when its files change or on SIGHUP, without dropping connections.",
			hsts,
			"Plain HTTP is refused at start-up on any address but loopback unless trusted proxies are configured; at request time a request without TLS is answered 403 unless it comes from loopback or from a trusted proxy that says the client used https (health probes excepted). The optional `--http-redirect-addr` listener redirects page loads to https, refuses API routes and never reads or sets a cookie.",
			proxies,
			"Every response carries `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`, `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY` and same-origin `Cross-Origin-Opener-Policy` and `Cross-Origin-Resource-Policy`; responses under `/auth/` and `/api/` are `Cache-Control: no-store`. Connections have read, write and idle timeouts and a 32 KiB header limit.",
		},
		Defends: []string{
			"Eavesdropping and tampering on the network (ASVS 12.1.1, 12.2.1), and SSL stripping after the first visit (HSTS; ASVS 3.4.1, RFC 6797).",
			"Clients forging their address to escape throttling or forge the audit trail, and forging https (RFC 9700 §4.13).",
			"Framing, content sniffing and referrer leaks (ASVS 3.4.3 to 3.4.6), and caching of credentials by browsers and proxies.",
		},
		Residual: []string{
			"A browser's very first plain-HTTP request, before it has seen HSTS, can be intercepted unless the domain is on the HSTS preload list. `includeSubDomains` is always sent, so every subdomain must serve HTTPS.",
			"Behind a proxy, the hop from the proxy to Gatehouse is plain HTTP: keep it on loopback or a private network. The client address is only as good as the proxy, which must overwrite, not append to, `X-Forwarded-For`.",
			"The TLS certificate and its renewal are the operator's responsibility; `--dev-tls` is self-signed and for trying Gatehouse out only (ASVS 12.2.2).",
		},
		extraKeys: []string{"--addr", "--dev-tls"},
	}
}

func sessionsSection(p Policy, src Sources) section {
	ss := p.Sessions
	return section{
		Title:  "Sessions and revocation",
		Values: values(p, src, "sessions.idle_timeout", "sessions.absolute_lifetime", "sessions.reuse_grace", "services.feed_token_sha256"),
		How: []string{
			fmt.Sprintf("A login starts a session that ends %s after its last refresh (idle timeout) and at the latest %s after login (absolute lifetime), however active.", human(ss.IdleTimeout), human(ss.AbsoluteLifetime)),
			"The refresh token is 256 random bits; the database keeps only its SHA-256, with a record for every token ever issued so that an old one is recognised. Every refresh rotates it (compare-and-swap on the session's generation). The successor is `HMAC-SHA256` of the presented token under a key derived from the master key (HKDF), so every instance computes the same successor and two racing refreshes can never produce two live tokens.",
			fmt.Sprintf("Presenting an already-rotated refresh token ends the whole session and records `refresh.reused` (reuse detection). The only exception is the immediate predecessor presented within %s of the rotation, which gets the same successor back, so that two tabs refreshing at once do not log the user out.", human(ss.ReuseGrace)),
			"Logout, logout everywhere, revoking a session from `/auth/sessions`, a password change (which ends every other session of the user) and disabling a user end sessions in the store and add them at once to an in-memory set that every authenticated request is checked against, without a database round trip. Other instances learn of it through the shared store, at the latest at the next revocation sync (every 2 seconds by default), or at once when a revocation broker connects them.",
		},
		Defends: []string{
			"Replay of stolen refresh tokens (rotation and reuse detection; RFC 9700 §4.14.2, ASVS 10.4.5).",
			"Sessions that never end (ASVS 7.3.1, 7.3.2, 10.4.8) and access tokens outliving logout (ASVS 7.4.1, 7.4.2, 7.4.3).",
			"A leaked database yielding usable refresh tokens (only hashes are stored).",
		},
		Residual: []string{
			fmt.Sprintf("A thief who presents the just-rotated predecessor within %s gets the live successor without triggering reuse detection.", human(ss.ReuseGrace)),
			"Reuse is detected only when both the thief and the user present tokens of the family; if the user never refreshes again (a lost device), the thief keeps the session until the idle timeout or absolute lifetime, or until the user ends it from another session or changes the password.",
			"On instances other than the one that ended a session, its access tokens are honoured until the revocation reaches them (up to one sync interval without a broker).",
			"Ended sessions are kept one day for the record, then deleted with their refresh-token records.",
		},
	}
}

func passwordsSection(p Policy, src Sources) section {
	pw := p.Passwords
	a := pw.Argon2
	// With max_concurrent 0 the pool takes one slot per CPU, within a
	// 64 MiB budget (password.DefaultMemoryBudgetKiB).
	auto := max(1, (64<<10)/max(int(a.MemoryKiB), 1))
	pool := fmt.Sprintf("one hash per CPU core at a time, at most %d (%s of memory)", auto, mib(uint64(auto)*uint64(a.MemoryKiB)))
	if pw.MaxConcurrent > 0 {
		pool = fmt.Sprintf("at most %d hashes at a time (up to %s of memory)", pw.MaxConcurrent, mib(uint64(a.MemoryKiB)*uint64(pw.MaxConcurrent)))
	}
	return section{
		Title: "Passwords",
		Values: values(p, src, "passwords.min_length", "passwords.max_length", "passwords.argon2.memory_kib",
			"passwords.argon2.iterations", "passwords.argon2.parallelism", "passwords.max_concurrent",
			"passwords.breached.enabled", "passwords.breached.api_base", "passwords.breached.fail", "passwords.breached.timeout"),
		How: []string{
			fmt.Sprintf("Passwords are hashed with argon2id, %s of memory, %s, %s, a 16-byte random salt and a 32-byte output, stored as a PHC string. A hash made with other parameters is replaced at the next successful login.", mib(uint64(a.MemoryKiB)), count(int(a.Iterations), "iteration"), count(int(a.Parallelism), "lane")),
			"Hashing goes through a bounded pool: " + pool + "; further callers wait in a bounded queue for up to 5 seconds and are then refused with 503 rather than piling up.",
			fmt.Sprintf("A new password must be %d to %d bytes long, checked before any hashing; it is used exactly as typed (no truncation, trimming, case folding or normalisation) and there are no composition rules. It is refused if it is among 30,000 common passwords (case-insensitively), is a keyboard or alphabet walk, a short unit or a common password repeated, or a common password with a few digits or symbols added, or contains the word gatehouse or the local part of the user's email.", pw.MinLength, pw.MaxLength),
			breachedHow(pw.Breached),
			"Changing a password requires the current one, checked under the same limits and progressive delay as a login, and ends every other session. `gatehouse user add` reads the password from stdin, never from the command line.",
		},
		Defends: []string{
			"Offline cracking of a stolen database (argon2id with at least OWASP's parameters; ASVS 11.4.2, OWASP Password Storage Cheat Sheet).",
			"Guessable passwords (ASVS 6.2.1, 6.2.4, 6.2.5, 6.2.8, 6.2.9, 6.2.11).",
			"Memory exhaustion and long-password denial of service (the pool and the length limit, checked before hashing).",
		},
		Residual: []string{
			breachedResidual(pw.Breached),
			"A password is the only factor (no MFA; ASVS 6.3.3).",
			"Lengths are counted in bytes, so a password of multi-byte characters reaches the minimum with fewer characters.",
			"A weak password that passes the rules still falls to offline cracking if the database leaks; argon2id only slows it down.",
		},
	}
}

// breachedHow describes the breached-password check in force.
func breachedHow(b Breached) string {
	if !b.Enabled {
		return "New passwords are not checked against a breach corpus (`passwords.breached.enabled` is false)."
	}
	fail := "accepted (fail open; a warning is logged)"
	if b.Fail == "closed" {
		fail = "refused with 503 (fail closed)"
	}
	return fmt.Sprintf("New passwords are also checked against the passwords known from data breaches, through a Pwned Passwords range API (k-anonymity: only the first 5 hex digits of the password's SHA-1 are sent, with padding requested); a known one is refused with 400. When the API does not answer within %s the password is %s.", human(b.Timeout), fail)
}

// breachedResidual is the risk left by the breached-password check in force.
func breachedResidual(b Breached) string {
	switch {
	case !b.Enabled:
		return "Passwords are checked against a fixed list of common passwords, not against a live breach corpus (ASVS 6.2.12): turn on `passwords.breached.enabled`."
	case b.Fail == "open":
		return "The breach check fails open: while the API is unreachable, a breached password that passes the local rules is accepted. The API's operator learns a 5-digit hash prefix and the server's address at each registration or change."
	default:
		return "The breach check fails closed: while the API is unreachable nobody can register or change a password. The API's operator learns a 5-digit hash prefix and the server's address at each registration or change."
	}
}

func throttleSection(p Policy, src Sources) section {
	acct, ip := p.Throttle.Account, p.Throttle.IP
	st := p.Throttle.Stuffing
	delay := "There is no progressive delay (`throttle.delay` is 0)."
	if p.Throttle.Delay > 0 {
		delay = fmt.Sprintf("On top of the account limit, a progressive delay: after the k-th consecutive failure against an account its next attempt waits %s doubled k-1 times (at most the account window), answered 429 with `Retry-After` before any hashing, even with the right password.", human(p.Throttle.Delay))
	}
	strict := "The per-address limit stays as it is during the alarm."
	if st.IPMaxFailures > 0 {
		strict = fmt.Sprintf("While it is on, each address may fail %d times per %s instead of %d.", st.IPMaxFailures, human(ip.Window), ip.MaxFailures)
	}
	reg := "Registration is closed: accounts are created by the operator (`gatehouse user add`)."
	signUp := p.Throttle.Registration
	switch {
	case p.Registration == "open" && signUp.MaxAttempts > 0:
		reg = fmt.Sprintf("Registration is open: anyone may create an account at `POST /auth/register`, at most %d times per %s from one client address (an IPv6 client by its /64). Every sign-up that passes the local email and password checks is counted, whether it succeeds or not, before the breached-password check and the hashing; over the limit the answer is 429 with `Retry-After`, and nothing is created. `gatehouse user add` is not counted.", signUp.MaxAttempts, human(signUp.Window))
	case p.Registration == "open":
		reg = "Registration is open: anyone may create an account at `POST /auth/register`, with no limit per address (`throttle.registration.max_attempts` is 0); only the hashing pool slows a flood of sign-ups."
	}
	s := section{
		Title: "Throttling and enumeration",
		Values: values(p, src, "registration", "throttle.account.max_failures", "throttle.account.window",
			"throttle.ip.max_failures", "throttle.ip.window", "throttle.delay", "throttle.stuffing.max_failures",
			"throttle.stuffing.window", "throttle.stuffing.ip_max_failures", "throttle.registration.max_attempts",
			"throttle.registration.window"),
		How: []string{
			fmt.Sprintf("Failed logins are counted per account (%d per %s, from any address) and per client address (%d per %s, against any account; an IPv6 client counts by its /64) in fixed windows that start at the first failure. Attempts are counted before the password is hashed, so a parallel burst cannot slip past; over the limit the answer is 429 with `Retry-After`, without hashing.", acct.MaxFailures, human(acct.Window), ip.MaxFailures, human(ip.Window)),
			delay,
			"A browser that logged into an account before holds a `__Host-device` cookie (HttpOnly, Secure, SameSite=Strict; a random device id bound to the account by an HMAC under a key derived from the master key, valid 90 days, renewed at each login). Its logins are exempt from the account limit and the progressive delay and are counted per (account, device) with the account limit instead, so an attacker failing on purpose cannot lock the owner out of their own browser, and a stolen cookie is worth no more guesses than the account limit.",
			"A successful login clears the account's count and gives back only its own attempt to the address, so logging into one's own account does not wash out failures against others. Failures are also counted per (account, address) pair. The counters are bounded; when full, new keys are refused (fail closed).",
			fmt.Sprintf("A credential-stuffing alarm counts failed logins across all accounts: more than %d within %s raise a `credential_stuffing.alarm` event and metric. %s", st.MaxFailures, human(st.Window), strict),
			"An unknown email, a wrong password and a disabled account get the same 401 answer after the same argon2id work (a dummy hash for unknown emails), so neither the answer nor its timing tells whether an account exists.",
			reg,
		},
		Defends: []string{
			"Online password guessing against one account and password spraying from one address (ASVS 6.1.1, 6.3.1; NIST SP 800-63B-3 §5.2.2).",
			"Lockout as denial of service: the owner's known browser is never locked out by others' failures (ASVS 6.1.1).",
			"Credential stuffing across many accounts and addresses, detected by its total (OWASP Credential Stuffing Prevention Cheat Sheet).",
			"Account enumeration through the login answer or its timing (ASVS 6.3.8).",
		},
		Residual: []string{
			fmt.Sprintf("An attacker with many addresses gets up to %d guesses per account per day; one with a large IPv6 allocation (a /48 holds 65,536 /64s) or a botnet is limited by the per-account limit alone.", perDay(acct)),
			"Anyone can block password login to an account for up to one window by failing on purpose, from every browser that has not logged into it before (or whose device cookie was cleared, which logout does).",
			"Unless the counters are shared between instances (in Redis), each instance counts on its own, so N instances allow N times the failures, and a restart resets the counts.",
		},
	}
	switch {
	case p.Registration == "open" && signUp.MaxAttempts > 0:
		s.Defends = append(s.Defends, "Sign-up floods from one address, which would create accounts without end and crowd out the hashing pool and the breached-password check (ASVS 2.4.1).")
		s.Residual = append(s.Residual, fmt.Sprintf("Registration answers 409 for an email that is already registered, which tells whether an account exists: %d emails per %s from each address. An attacker with many addresses gets that many sign-ups, and answers, from each; people behind one shared address share the limit.", signUp.MaxAttempts, human(signUp.Window)))
	case p.Registration == "open":
		s.Residual = append(s.Residual, "Registration answers 409 for an email that is already registered, which tells whether an account exists; sign-up itself is not rate-limited beyond the hashing pool.")
	}
	return s
}

func loggingSection() section {
	return section{
		Title: "Logging",
		How: []string{
			"Security events are written as JSON lines (`log/slog`) on standard error: `register`, `login.success` (reason `known_device` from a known browser), `login.failure` (reason `unknown_user`, `bad_password` or `disabled`), `throttled` (reason `ip`, `ip_alarm`, `account`, `pair`, `delay` or `device` for a login, `registration` for a sign-up), `credential_stuffing.alarm`, `refresh`, `refresh.invalid`, `refresh.reused`, `logout`, `logout_all`, `session.revoked`, `password.changed`, `password.failure`, `user.disabled`, `key.rotated`, `policy.rejected`. Each carries the time, user and session ids, client address, user agent, outcome and a fixed reason code; failures are logged at WARN.",
			"The same events are kept in the `audit_events` table for 90 days, written in batches through a bounded buffer so that the database never slows a request (events that do not fit are dropped and counted in a metric; a throttled client's events are stored once a minute per address and reason), and read with `gatehouse audit`, which escapes control characters.",
			"No event ever contains a password, a token, a refresh token or a key. Attacker-controlled strings such as the user agent are escaped by the JSON encoding, so they cannot forge log lines.",
		},
		Defends: []string{
			"Undetected attacks: authentication successes and failures, throttling and refresh-token reuse are recorded (ASVS 16.3.1, 16.3.3).",
			"Secrets leaking through logs (ASVS 16.2.5) and log injection.",
		},
		Residual: []string{
			"Logs hold personal data (addresses, user agents, user ids); retention, shipping and tamper protection are the operator's.",
			"A failed login for an unknown email records no email, so attempts against non-existent accounts can be correlated only by address.",
		},
	}
}

// human writes d as in a policy file, adding days for whole days.
func human(d time.Duration) string {
	s := formatDuration(d)
	if d >= day && d%day == 0 {
		n := int(d / day)
		unit := "days"
		if n == 1 {
			unit = "day"
		}
		s += fmt.Sprintf(" (%d %s)", n, unit)
	}
	return s
}

// mib writes an amount of KiB in MiB.
func mib(kib uint64) string {
	s := strconv.FormatFloat(float64(kib)/1024, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + " MiB"
}
