package gatehouse

import (
	"context"
	"fmt"
	"log/slog"
)

// BreachChecker tells whether a password is known from data breaches
// (ASVS 6.2.12). Package pwned implements it with the k-anonymity range API
// of Have I Been Pwned, which never sees the password or its full hash.
type BreachChecker interface {
	// Breached reports whether pw appears in a breach corpus. An error
	// means it could not tell.
	Breached(ctx context.Context, pw string) (bool, error)
}

// checkBreached refuses a new password that Config.Breached knows from a
// breach: attackers try those first, on every site. When the checker
// cannot answer, BreachedFailClosed decides: refuse with ErrUnavailable,
// or accept the password, which has passed the local rules, and log it.
func (s *Service) checkBreached(ctx context.Context, pw string) error {
	if s.cfg.Breached == nil {
		return nil
	}
	found, err := s.cfg.Breached.Breached(ctx, pw)
	if err != nil {
		if s.cfg.BreachedFailClosed {
			return fmt.Errorf("%w: breached-password check: %w", ErrUnavailable, err)
		}
		s.log.WarnContext(ctx, "breached-password check failed; password accepted (fail open)", slog.Any("error", err))
		return nil
	}
	if found {
		return &InputError{Field: "password", Reason: "appears in known data breaches", Err: ErrWeakPassword}
	}
	return nil
}
