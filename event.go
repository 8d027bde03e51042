package gatehouse

import (
	"context"
	"log/slog"
	"time"
)

// Event names of the security events the service records.
const (
	EventRegister        = "register"
	EventLoginSuccess    = "login.success"
	EventLoginFailure    = "login.failure"
	EventThrottled       = "throttled"
	EventRefresh         = "refresh"
	EventRefreshInvalid  = "refresh.invalid"
	EventRefreshReused   = "refresh.reused"
	EventLogout          = "logout"
	EventLogoutAll       = "logout_all"
	EventSessionRevoked  = "session.revoked"
	EventPasswordChanged = "password.changed"
	EventPasswordFailure = "password.failure"
	EventUserDisabled    = "user.disabled"
)

// Event is a security event: who did what, from where, with what outcome.
// It never carries a password, a token or a refresh value.
type Event struct {
	Time      time.Time
	Name      string
	UserID    string
	SessionID string
	IP        string
	UserAgent string
	Outcome   string // "success" or "failure"
	Reason    string // a fixed code such as "bad_password", never free text
}

// EventSink receives security events, for example to keep an audit trail.
type EventSink interface {
	Record(ctx context.Context, e Event)
}

// Client describes where a request came from.
type Client struct {
	IP        string
	UserAgent string
}

func (s *Service) record(ctx context.Context, e Event) {
	e.Time = s.now()
	level := slog.LevelInfo
	if e.Outcome == "failure" {
		level = slog.LevelWarn
	}
	// slog's JSON handler escapes attacker-controlled strings (the user
	// agent), so a newline cannot forge a log line.
	s.log.LogAttrs(ctx, level, "security event",
		slog.String("event", e.Name),
		slog.String("user_id", e.UserID),
		slog.String("session_id", e.SessionID),
		slog.String("ip", e.IP),
		slog.String("user_agent", e.UserAgent),
		slog.String("outcome", e.Outcome),
		slog.String("reason", e.Reason),
	)
	if s.events != nil {
		s.events.Record(ctx, e)
	}
}
