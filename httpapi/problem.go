package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
}

func problem(slug, title string, status int) Problem {
	return Problem{Type: "urn:gatehouse:problem:" + slug, Title: title, Status: status}
}

// The bodies every token or session failure shares. One body for all of them
// means a response never tells an attacker which check a forged token failed
// (expired vs. bad signature is an oracle).
var (
	probUnauthenticated    = problem("unauthenticated", "Authentication required", http.StatusUnauthorized)
	probInvalidCredentials = problem("invalid-credentials", "Invalid email or password", http.StatusUnauthorized)
	probThrottled          = problem("throttled", "Too many attempts; try again later", http.StatusTooManyRequests)
	probNotFound           = problem("not-found", "Not found", http.StatusNotFound)
	probInternal           = problem("internal", "Internal server error", http.StatusInternalServerError)
)

// writeProblem writes p as application/problem+json. The charset is stated
// like on every other JSON response, so that no client or intermediary
// guesses the encoding of an error body (ASVS 4.1.1).
func writeProblem(w http.ResponseWriter, p Problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	writeJSONBody(w, p)
}

// writeError maps a domain error to a status and a problem body. It is the
// only place that does: internal causes are logged, never shown.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ie *gatehouse.InputError
	var te *gatehouse.ThrottledError
	switch {
	case errors.As(err, &ie):
		p := problem("invalid-input", "Invalid request", http.StatusBadRequest)
		if errors.Is(err, gatehouse.ErrWeakPassword) {
			p = problem("weak-password", "Password rejected", http.StatusBadRequest)
		}
		p.Field, p.Detail = ie.Field, ie.Field+" "+ie.Reason
		writeProblem(w, p)
	case errors.As(err, &te):
		secs := int(te.RetryAfter.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeProblem(w, probThrottled)
	case errors.Is(err, gatehouse.ErrInvalidCredentials):
		writeProblem(w, probInvalidCredentials)
	case errors.Is(err, gatehouse.ErrCurrentPassword):
		writeProblem(w, problem("current-password", "Current password is incorrect", http.StatusForbidden))
	case errors.Is(err, gatehouse.ErrEmailTaken):
		writeProblem(w, problem("email-taken", "Email already registered", http.StatusConflict))
	case errors.Is(err, gatehouse.ErrRegistrationClosed):
		writeProblem(w, problem("registration-closed", "Registration is closed", http.StatusForbidden))
	case errors.Is(err, gatehouse.ErrUnauthenticated),
		errors.Is(err, gatehouse.ErrRefreshInvalid),
		errors.Is(err, gatehouse.ErrRefreshReused),
		errors.Is(err, gatehouse.ErrSessionEnded):
		s.log.InfoContext(r.Context(), "unauthenticated", slog.String("path", r.URL.Path), slog.Any("reason", err))
		writeProblem(w, probUnauthenticated)
	case errors.Is(err, gatehouse.ErrNotFound):
		writeProblem(w, probNotFound)
	case errors.Is(err, gatehouse.ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		writeProblem(w, problem("overloaded", "Server busy; try again shortly", http.StatusServiceUnavailable))
	case errors.Is(err, gatehouse.ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		writeProblem(w, problem("unavailable", "Service temporarily unavailable", http.StatusServiceUnavailable))
	default:
		s.log.ErrorContext(r.Context(), "internal error", slog.String("path", r.URL.Path), slog.Any("error", err))
		writeProblem(w, probInternal)
	}
}
