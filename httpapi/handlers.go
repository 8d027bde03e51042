package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
)

type userJSON struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

func toUser(u *gatehouse.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, CreatedAt: u.CreatedAt.UTC().Truncate(time.Second)}
}

func (s *server) toSession(sess *gatehouse.Session, current string) sessionJSON {
	return sessionJSON{
		ID: sess.ID, CreatedAt: sess.CreatedAt.UTC().Truncate(time.Second), LastUsedAt: sess.LastUsedAt.UTC().Truncate(time.Second),
		ExpiresAt: s.svc.SessionExpiresAt(sess).UTC().Truncate(time.Second), UserAgent: sess.UserAgent, Current: sess.ID == current,
	}
}

func (s *server) client(r *http.Request) gatehouse.Client {
	device, _ := readCookie(r, DeviceCookie)
	return gatehouse.Client{IP: clientAddr(r, s.trustedProxies).String(), UserAgent: r.UserAgent(), Device: device}
}

type credentials struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

func (c credentials) check() *Problem {
	if c.Email == nil || c.Password == nil {
		p := problem("invalid-input", "Invalid request", http.StatusBadRequest)
		p.Detail = "email and password are required"
		return &p
	}
	return nil
}

func (s *server) handleRegister() http.Handler {
	return s.handleCredentials(s.svc.Register, http.StatusCreated)
}

func (s *server) handleLogin() http.Handler {
	return s.handleCredentials(s.svc.Login, http.StatusOK)
}

// handleCredentials is register and login: both take an email and a
// password, start a session, set its cookies and answer the user and the
// session with status.
func (s *server) handleCredentials(start func(context.Context, string, string, gatehouse.Client) (*gatehouse.User, *gatehouse.Grant, error), status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, p := decode[credentials](w, r)
		if p == nil {
			p = in.check()
		}
		if p != nil {
			writeProblem(w, *p)
			return
		}
		u, g, err := start(r.Context(), *in.Email, *in.Password, s.client(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.setAuthCookies(w, g)
		writeJSON(w, status, map[string]any{"user": toUser(u), "session": s.toSession(g.Session, g.Session.ID)})
	})
}

func (s *server) handleRefresh() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Identity comes from the refresh record alone; whatever access
		// cookie rides along is ignored (A-14, F-15).
		rt, ok := readCookie(r, RefreshCookie)
		if !ok {
			writeProblem(w, probUnauthenticated)
			return
		}
		g, err := s.svc.Refresh(r.Context(), rt, s.client(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.setAuthCookies(w, g)
		writeJSON(w, http.StatusOK, map[string]any{"session": s.toSession(g.Session, g.Session.ID)})
	})
}

func (s *server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at, _ := AccessToken(r)
		rt, _ := readCookie(r, RefreshCookie)
		if err := s.svc.Logout(r.Context(), at, rt, s.client(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.clearAuthCookies(w)
		s.forgetDevice(w, r)
		w.Header().Set("Clear-Site-Data", `"cookies"`)
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleLogoutAll() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := Principal(r)
		if err := s.svc.LogoutAll(r.Context(), p, s.client(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.clearAuthCookies(w)
		s.forgetDevice(w, r)
		w.Header().Set("Clear-Site-Data", `"cookies"`)
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleMe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := Principal(r)
		u, err := s.svc.User(r.Context(), p)
		if err != nil {
			s.writeError(w, r, unauthenticatedIfGone(err))
			return
		}
		sess, err := s.svc.Session(r.Context(), p)
		if err != nil {
			s.writeError(w, r, unauthenticatedIfGone(err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": toUser(u), "session": s.toSession(sess, p.SessionID)})
	})
}

func (s *server) handleUpdateMe() http.Handler {
	type input struct {
		DisplayName *string `json:"display_name"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, prob := decode[input](w, r)
		if prob == nil && in.DisplayName == nil {
			pr := problem("invalid-input", "Invalid request", http.StatusBadRequest)
			pr.Detail = "display_name is required"
			prob = &pr
		}
		if prob != nil {
			writeProblem(w, *prob)
			return
		}
		p, _ := Principal(r)
		u, err := s.svc.UpdateDisplayName(r.Context(), p, *in.DisplayName)
		if err != nil {
			s.writeError(w, r, unauthenticatedIfGone(err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": toUser(u)})
	})
}

func (s *server) handleSessions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := Principal(r)
		list, err := s.svc.Sessions(r.Context(), p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]sessionJSON, len(list))
		for i, sess := range list {
			out[i] = s.toSession(sess, p.SessionID)
		}
		writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
	})
}

func (s *server) handleRevokeSession() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := Principal(r)
		id := r.PathValue("id")
		if len(id) > 64 {
			writeProblem(w, probNotFound)
			return
		}
		if err := s.svc.RevokeSession(r.Context(), p, id, s.client(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		if id == p.SessionID {
			s.clearAuthCookies(w)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleChangePassword() http.Handler {
	type input struct {
		Current *string `json:"current_password"`
		New     *string `json:"new_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, prob := decode[input](w, r)
		if prob == nil && (in.Current == nil || in.New == nil) {
			pr := problem("invalid-input", "Invalid request", http.StatusBadRequest)
			pr.Detail = "current_password and new_password are required"
			prob = &pr
		}
		if prob != nil {
			writeProblem(w, *prob)
			return
		}
		p, _ := Principal(r)
		g, err := s.svc.ChangePassword(r.Context(), p, *in.Current, *in.New, s.client(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.setAuthCookies(w, g)
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleJWKS publishes the public keys of the next, active and retired
// signing keys. The keyring publishes a next key at least JWKSMaxAge (plus
// the access-token lifetime) before it signs, so a verifier that honours
// this max-age always holds a key before the first token it signed.
func (s *server) handleJWKS() http.Handler {
	maxAge := "public, max-age=" + strconv.Itoa(int(s.jwksMaxAge/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys := s.jwks()
		if keys == nil {
			keys = []map[string]any{}
		}
		w.Header().Set("Cache-Control", maxAge)
		writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	})
}

// handleProtected is the demo resource: what an API built on Gatehouse
// looks like behind RequireAuth.
func handleProtected() http.Handler {
	// A struct, not a map: encoding/json sorts a map's keys through
	// reflection on every call.
	type answer struct {
		Message string `json:"message"`
		UserID  string `json:"user_id"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := Principal(r)
		writeJSON(w, http.StatusOK, &answer{Message: "Access granted", UserID: p.UserID})
	})
}

func (s *server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func (s *server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.WarnContext(ctx, "not ready", "error", err)
			writeProblem(w, problem("unavailable", "Not ready", http.StatusServiceUnavailable))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// unauthenticatedIfGone turns a vanished user or session behind a valid
// token into a plain 401.
func unauthenticatedIfGone(err error) error {
	if errors.Is(err, gatehouse.ErrNotFound) {
		return gatehouse.ErrUnauthenticated
	}
	return err
}
