package httpapi

import "net/http"

// routes is the table of contents of the API.
func (s *server) routes(mux *http.ServeMux) {
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
}
