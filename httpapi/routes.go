package httpapi

import (
	"net/http"

	"github.com/gatehouse/gatehouse/web"
)

// registrar is what routes registers with: the server's *http.ServeMux, or
// the list Routes fills.
type registrar interface {
	Handle(pattern string, handler http.Handler)
}

// routes is the table of contents of the API and the pages.
func (s *server) routes(mux registrar) {
	auth := RequireAuth(s.svc)

	mux.Handle("POST /auth/register", s.handleRegister())
	mux.Handle("POST /auth/login", s.handleLogin())
	mux.Handle("POST /auth/refresh", s.handleRefresh())
	mux.Handle("POST /auth/logout", s.handleLogout())
	mux.Handle("POST /auth/logout-all", auth(s.handleLogoutAll()))
	mux.Handle("GET /auth/me", auth(s.handleMe()))
	mux.Handle("PATCH /auth/me", auth(s.handleUpdateMe()))
	mux.Handle("GET /auth/sessions", auth(s.handleSessions()))
	mux.Handle("DELETE /auth/sessions/{id}", auth(s.handleRevokeSession()))
	mux.Handle("POST /auth/password", auth(s.handleChangePassword()))
	mux.Handle("GET /auth/verify", s.handleVerify())
	mux.Handle("GET /.well-known/jwks.json", s.handleJWKS())
	mux.Handle("GET /auth/revocations", s.handleRevocations())
	mux.Handle("GET /api/protected", auth(handleProtected()))
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())

	mux.Handle("GET /{$}", s.handleRoot())
	mux.Handle("GET /login", s.handleEntryPage(web.PageLogin))
	mux.Handle("GET /signup", s.handleEntryPage(web.PageSignup))
	mux.Handle("GET /account", s.handleAccountPage())
	mux.Handle("GET /logout", s.handleLogoutPage())
	mux.Handle("GET /assets/{file}", s.handleAsset())
	mux.Handle("GET /assets/{version}/{file}", s.handleAsset())
}

type patterns []string

func (p *patterns) Handle(pattern string, _ http.Handler) { *p = append(*p, pattern) }

// Routes returns the pattern of every route NewServer serves, such as
// "POST /auth/login" or "GET /login", in the order routes registers them.
// docs/openapi.yaml describes exactly these.
func Routes() []string {
	var p patterns
	(&server{}).routes(&p)
	return p
}
