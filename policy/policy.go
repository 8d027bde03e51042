package policy

import (
	"net/netip"
	"time"
)

// Policy is the effective security policy of a Gatehouse server. The zero
// value is not a usable policy; start from [Default] or [Parse].
type Policy struct {
	// Issuer is the iss claim of every access token. Empty means the server
	// derives it from the address it listens on.
	Issuer string
	// Audience is the aud claim put into, and required of, every access token.
	Audience  string
	Tokens    Tokens
	Sessions  Sessions
	Cookies   Cookies
	CSRF      CSRF
	Passwords Passwords
	// Registration is "open" when anyone may sign up and "closed" when
	// nobody may.
	Registration string
	Throttle     Throttle
	Transport    Transport
	Keys         SigningKeys
	Services     Services
}

// Tokens is the policy for access tokens.
type Tokens struct {
	// Algorithm signs access tokens: "EdDSA", "ES256", "RS256" or "HS256".
	Algorithm string
	// AccessTTL is how long an access token stays valid after it is issued.
	AccessTTL time.Duration
	// Leeway is the clock skew tolerated when checking exp, nbf and iat.
	Leeway time.Duration
}

// Sessions is the policy for sessions and their rotating refresh tokens.
type Sessions struct {
	// IdleTimeout ends a session that has not been refreshed for this long.
	IdleTimeout time.Duration
	// AbsoluteLifetime ends a session this long after login, however active.
	AbsoluteLifetime time.Duration
	// ReuseGrace is how long a just-rotated refresh token is still accepted,
	// so that two racing requests from one client do not revoke its session.
	ReuseGrace time.Duration
}

// Cookies is the policy for the cookies that carry tokens.
type Cookies struct {
	// SameSite is the SameSite attribute: "lax", "strict" or "none".
	SameSite string
	// SameSiteNoneReason records why SameSite is "none", for the reviewer
	// of the deployment. [Check] reports SameSite "none" as an error while
	// it is empty, so that cross-site cookies are always a written-down
	// decision rather than an accident.
	SameSiteNoneReason string
}

// CSRF is the policy for cross-origin request protection.
type CSRF struct {
	// TrustedOrigins are origins (scheme://host[:port]) allowed to make
	// state-changing cross-origin requests.
	TrustedOrigins []string
}

// Passwords is the policy for passwords and how they are hashed.
type Passwords struct {
	// MinLength and MaxLength bound the length of a password, in bytes.
	MinLength, MaxLength int
	Argon2               Argon2
	// MaxConcurrent caps the Argon2 hashes computed at once; 0 means one
	// per CPU, but no more than fit in 64 MiB.
	MaxConcurrent int
	// Breached is the check of new passwords against a breach corpus.
	Breached Breached
}

// Breached is the policy for checking new passwords against the passwords
// known from data breaches, through a Pwned Passwords range API.
type Breached struct {
	// Enabled turns the check on, for registrations and password changes.
	Enabled bool
	// APIBase is the base URL of the range API: GET APIBase/range/XXXXX.
	APIBase string
	// Fail says what happens when the API cannot answer: "open" accepts the
	// password (it passed the local rules), "closed" refuses the request
	// with 503.
	Fail string
	// Timeout bounds each check.
	Timeout time.Duration
}

// Argon2 holds the Argon2id parameters for new password hashes.
type Argon2 struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// Throttle is the policy for slowing down password guessing.
type Throttle struct {
	// Account limits failed logins against one account, from anywhere.
	Account Limit
	// IP limits failed logins from one client address, against any account.
	IP Limit
	// Delay is the progressive delay: after the k-th consecutive failure
	// against an account its next attempt waits Delay doubled k-1 times,
	// at most the account window. 0 turns it off.
	Delay time.Duration
	// Stuffing is the credential-stuffing alarm.
	Stuffing Stuffing
	// Registration limits sign-ups per client address.
	Registration AttemptLimit
}

// Stuffing is the policy for the credential-stuffing alarm: more than
// MaxFailures failed logins across all accounts within Window set it off.
type Stuffing struct {
	MaxFailures int
	Window      time.Duration
	// IPMaxFailures replaces throttle.ip.max_failures while the alarm is
	// on; 0 keeps the usual limit.
	IPMaxFailures int
}

// Limit allows at most MaxFailures failures within a sliding Window.
type Limit struct {
	MaxFailures int
	Window      time.Duration
}

// AttemptLimit allows at most MaxAttempts attempts within Window, whatever
// their outcome; 0 turns it off.
type AttemptLimit struct {
	MaxAttempts int
	Window      time.Duration
}

// Transport is the policy for the connection between client and server.
type Transport struct {
	// TrustedProxies are the peers whose forwarding headers are believed.
	TrustedProxies []netip.Prefix
	// HSTSMaxAge is the max-age of the Strict-Transport-Security header; 0
	// means the header is not sent.
	HSTSMaxAge time.Duration
}

// SigningKeys is the policy for the keys that sign access tokens.
type SigningKeys struct {
	// RotationInterval is how long a key signs before the next key, which
	// has been published in the JWKS meanwhile, takes over.
	RotationInterval time.Duration
}

// Services is the policy for other services that verify Gatehouse tokens.
type Services struct {
	// FeedTokenSHA256 are the SHA-256 hashes, in lower-case hex, of the
	// bearer tokens that may read the revocation feed. Empty means the feed
	// is off.
	FeedTokenSHA256 []string
}

// Default returns the secure baseline policy that a file is laid over. Each
// call returns a fresh value that the caller may change.
func Default() Policy {
	return Policy{
		Issuer:   "",
		Audience: "gatehouse",
		Tokens: Tokens{
			Algorithm: "EdDSA",
			AccessTTL: 10 * time.Minute,
			Leeway:    30 * time.Second,
		},
		Sessions: Sessions{
			IdleTimeout:      168 * time.Hour,
			AbsoluteLifetime: 720 * time.Hour,
			ReuseGrace:       10 * time.Second,
		},
		Cookies: Cookies{SameSite: "lax"},
		Passwords: Passwords{
			MinLength: 8,
			MaxLength: 1024,
			Argon2:    Argon2{MemoryKiB: 19456, Iterations: 2, Parallelism: 1},
			Breached:  Breached{APIBase: "https://api.pwnedpasswords.com", Fail: "open", Timeout: 2 * time.Second},
		},
		Registration: "open",
		Throttle: Throttle{
			Account:  Limit{MaxFailures: 5, Window: 15 * time.Minute},
			IP:       Limit{MaxFailures: 50, Window: 15 * time.Minute},
			Delay:    time.Second,
			Stuffing: Stuffing{MaxFailures: 500, Window: 5 * time.Minute, IPMaxFailures: 10},
			// A person signs up once: an office behind one NAT rarely
			// signs up more than 20 people in an hour, while a script
			// gets no more than 480 accounts a day from one address.
			Registration: AttemptLimit{MaxAttempts: 20, Window: time.Hour},
		},
		Transport: Transport{HSTSMaxAge: 8760 * time.Hour},
		Keys:      SigningKeys{RotationInterval: 720 * time.Hour},
	}
}
