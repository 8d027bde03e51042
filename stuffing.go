package gatehouse

import (
	"context"
	"time"
)

// StuffingAlarm configures the credential-stuffing alarm.
//
// Credential stuffing and password spraying spread their guesses over many
// accounts and many addresses, so that no per-account or per-address limit
// trips (SECURITY-CASES G-06). What they cannot hide is the total: the
// alarm counts failed logins across all accounts, in the Limiter (so every
// instance sharing it counts together), and fires when more than
// MaxFailures fall in Window.
type StuffingAlarm struct {
	// MaxFailures failed logins, across all accounts, within Window are
	// normal; more set the alarm off. Zero turns the alarm off.
	MaxFailures int
	Window      time.Duration
	// IPMaxFailures, when positive and below IPLimit.MaxFailures, replaces
	// it while the alarm is on: each address gets fewer tries while an
	// attack is under way.
	IPMaxFailures int
}

const stuffingKey = "login:failures:all"

// countFailure counts a failed login towards the alarm, and records
// EventStuffingAlarm when it goes off: once per window on each instance,
// so the event marks the attack without flooding the log.
func (s *Service) countFailure(ctx context.Context) {
	st := s.cfg.Stuffing
	if st.MaxFailures <= 0 || st.Window <= 0 {
		return
	}
	ok, retry, err := s.limiter.Hit(ctx, stuffingKey, st.MaxFailures, st.Window)
	if err != nil || ok {
		return
	}
	now := s.now()
	until := now.Add(max(retry, time.Second)).UnixNano()
	for {
		prev := s.alarmUntil.Load()
		if prev >= until {
			return
		}
		if s.alarmUntil.CompareAndSwap(prev, until) {
			if prev <= now.UnixNano() {
				s.record(ctx, Event{Name: EventStuffingAlarm, Outcome: "failure", Reason: "threshold"})
			}
			return
		}
	}
}

// StuffingAlarm reports whether the credential-stuffing alarm is on: this
// instance saw the count of failed logins across all accounts pass
// Config.Stuffing.MaxFailures, and that window has not yet ended.
func (s *Service) StuffingAlarm() bool {
	return s.now().UnixNano() < s.alarmUntil.Load()
}
