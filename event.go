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
	EventKeyRotated      = "key.rotated"
	// EventStuffingAlarm is recorded when failed logins across all accounts
	// pass Config.Stuffing.MaxFailures within its window: the mark of
	// credential stuffing or password spraying from many addresses.
	EventStuffingAlarm = "credential_stuffing.alarm"
	// EventPolicyRejected is recorded when the server refuses to start
	// because of its policy; Reason is the id of the rule that failed.
	EventPolicyRejected = "policy.rejected"
)

// Event is a security event: who did what, from where, with what outcome.
// It never carries a password, a token or a refresh value.
type Event struct {
	Time      time.Time
	Name      string
	UserID    string
	SessionID string
	KeyID     string // the signing key, for key events
	IP        string
	UserAgent string
	Outcome   string // "success" or "failure"
	Reason    string // a fixed code such as "bad_password", never free text
}

// EventSink receives security events, for example to keep an audit trail.
type EventSink interface {
	Record(ctx context.Context, e Event)
}

// EventSinks is an EventSink that hands every event to each of its sinks
// in turn, such as the audit trail and the metrics.
type EventSinks []EventSink

// Record hands e to every sink.
func (s EventSinks) Record(ctx context.Context, e Event) {
	for _, sink := range s {
		sink.Record(ctx, e)
	}
}

// Client describes where a request came from.
type Client struct {
	IP        string
	UserAgent string
	// Device is the known-device token the client presented, if any (see
	// Grant.DeviceToken); "" when it presented none.
	Device string
}

// maxEventUserAgent bounds the user agent an event carries: it is chosen
// by the client, and every event is kept.
const maxEventUserAgent = 256

func (s *Service) record(ctx context.Context, e Event) {
	e.Time = s.now()
	e.UserAgent = truncate(e.UserAgent, maxEventUserAgent)
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
		slog.String("key_id", e.KeyID),
		slog.String("ip", e.IP),
		slog.String("user_agent", e.UserAgent),
		slog.String("outcome", e.Outcome),
		slog.String("reason", e.Reason),
	)
	if s.events != nil {
		s.events.Record(ctx, e)
	}
}
