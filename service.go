package gatehouse

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/token"
)

// Limiter counts attempts per key (see package throttle for the semantics).
type Limiter interface {
	// Hit counts one attempt and reports whether it may proceed; when it may
	// not, it also reports how long until it may.
	Hit(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
	// Undo takes back one attempt.
	Undo(ctx context.Context, key string) error
	// Reset forgets every attempt for key.
	Reset(ctx context.Context, key string) error
}

// RevocationBroker carries session revocations between instances, so that a
// logout on one is enforced by the others within about a second instead of
// at the next store poll.
type RevocationBroker interface {
	// Publish announces a revocation to every instance.
	Publish(ctx context.Context, r Revocation) error
	// Listen calls fn for every revocation published, by any instance,
	// until ctx ends or the connection fails (then it returns the error).
	Listen(ctx context.Context, fn func(Revocation)) error
}

// Limit is a number of failures allowed in a window.
type Limit struct {
	MaxFailures int
	Window      time.Duration
}

// Config is what a Service needs. Every field without a stated default is required.
type Config struct {
	Users    UserStore
	Sessions SessionStore
	Keys     *Keyring
	Hasher   *password.Hasher
	Limiter  Limiter
	Events   EventSink        // optional
	Broker   RevocationBroker // optional; needed with several instances

	Issuer, Audience string
	AccessTTL        time.Duration
	Leeway           time.Duration
	IdleTimeout      time.Duration
	AbsoluteLifetime time.Duration
	ReuseGrace       time.Duration
	PasswordRules    password.Rules
	RegistrationOpen bool
	AccountLimit     Limit
	IPLimit          Limit
	// RegistrationLimit limits sign-ups per client address (an IPv6
	// client by its /64): MaxFailures is the number of attempts allowed
	// in Window, successful or not, since a successful sign-up is what a
	// flood wants. The zero value is off; see registerlimit.go.
	RegistrationLimit Limit
	// PairLimit limits failures per (account, client address) and, for a
	// known device, per (account, device); default AccountLimit.
	PairLimit Limit
	// LoginDelay is the progressive delay: after the k-th consecutive
	// failure against an account its next attempt must wait LoginDelay
	// doubled k-1 times, at most AccountLimit.Window. Zero turns it off;
	// see DefaultLoginDelay and loginlimit.go.
	LoginDelay time.Duration
	// Stuffing is the credential-stuffing alarm; the zero value is off.
	Stuffing StuffingAlarm
	// Breached, if set, refuses new passwords known from data breaches.
	Breached BreachChecker
	// BreachedFailClosed refuses new passwords while Breached cannot
	// answer; by default they are accepted (fail open).
	BreachedFailClosed bool

	// RefreshKey (32 bytes, shared by every instance) derives a refresh
	// token's successor from the token itself; see Refresh.
	RefreshKey []byte
	// DeviceKey (32 bytes, shared by every instance) signs known-device
	// tokens (device.go). Without it no device is ever known, and the
	// account lockout applies to every client.
	DeviceKey []byte
	// DeviceTTL is how long a known-device token lasts; default
	// DefaultDeviceTTL.
	DeviceTTL time.Duration

	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default discards
}

// Service implements the use cases of Gatehouse.
type Service struct {
	users    UserStore
	sessions SessionStore
	keys     *Keyring
	hasher   *password.Hasher
	limiter  Limiter
	events   EventSink
	broker   RevocationBroker
	verifier *token.Cache
	revoked  *Revocations
	alive    *aliveCache
	// lookup is the store's joined refresh read, when one store is both
	// the session and the user store (see readRefresh); nil otherwise.
	lookup RefreshLookup
	cfg    Config
	// alarmUntil is when the credential-stuffing alarm ends, in Unix
	// nanoseconds (stuffing.go).
	alarmUntil atomic.Int64
	now        func() time.Time
	log        *slog.Logger
}

// NewService checks cfg and returns a Service.
func NewService(cfg Config) (*Service, error) {
	switch {
	case cfg.Users == nil, cfg.Sessions == nil, cfg.Keys == nil, cfg.Hasher == nil, cfg.Limiter == nil:
		return nil, errors.New("gatehouse: config needs Users, Sessions, Keys, Hasher and Limiter")
	case cfg.AccessTTL <= 0, cfg.IdleTimeout <= 0, cfg.AbsoluteLifetime <= 0:
		return nil, errors.New("gatehouse: AccessTTL, IdleTimeout and AbsoluteLifetime must be positive")
	case len(cfg.RefreshKey) < 32:
		return nil, errors.New("gatehouse: RefreshKey must be at least 32 bytes")
	case cfg.Audience == "" || cfg.Issuer == "":
		return nil, errors.New("gatehouse: Issuer and Audience are required")
	case len(cfg.DeviceKey) > 0 && len(cfg.DeviceKey) < 32:
		return nil, errors.New("gatehouse: DeviceKey must be at least 32 bytes")
	case cfg.RegistrationLimit.MaxFailures > 0 && cfg.RegistrationLimit.Window <= 0:
		return nil, errors.New("gatehouse: RegistrationLimit needs a positive Window")
	}
	if cfg.PairLimit == (Limit{}) {
		cfg.PairLimit = cfg.AccountLimit
	}
	if cfg.DeviceTTL <= 0 {
		cfg.DeviceTTL = DefaultDeviceTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Service{
		users: cfg.Users, sessions: cfg.Sessions, keys: cfg.Keys, hasher: cfg.Hasher,
		limiter: cfg.Limiter, events: cfg.Events, broker: cfg.Broker, cfg: cfg, now: cfg.Now, log: cfg.Logger,
		revoked: NewRevocations(cfg.AccessTTL + cfg.Leeway),
		alive:   newAliveCache(100_000),
	}
	if l, ok := cfg.Sessions.(RefreshLookup); ok && sameStore(cfg.Sessions, cfg.Users) {
		s.lookup = l
	}
	s.verifier = token.NewCache(&token.Verifier{
		Keys: cfg.Keys, Issuer: cfg.Issuer, Audience: cfg.Audience,
		MaxTTL: cfg.AccessTTL, Leeway: cfg.Leeway, Now: cfg.Now,
	}, verifiedTokenCache)
	// Key rotations are security events too; the keyring reports them here.
	cfg.Keys.setRecorder(s.record)
	return s, nil
}

// verifiedTokenCache bounds how many accepted access tokens are remembered,
// so that a token seen again skips the signature check (see token.Cache).
const verifiedTokenCache = 32 << 10

// Revocations returns the in-memory set of ended sessions.
func (s *Service) Revocations() *Revocations { return s.revoked }

// Grant is what a successful login, registration or refresh hands the
// client: an access token and a refresh token with their expiry times.
type Grant struct {
	Session          *Session
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	// DeviceToken, set by a login or registration when Config.DeviceKey
	// is, marks the client as a known device of the account until
	// DeviceExpiresAt: the client presents it as Client.Device.
	DeviceToken     string
	DeviceExpiresAt time.Time
}

// Register creates an account and logs it in. It returns an *InputError for
// a bad email or a weak password, ErrEmailTaken, ErrRegistrationClosed, or
// a *ThrottledError when the client's address has used up
// Config.RegistrationLimit.
func (s *Service) Register(ctx context.Context, email, pw string, c Client) (*User, *Grant, error) {
	if !s.cfg.RegistrationOpen {
		return nil, nil, ErrRegistrationClosed
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkPasswordRules(pw, email); err != nil {
		return nil, nil, err
	}
	// Counted after the checks that cost nothing and before those that
	// do (the breached-password lookup, hashing): a refused flood
	// costs neither.
	if err := s.admitRegistration(ctx, c); err != nil {
		return nil, nil, err
	}
	u, err := s.createUser(ctx, email, pw)
	if err != nil {
		return nil, nil, err
	}
	g, err := s.startSession(ctx, u, c)
	if err != nil {
		return nil, nil, err
	}
	s.issueDevice(g, u, "")
	s.record(ctx, Event{Name: EventRegister, UserID: u.ID, SessionID: g.Session.ID, IP: c.IP, UserAgent: c.UserAgent, Outcome: "success"})
	return u, g, nil
}

// AddUser creates an account without logging it in, whatever the
// registration policy; it is the operator's way to create users.
func (s *Service) AddUser(ctx context.Context, email, pw string) (*User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if err := s.checkPasswordRules(pw, email); err != nil {
		return nil, err
	}
	u, err := s.createUser(ctx, email, pw)
	if err != nil {
		return nil, err
	}
	s.record(ctx, Event{Name: EventRegister, UserID: u.ID, Outcome: "success", Reason: "operator"})
	return u, nil
}

// createUser is the part of Register and AddUser after the checks that cost
// nothing: the breached-password check, the hash and the new user, stored.
// email is normalised and pw has passed checkPasswordRules.
func (s *Service) createUser(ctx context.Context, email, pw string) (*User, error) {
	if err := s.checkBreached(ctx, pw); err != nil {
		return nil, err
	}
	hash, err := s.hash(ctx, pw)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u := &User{ID: newID(), Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Login checks an email and password and starts a session. An unknown email,
// a wrong password and a disabled account all return ErrInvalidCredentials
// after the same amount of hashing work, so that neither the answer nor its
// timing tells whether an account exists. Too many failures, or an attempt
// within the progressive delay, return a *ThrottledError before any hashing
// is done (see loginlimit.go). A client presenting a known-device token for
// the account (Client.Device) is not held back by failures of others
// (device.go); the grant of a successful login carries a fresh token.
func (s *Service) Login(ctx context.Context, email, pw string, c Client) (*User, *Grant, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || len(email) > maxEmailLen || pw == "" {
		return nil, nil, ErrInvalidCredentials
	}
	// A password longer than any we accept cannot match; refusing it before
	// hashing stops long-password denial of service.
	if len(pw) > s.cfg.PasswordRules.MaxLength {
		return nil, nil, invalid("password", "is too long")
	}
	// A known device needs the account's id; a client without a device
	// token, like every attacker, costs no extra lookup.
	var known *User
	var device string
	if c.Device != "" && len(s.cfg.DeviceKey) > 0 {
		if u, err := s.users.UserByEmail(ctx, email); err == nil {
			if id, ok := s.knownDevice(c.Device, u.ID); ok {
				known, device = u, id
			}
		}
	}
	a, err := s.admit(ctx, email, device, c, func() string { return s.userIDOf(ctx, email) })
	if err != nil {
		return nil, nil, err
	}
	u, ok, err := s.checkPassword(ctx, email, pw, known)
	if err != nil {
		// The attempt did not happen; give it back.
		s.abandon(ctx, a)
		return nil, nil, err
	}
	if !ok {
		s.failed(ctx, a)
		e := Event{Name: EventLoginFailure, IP: c.IP, UserAgent: c.UserAgent, Outcome: "failure", Reason: "unknown_user"}
		if u != nil {
			e.UserID, e.Reason = u.ID, "bad_password"
			if u.Disabled {
				e.Reason = "disabled"
			}
		}
		s.record(ctx, e)
		s.countFailure(ctx)
		return nil, nil, ErrInvalidCredentials
	}
	s.succeeded(ctx, a)
	g, err := s.startSession(ctx, u, c)
	if err != nil {
		return nil, nil, err
	}
	s.issueDevice(g, u, device)
	e := Event{Name: EventLoginSuccess, UserID: u.ID, SessionID: g.Session.ID, IP: c.IP, UserAgent: c.UserAgent, Outcome: "success"}
	if device != "" {
		e.Reason = "known_device"
	}
	s.record(ctx, e)
	return u, g, nil
}

// checkPassword verifies pw for the account with email, or for u when the
// caller has looked it up already. For an unknown email it hashes a dummy
// so the timing matches. It re-hashes a correct password whose stored
// parameters differ from the policy's.
func (s *Service) checkPassword(ctx context.Context, email, pw string, u *User) (*User, bool, error) {
	if u == nil {
		var err error
		u, err = s.users.UserByEmail(ctx, email)
		if errors.Is(err, ErrNotFound) {
			if err := s.hasher.Dummy(ctx, []byte(pw)); err != nil {
				return nil, false, s.hashErr(err)
			}
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	ok, rehash, err := s.hasher.Verify(ctx, []byte(pw), u.PasswordHash)
	if err != nil {
		return u, false, s.hashErr(err)
	}
	if !ok || u.Disabled {
		return u, false, nil
	}
	if rehash {
		if h, err := s.hash(ctx, pw); err == nil {
			if err := s.users.UpdatePasswordHash(ctx, u.ID, h, s.now().UTC()); err != nil {
				s.log.WarnContext(ctx, "rehash password", slog.String("user_id", u.ID), slog.Any("error", err))
			}
		}
	}
	return u, true, nil
}

// userIDOf returns the id of the account with email, or "" when there is
// none or the store cannot say. A throttled login names the account under
// attack in its security event this way (ASVS 16.3.1), without the email
// itself going to the log; the client's answer does not change.
func (s *Service) userIDOf(ctx context.Context, email string) string {
	u, err := s.users.UserByEmail(ctx, email)
	if err != nil {
		return ""
	}
	return u.ID
}

func (s *Service) hit(ctx context.Context, key string, l Limit) error {
	ok, retry, err := s.limiter.Hit(ctx, key, l.MaxFailures, l.Window)
	if err != nil {
		return fmt.Errorf("%w: limiter: %w", ErrUnavailable, err)
	}
	if !ok {
		return &ThrottledError{RetryAfter: retry}
	}
	return nil
}

func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	h, err := s.hasher.Hash(ctx, []byte(pw))
	if err != nil {
		return "", s.hashErr(err)
	}
	return h, nil
}

func (s *Service) hashErr(err error) error {
	if errors.Is(err, password.ErrOverloaded) {
		return fmt.Errorf("%w: %w", ErrOverloaded, err)
	}
	return err
}

// checkNewPassword applies the password rules (checkPasswordRules), then
// the breached-password check.
func (s *Service) checkNewPassword(ctx context.Context, pw, email string) error {
	if err := s.checkPasswordRules(pw, email); err != nil {
		return err
	}
	return s.checkBreached(ctx, pw)
}

// checkPasswordRules applies the password rules, plus context words: a
// password built on the product name or the user's own email is among the
// first an attacker tries (ASVS 6.2.11). It is local and cheap.
func (s *Service) checkPasswordRules(pw, email string) error {
	if err := s.cfg.PasswordRules.Check(pw); err != nil {
		reason := "is too common"
		switch {
		case errors.Is(err, password.ErrTooShort):
			reason = fmt.Sprintf("must be at least %d bytes", s.cfg.PasswordRules.MinLength)
		case errors.Is(err, password.ErrTooLong):
			reason = fmt.Sprintf("must be at most %d bytes", s.cfg.PasswordRules.MaxLength)
		}
		return &InputError{Field: "password", Reason: reason, Err: ErrWeakPassword}
	}
	lower := strings.ToLower(pw)
	local, _, _ := strings.Cut(email, "@")
	if strings.Contains(lower, "gatehouse") || (len(local) >= 4 && strings.Contains(lower, local)) || lower == email {
		return &InputError{Field: "password", Reason: "is too easy to guess", Err: ErrWeakPassword}
	}
	return nil
}

// startSession creates a session for u with a fresh random refresh token.
func (s *Service) startSession(ctx context.Context, u *User, c Client) (*Grant, error) {
	raw, err := randomRefresh()
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	sess := &Session{
		ID: newID(), UserID: u.ID, CreatedAt: now, LastUsedAt: now, RotatedAt: now,
		ExpiresAt: now.Add(s.cfg.AbsoluteLifetime),
		UserAgent: truncate(c.UserAgent, 256), IP: c.IP,
		RefreshHash: hashRefresh(raw),
	}
	if err := s.sessions.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	return s.grant(sess, u.Email, raw)
}

// grant issues an access token for sess and packages it with the refresh token raw.
func (s *Service) grant(sess *Session, email string, raw []byte) (*Grant, error) {
	key := s.keys.SigningKey()
	if key == nil {
		return nil, errors.New("gatehouse: no active signing key")
	}
	now := s.now().UTC().Truncate(time.Second)
	exp := now.Add(s.cfg.AccessTTL)
	end := sess.IdleExpiresAt(s.cfg.IdleTimeout)
	if exp.After(end) {
		exp = end.Truncate(time.Second)
	}
	at, err := token.Sign(key, token.Claims{
		Issuer: s.cfg.Issuer, Subject: sess.UserID, Audience: []string{s.cfg.Audience},
		ID: token.NewID(), SessionID: sess.ID,
		IssuedAt: now, NotBefore: now, ExpiresAt: exp,
	})
	if err != nil {
		return nil, err
	}
	s.alive.put(sess.ID, sess.UserID, email, end)
	return &Grant{
		Session: sess, AccessToken: at, AccessExpiresAt: exp,
		RefreshToken: base64.RawURLEncoding.EncodeToString(raw), RefreshExpiresAt: end,
	}, nil
}

// Refresh exchanges a refresh token for a new access token and the next
// refresh token of its session.
//
// Every refresh rotates the token (RFC 9700 §4.14.2). Presenting a token that
// was already rotated means two parties hold it, one of them a thief, so the
// whole session is revoked: ErrRefreshReused. The one exception is the
// immediate predecessor presented within ReuseGrace, which parallel browser
// tabs sharing one cookie jar do routinely: it gets the same successor back.
// The successor is derived from the predecessor with the server's
// RefreshKey, so every instance computes the same value and a race can never
// leave two live successors; the store's compare-and-swap decides which
// request writes it.
func (s *Service) Refresh(ctx context.Context, refresh string, c Client) (*Grant, error) {
	raw, ok := parseRefresh(refresh)
	if !ok {
		s.record(ctx, Event{Name: EventRefreshInvalid, IP: c.IP, UserAgent: c.UserAgent, Outcome: "failure", Reason: "malformed"})
		return nil, ErrRefreshInvalid
	}
	rec, sess, u, err := s.readRefresh(ctx, hashRefresh(raw))
	if errors.Is(err, ErrNotFound) {
		s.record(ctx, Event{Name: EventRefreshInvalid, IP: c.IP, UserAgent: c.UserAgent, Outcome: "failure", Reason: "unknown"})
		return nil, ErrRefreshInvalid
	}
	if err != nil {
		return nil, err
	}
	if sess == nil {
		sess, u, err = s.liveSession(ctx, rec.SessionID)
	} else {
		err = s.checkLive(ctx, sess, u)
	}
	if err != nil {
		return nil, err
	}
	next := s.successor(raw)
	nextHash := hashRefresh(next)
	for range 2 {
		switch {
		case rec.Generation == sess.Generation:
			// Stores keep microseconds; the session granted below holds
			// the time exactly as stored.
			now := s.now().UTC().Truncate(time.Microsecond)
			err := s.sessions.RotateRefresh(ctx, Rotation{SessionID: sess.ID, From: sess.Generation, NewHash: nextHash, Now: now})
			if errors.Is(err, ErrConflict) {
				// Another request rotated first; look again.
				if sess, u, err = s.liveSession(ctx, rec.SessionID); err != nil {
					return nil, err
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			// The compare-and-swap succeeded, so the stored session is the
			// one read above with exactly the rotation's changes (see
			// SessionStore.RotateRefresh): no need to read it again, which
			// was a round trip to PostgreSQL on every refresh.
			rotated := *sess
			rotated.Generation, rotated.RefreshHash = sess.Generation+1, nextHash
			rotated.LastUsedAt, rotated.RotatedAt = now, now
			sess = &rotated
		case s.cfg.ReuseGrace > 0 &&
			rec.Generation == sess.Generation-1 &&
			hmac.Equal(sess.RefreshHash, nextHash) &&
			!s.now().After(sess.RotatedAt.Add(s.cfg.ReuseGrace)):
			// The predecessor within the grace window: same successor.
			// A zero grace is strict: even a replay in the very instant of
			// the rotation is reuse.
		default:
			s.endSession(ctx, sess, ReasonRefreshReused)
			s.record(ctx, Event{Name: EventRefreshReused, UserID: sess.UserID, SessionID: sess.ID, IP: c.IP, UserAgent: c.UserAgent, Outcome: "failure", Reason: "reuse"})
			return nil, ErrRefreshReused
		}
		s.record(ctx, Event{Name: EventRefresh, UserID: sess.UserID, SessionID: sess.ID, IP: c.IP, UserAgent: c.UserAgent, Outcome: "success"})
		return s.grant(sess, u.Email, next)
	}
	return nil, fmt.Errorf("%w: refresh kept conflicting", ErrConflict)
}

// readRefresh reads the record of a refresh token hash and, when the store
// can read them in the same query (RefreshLookup), its session and user;
// otherwise sess and u are nil. It returns ErrNotFound when no record has
// the hash.
func (s *Service) readRefresh(ctx context.Context, hash []byte) (rec *RefreshRecord, sess *Session, u *User, err error) {
	// The joined read stands in for UserByID too, so only a store that is
	// the user store as well may answer it (NewService decides).
	if s.lookup != nil {
		return s.lookup.RefreshSession(ctx, hash)
	}
	rec, err = s.sessions.RefreshRecord(ctx, hash)
	return rec, nil, nil, err
}

// sameStore reports whether a and b are the same store: the same pointer.
// Other kinds are never the same, without the panic == causes on two
// interfaces that hold one uncomparable type.
func sameStore(a, b any) bool {
	t := reflect.TypeOf(a)
	return t != nil && t.Kind() == reflect.Pointer && t == reflect.TypeOf(b) && a == b
}

// liveSession loads a session and its user and checks that both are alive.
func (s *Service) liveSession(ctx context.Context, id string) (*Session, *User, error) {
	sess, err := s.sessions.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrRefreshInvalid
	}
	if err != nil {
		return nil, nil, err
	}
	if err := s.sessionEnded(sess); err != nil {
		return nil, nil, err
	}
	u, err := s.users.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	if err := s.userRefused(ctx, sess, u); err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// checkLive checks that a session and its user, read together, are alive.
func (s *Service) checkLive(ctx context.Context, sess *Session, u *User) error {
	if err := s.sessionEnded(sess); err != nil {
		return err
	}
	return s.userRefused(ctx, sess, u)
}

// sessionEnded reports why sess can no longer be refreshed: it was revoked
// or has expired. It returns nil for a live session.
func (s *Service) sessionEnded(sess *Session) error {
	if sess.Revoked() {
		return fmt.Errorf("%w: revoked (%s)", ErrSessionEnded, sess.Reason)
	}
	if now := s.now(); !now.Before(sess.IdleExpiresAt(s.cfg.IdleTimeout)) {
		return fmt.Errorf("%w: expired", ErrSessionEnded)
	}
	return nil
}

// userRefused ends sess and reports it when its user is disabled.
func (s *Service) userRefused(ctx context.Context, sess *Session, u *User) error {
	if u.Disabled {
		s.endSession(ctx, sess, ReasonUserDisabled)
		return fmt.Errorf("%w: user disabled", ErrSessionEnded)
	}
	return nil
}

func (s *Service) successor(raw []byte) []byte {
	m := hmac.New(sha256.New, s.cfg.RefreshKey)
	m.Write([]byte("gatehouse refresh successor v1\x00"))
	m.Write(raw)
	return m.Sum(nil)
}

// endSession revokes a session in the store and in memory. The memory entry
// is added even when the store fails, so this instance stops honouring the
// session's access tokens at once.
func (s *Service) endSession(ctx context.Context, sess *Session, reason string) error {
	now := s.now().UTC()
	s.revokeLocal(ctx, sess.ID, now)
	return s.sessions.RevokeSession(ctx, sess.ID, reason, now)
}

// revokeLocal ends a session in this instance's memory and tells the other
// instances. The store remains the record: an instance that misses the
// broadcast catches up at its next sync.
func (s *Service) revokeLocal(ctx context.Context, id string, at time.Time) {
	s.revoked.Add(id, at)
	s.alive.drop(id)
	if s.broker != nil {
		if err := s.broker.Publish(ctx, Revocation{SessionID: id, RevokedAt: at}); err != nil {
			s.log.WarnContext(ctx, "publish revocation", slog.Any("error", err))
		}
	}
}

// Logout ends the session that the access token or, failing that, the
// refresh token belongs to. It succeeds when there is nothing to end, so a
// client can always log out.
func (s *Service) Logout(ctx context.Context, accessToken, refreshToken string, c Client) error {
	var sid string
	if p, err := s.Authenticate(ctx, accessToken); err == nil {
		sid = p.SessionID
	} else if raw, ok := parseRefresh(refreshToken); ok {
		if rec, err := s.sessions.RefreshRecord(ctx, hashRefresh(raw)); err == nil {
			sid = rec.SessionID
		}
	}
	if sid == "" {
		return nil
	}
	sess, err := s.sessions.Session(ctx, sid)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.endSession(ctx, sess, ReasonLogout); err != nil {
		return err
	}
	s.record(ctx, Event{Name: EventLogout, UserID: sess.UserID, SessionID: sid, IP: c.IP, UserAgent: c.UserAgent, Outcome: "success"})
	return nil
}

// LogoutAll ends every session of the caller, the current one included.
func (s *Service) LogoutAll(ctx context.Context, p *Principal, c Client) error {
	if err := s.endUserSessions(ctx, p.UserID, "", ReasonLogoutAll); err != nil {
		return err
	}
	s.record(ctx, Event{Name: EventLogoutAll, UserID: p.UserID, SessionID: p.SessionID, IP: c.IP, UserAgent: c.UserAgent, Outcome: "success"})
	return nil
}

func (s *Service) endUserSessions(ctx context.Context, userID, except, reason string) error {
	now := s.now().UTC()
	ids, err := s.sessions.RevokeUserSessions(ctx, userID, except, reason, now)
	for _, id := range ids {
		s.revokeLocal(ctx, id, now)
	}
	return err
}

// Authenticate verifies an access token and checks that its session is
// alive. Every failure is ErrUnauthenticated, with the precise cause wrapped
// for the log only. The store is consulted only the first time this instance
// sees a session; after that the check is an in-memory lookup.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (*Principal, error) {
	if accessToken == "" {
		return nil, fmt.Errorf("%w: no token", ErrUnauthenticated)
	}
	cl, err := s.verifier.Verify(accessToken)
	if err != nil {
		// Logged, not audited: a flood of garbage tokens must not turn
		// into a flood of store writes.
		s.log.LogAttrs(ctx, slog.LevelInfo, "access token rejected", slog.String("reason", err.Error()))
		return nil, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if s.revoked.Revoked(cl.SessionID) {
		s.log.LogAttrs(ctx, slog.LevelInfo, "access token rejected", slog.String("reason", "session revoked"),
			slog.String("user_id", cl.Subject), slog.String("session_id", cl.SessionID))
		return nil, fmt.Errorf("%w: session revoked", ErrUnauthenticated)
	}
	e, ok := s.alive.get(cl.SessionID, s.now())
	if !ok {
		// First sight of this session on this instance: only a holder of a
		// signing key can get here with a session that does not exist.
		sess, err := s.sessions.Session(ctx, cl.SessionID)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: unknown session", ErrUnauthenticated)
		}
		if err != nil {
			return nil, err
		}
		if sess.Revoked() {
			s.revoked.Add(sess.ID, sess.RevokedAt)
			return nil, fmt.Errorf("%w: session revoked", ErrUnauthenticated)
		}
		u, err := s.users.UserByID(ctx, sess.UserID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if u == nil || u.Disabled {
			return nil, fmt.Errorf("%w: user gone or disabled", ErrUnauthenticated)
		}
		e = s.alive.put(sess.ID, sess.UserID, u.Email, sess.ExpiresAt)
	}
	if e.userID != cl.Subject {
		return nil, fmt.Errorf("%w: subject does not own session", ErrUnauthenticated)
	}
	return &Principal{UserID: cl.Subject, SessionID: cl.SessionID, TokenID: cl.ID, Email: e.email, ExpiresAt: cl.ExpiresAt}, nil
}

// User returns the caller's account.
func (s *Service) User(ctx context.Context, p *Principal) (*User, error) {
	return s.users.UserByID(ctx, p.UserID)
}

// UpdateDisplayName changes the caller's display name.
func (s *Service) UpdateDisplayName(ctx context.Context, p *Principal, name string) (*User, error) {
	name, err := validDisplayName(name)
	if err != nil {
		return nil, err
	}
	if err := s.users.UpdateDisplayName(ctx, p.UserID, name, s.now().UTC()); err != nil {
		return nil, err
	}
	return s.users.UserByID(ctx, p.UserID)
}

// Session returns the caller's current session.
func (s *Service) Session(ctx context.Context, p *Principal) (*Session, error) {
	return s.sessions.Session(ctx, p.SessionID)
}

// Sessions lists the caller's live sessions.
func (s *Service) Sessions(ctx context.Context, p *Principal) ([]*Session, error) {
	all, err := s.sessions.ActiveSessions(ctx, p.UserID, s.now())
	if err != nil {
		return nil, err
	}
	now := s.now()
	live := all[:0]
	for _, sess := range all {
		if now.Before(sess.IdleExpiresAt(s.cfg.IdleTimeout)) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// SessionExpiresAt is when sess ends if unused: the earlier of its idle and
// absolute deadlines.
func (s *Service) SessionExpiresAt(sess *Session) time.Time {
	return sess.IdleExpiresAt(s.cfg.IdleTimeout)
}

// RevokeSession ends one of the caller's sessions. A session of another
// user is ErrNotFound, exactly like one that does not exist.
func (s *Service) RevokeSession(ctx context.Context, p *Principal, id string, c Client) error {
	sess, err := s.sessions.Session(ctx, id)
	if err != nil {
		return err
	}
	if sess.UserID != p.UserID || sess.Revoked() {
		return ErrNotFound
	}
	if err := s.endSession(ctx, sess, ReasonRevokedByUser); err != nil {
		return err
	}
	s.record(ctx, Event{Name: EventSessionRevoked, UserID: p.UserID, SessionID: id, IP: c.IP, UserAgent: c.UserAgent, Outcome: "success"})
	return nil
}

// ChangePassword replaces the caller's password after checking the current
// one, ends every other session, and gives this session new tokens. The
// current password is checked under the same limits and progressive delay
// as a login (see admit), so the change form is no way around login
// throttling.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string, c Client) (*Grant, error) {
	if len(current) > s.cfg.PasswordRules.MaxLength || current == "" {
		return nil, ErrCurrentPassword
	}
	if len(next) > s.cfg.PasswordRules.MaxLength {
		return nil, &InputError{Field: "new_password", Reason: fmt.Sprintf("must be at most %d bytes", s.cfg.PasswordRules.MaxLength), Err: ErrWeakPassword}
	}
	u, err := s.users.UserByID(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	device, _ := s.knownDevice(c.Device, u.ID)
	a, err := s.admit(ctx, u.Email, device, c, func() string { return u.ID })
	if err != nil {
		return nil, err
	}
	ok, _, err := s.hasher.Verify(ctx, []byte(current), u.PasswordHash)
	if err != nil {
		s.abandon(ctx, a)
		return nil, s.hashErr(err)
	}
	if !ok {
		s.failed(ctx, a)
		s.record(ctx, Event{Name: EventPasswordFailure, UserID: u.ID, SessionID: p.SessionID, IP: c.IP, UserAgent: c.UserAgent, Outcome: "failure", Reason: "bad_password"})
		return nil, ErrCurrentPassword
	}
	s.succeeded(ctx, a)
	if err := s.checkNewPassword(ctx, next, u.Email); err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			ie.Field = "new_password"
		}
		return nil, err
	}
	hash, err := s.hash(ctx, next)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if err := s.users.UpdatePasswordHash(ctx, u.ID, hash, now); err != nil {
		return nil, err
	}
	if err := s.endUserSessions(ctx, u.ID, p.SessionID, ReasonPasswordChange); err != nil {
		return nil, err
	}
	sess, err := s.sessions.Session(ctx, p.SessionID)
	if err != nil {
		return nil, err
	}
	// A fresh random refresh token: anyone holding this session's old one
	// is now presenting a rotated token, which is reuse.
	raw, err := randomRefresh()
	if err != nil {
		return nil, err
	}
	if err := s.sessions.RotateRefresh(ctx, Rotation{SessionID: sess.ID, From: sess.Generation, NewHash: hashRefresh(raw), Now: now}); err != nil {
		return nil, err
	}
	if sess, err = s.sessions.Session(ctx, sess.ID); err != nil {
		return nil, err
	}
	s.record(ctx, Event{Name: EventPasswordChanged, UserID: u.ID, SessionID: sess.ID, IP: c.IP, UserAgent: c.UserAgent, Outcome: "success"})
	return s.grant(sess, u.Email, raw)
}

// DisableUser blocks an account and ends all its sessions (ASVS 7.4.2).
func (s *Service) DisableUser(ctx context.Context, userID string) error {
	if err := s.users.SetUserDisabled(ctx, userID, true, s.now().UTC()); err != nil {
		return err
	}
	if err := s.endUserSessions(ctx, userID, "", ReasonUserDisabled); err != nil {
		return err
	}
	s.record(ctx, Event{Name: EventUserDisabled, UserID: userID, Outcome: "success"})
	return nil
}

// SyncRevocations loads sessions ended by other instances since since into
// the in-memory set, and returns the next since.
func (s *Service) SyncRevocations(ctx context.Context, since time.Time) (time.Time, error) {
	now := s.now()
	list, err := s.sessions.RevokedSince(ctx, since)
	if err != nil {
		return since, err
	}
	ids := make([]string, len(list))
	for i, rv := range list {
		s.revoked.Add(rv.SessionID, rv.RevokedAt)
		ids[i] = rv.SessionID
	}
	s.alive.dropAll(ids)
	s.revoked.Prune(now)
	// Overlap the next window a little: a revocation committed by another
	// instance with a slightly earlier clock must not fall between syncs.
	return now.Add(-5 * time.Second), nil
}

// Run keeps the in-memory state in step with the store until ctx ends:
// revocations made by other instances every interval, the signing keys
// every KeyReloadInterval (Keyring.Maintain), and the removal of sessions
// that ended long ago. A store or broker that fails is logged and tried
// again, never fatal: Run returns only when ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) error {
	since := s.now().Add(-(s.cfg.AccessTTL + s.cfg.Leeway))
	if next, err := s.SyncRevocations(ctx, since); err != nil {
		// The store is down for now: carry on and try again at the next
		// tick. Giving up here would leave this instance deaf to the
		// revocations of every other instance until it restarts.
		s.log.WarnContext(ctx, "sync revocations", slog.Any("error", err))
	} else {
		since = next
	}
	if s.broker != nil {
		go s.listen(ctx)
	}
	if err := s.keys.Maintain(ctx, s.now()); err != nil {
		s.log.WarnContext(ctx, "maintain signing keys", slog.Any("error", err))
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	lastCleanup, lastKeys := time.Time{}, time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		// Keys: pick up what other instances and the operator changed,
		// rotate when due, delete retired keys nobody needs (rotation.go).
		if time.Since(lastKeys) >= KeyReloadInterval {
			lastKeys = time.Now()
			if err := s.keys.Maintain(ctx, s.now()); err != nil {
				s.log.WarnContext(ctx, "maintain signing keys", slog.Any("error", err))
			}
		}
		if next, err := s.SyncRevocations(ctx, since); err != nil {
			s.log.WarnContext(ctx, "sync revocations", slog.Any("error", err))
		} else {
			since = next
		}
		if now := s.now(); now.Sub(lastCleanup) > time.Hour {
			lastCleanup = now
			// Keep ended sessions a day for the record, then delete them.
			if _, err := s.sessions.DeleteSessionsBefore(ctx, now.Add(-24*time.Hour)); err != nil {
				s.log.WarnContext(ctx, "delete old sessions", slog.Any("error", err))
			}
		}
	}
}

// listen applies revocations published by other instances, reconnecting
// after failures until ctx ends.
func (s *Service) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.broker.Listen(ctx, func(r Revocation) {
			s.revoked.Add(r.SessionID, r.RevokedAt)
			s.alive.drop(r.SessionID)
		})
		if ctx.Err() != nil {
			return
		}
		s.log.WarnContext(ctx, "revocation broker", slog.Any("error", err))
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// throttleAddr is the unit the per-address limit counts: the address itself
// for IPv4, its /64 for IPv6, since anyone with one IPv6 subnet holds 2^64
// addresses to rotate through.
func throttleAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// refreshLen is the length of an encoded refresh token: 32 random bytes
// (256 bits) in unpadded base64url.
const refreshLen = 43

func randomRefresh() ([]byte, error) {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

// parseRefresh checks the shape of a refresh token before anything else is
// done with it. Strict decoding makes the encoding canonical, so two
// different strings never name the same token.
func parseRefresh(s string) ([]byte, bool) {
	if len(s) != refreshLen {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, false
	}
	return b, true
}

// hashRefresh is what the store keeps instead of the token: a leaked
// database does not yield usable refresh tokens.
func hashRefresh(raw []byte) []byte {
	h := sha256.Sum256(raw)
	return h[:]
}

// newID returns an opaque random identifier of 128 bits.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8RuneStart(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
