package gatehouse

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Login throttling.
//
// Every password check is counted before any hashing, through the Limiter,
// whose Hit is atomic: a parallel burst cannot slip past a limit. An
// attempt is counted against
//
//   - its client address (IPLimit; an IPv6 client by its /64), and
//   - either, for a client without a known-device token for the account,
//     the account (AccountLimit), the (account, address) pair (PairLimit)
//     and the progressive delay of the account;
//   - or, for a client with one (see device.go), the (account, device)
//     pair alone (PairLimit), so that nobody else's failures lock it out.
//
// The progressive delay makes consecutive failures against an account wait
// LoginDelay, 2×LoginDelay, 4×LoginDelay … (capped at the account window)
// before the next attempt is even considered, on top of the hard limit.
// It is kept in the Limiter too, with Hit alone, so that every Limiter
// (in memory, Redis) gives it the same semantics across instances:
//
//   - the attempt's place in the account's run of failures (its streak) is
//     the first level k whose flag "streak k" it sets first: Hit(flag, 1,
//     window) succeeds for exactly one caller per window, a test-and-set;
//   - the k-th failure closes the gate of level k+1 for the delay:
//     Hit(gate, 0, delay) creates a counter that refuses until it expires;
//   - an attempt at level k ≥ 2 passes only while gate k is open: Hit(gate,
//     1, 1ns) refuses a closed gate and leaves an open one open.
//
// A success resets what it was counted in, except the client address, which
// gets back only its own attempt: logging into one's own account never
// washes out failures against other accounts or from other clients.

// loginAttempt is one admitted password check: the counters it was counted
// in, so that its outcome can settle them.
type loginAttempt struct {
	email   string
	ip      string // per-address counter
	account string // per-account counter; "" on the known-device path
	pair    string // (account, address) or (account, device) counter
	streak  int    // level in the account's run of failures; 0 when there is no delay
	took    bool   // this attempt set the flag of its level
}

// DefaultLoginDelay is a sensible Config.LoginDelay: one second after the
// first failure, doubling with each further one.
const DefaultLoginDelay = time.Second

// admit counts an attempt to check the password of the account email, by
// client c, with device the id of a valid known-device token c presented
// for that account ("" for none). It returns a *ThrottledError when a limit
// refuses it, recording a throttled event with what as part of its reason
// code, or an error matching ErrUnavailable when the limiter cannot answer.
// userID names the account for the event, when it exists.
func (s *Service) admit(ctx context.Context, email, device string, c Client, userID func() string) (*loginAttempt, error) {
	addr := throttleAddr(c.IP)
	a := &loginAttempt{email: email, ip: "login:ip:" + addr}
	refuse := func(err error, reason string, uid string) error {
		s.record(ctx, Event{Name: EventThrottled, UserID: uid, IP: c.IP, UserAgent: c.UserAgent, Outcome: "failure", Reason: reason})
		return err
	}
	ipLimit, reason := s.cfg.IPLimit, "ip"
	if st := s.cfg.Stuffing; st.IPMaxFailures > 0 && st.IPMaxFailures < ipLimit.MaxFailures && s.StuffingAlarm() {
		// Credential stuffing is under way: each address gets fewer tries.
		ipLimit.MaxFailures, reason = st.IPMaxFailures, "ip_alarm"
	}
	if err := s.hit(ctx, a.ip, ipLimit); err != nil {
		return nil, refuse(err, reason, "")
	}
	if device != "" {
		a.pair = "login:device:" + device + ":" + email
		if err := s.hit(ctx, a.pair, s.cfg.PairLimit); err != nil {
			return nil, refuse(err, "device", userID())
		}
		return a, nil
	}
	a.account = "login:account:" + email
	if err := s.hit(ctx, a.account, s.cfg.AccountLimit); err != nil {
		return nil, refuse(err, "account", userID())
	}
	a.pair = "login:pair:" + strconv.Itoa(len(addr)) + ":" + addr + ":" + email
	if err := s.hit(ctx, a.pair, s.cfg.PairLimit); err != nil {
		return nil, refuse(err, "pair", userID())
	}
	if err := s.pace(ctx, a); err != nil {
		// Refused before the password was looked at: the attempt does not
		// count against the account, so an impatient owner retrying too
		// early does not use up the hard limit.
		s.limiter.Undo(ctx, a.account)
		s.limiter.Undo(ctx, a.pair)
		return nil, refuse(err, "delay", userID())
	}
	return a, nil
}

// pace finds the attempt's level in the account's run of failures and
// refuses it while the delay set by the previous failure lasts.
func (s *Service) pace(ctx context.Context, a *loginAttempt) error {
	if s.cfg.LoginDelay <= 0 {
		return nil
	}
	levels := s.streakLevels()
	for k := 1; k <= levels; k++ {
		ok, _, err := s.limiter.Hit(ctx, streakKey(a.email, k), 1, s.cfg.AccountLimit.Window)
		if err != nil {
			return fmt.Errorf("%w: limiter: %w", ErrUnavailable, err)
		}
		if ok || k == levels {
			a.streak, a.took = k, ok
			break
		}
	}
	if a.streak < 2 {
		return nil
	}
	ok, retry, err := s.limiter.Hit(ctx, gateKey(a.email, a.streak), 1, time.Nanosecond)
	if err != nil {
		return fmt.Errorf("%w: limiter: %w", ErrUnavailable, err)
	}
	if !ok {
		s.releaseStreak(ctx, a)
		return &ThrottledError{RetryAfter: retry}
	}
	return nil
}

// failed settles an attempt whose password was wrong: the counters keep it,
// and the account's next attempt must wait out the progressive delay.
func (s *Service) failed(ctx context.Context, a *loginAttempt) {
	if a.streak == 0 {
		return
	}
	next := min(a.streak+1, s.streakLevels())
	gate := gateKey(a.email, next)
	// A fresh window: an expired check of this gate may have left a
	// counter that would otherwise absorb this one.
	s.limiter.Reset(ctx, gate)
	if _, _, err := s.limiter.Hit(ctx, gate, 0, s.loginDelay(a.streak)); err != nil {
		s.log.WarnContext(ctx, "login delay", "error", err)
	}
}

// succeeded settles an attempt with the right password: the account's run
// of failures ends and its counters start over; the client address gets
// back only this attempt.
func (s *Service) succeeded(ctx context.Context, a *loginAttempt) {
	s.limiter.Undo(ctx, a.ip)
	s.limiter.Reset(ctx, a.pair)
	if a.account != "" {
		s.limiter.Reset(ctx, a.account)
	}
	if a.streak > 0 {
		for k := 1; k <= a.streak; k++ {
			s.limiter.Reset(ctx, streakKey(a.email, k))
		}
		for k := 2; k <= min(a.streak+1, s.streakLevels()); k++ {
			s.limiter.Reset(ctx, gateKey(a.email, k))
		}
	}
}

// abandon gives back everything an attempt was counted in, for an attempt
// that could not be decided (the hashing pool or the store failed).
func (s *Service) abandon(ctx context.Context, a *loginAttempt) {
	s.limiter.Undo(ctx, a.ip)
	s.limiter.Undo(ctx, a.pair)
	if a.account != "" {
		s.limiter.Undo(ctx, a.account)
	}
	s.releaseStreak(ctx, a)
}

// releaseStreak gives back the level an attempt took, so that the next
// attempt has it.
func (s *Service) releaseStreak(ctx context.Context, a *loginAttempt) {
	if a.took {
		s.limiter.Undo(ctx, streakKey(a.email, a.streak))
		a.took = false
	}
}

// streakLevels is how many levels the progressive delay has: until the
// delay reaches the account window, and never beyond the account's hard
// limit, which refuses the attempts after it anyway.
func (s *Service) streakLevels() int {
	n := 1
	for d := s.cfg.LoginDelay; d < s.cfg.AccountLimit.Window && n < s.cfg.AccountLimit.MaxFailures; d *= 2 {
		n++
	}
	return n
}

// loginDelay is the wait after the k-th consecutive failure: LoginDelay
// doubled k-1 times, at most the account window.
func (s *Service) loginDelay(k int) time.Duration {
	d := s.cfg.LoginDelay
	for ; k > 1 && d < s.cfg.AccountLimit.Window; k-- {
		d *= 2
	}
	return min(d, s.cfg.AccountLimit.Window)
}

func streakKey(email string, k int) string {
	return "login:streak:" + strconv.Itoa(k) + ":" + email
}

func gateKey(email string, k int) string {
	return "login:delay:" + strconv.Itoa(k) + ":" + email
}
