package gatehouse

import (
	"context"
	"errors"
)

// Registration throttling.
//
// Without a limit of its own, sign-up is bounded only by the hashing pool:
// one script could create accounts without end from one address, and fill
// the breached-password check's slots while it does (which, failing open,
// lets breached passwords through for everyone). So every sign-up that
// passes the cheap local checks is counted against its client address (an
// IPv6 client by its /64, like logins) through the Limiter, before the
// breached-password lookup and the hashing: a refused attempt costs
// neither. The Limiter is shared (Redis) when instances are, so the limit
// holds across them.
//
// Unlike a login, an attempt is never given back, whatever its outcome: a
// successful sign-up is what a flood wants, an email already taken is what
// enumeration wants, and an attempt that found the hashing pool or the
// breach API overloaded has still taken their time.

// admitRegistration counts a sign-up by client c against
// Config.RegistrationLimit. It returns a *ThrottledError when the limit
// refuses it, recording a throttled event with reason "registration", or
// an error matching ErrUnavailable when the limiter cannot answer (fail
// closed, as for logins).
func (s *Service) admitRegistration(ctx context.Context, c Client) error {
	l := s.cfg.RegistrationLimit
	if l.MaxFailures <= 0 {
		return nil
	}
	err := s.hit(ctx, "register:ip:"+throttleAddr(c.IP), l)
	if errors.Is(err, ErrThrottled) {
		s.record(ctx, Event{Name: EventThrottled, IP: c.IP, UserAgent: c.UserAgent, Outcome: "failure", Reason: "registration"})
	}
	return err
}
