package httpapi

import (
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/web"
)

// Paths of the pages, for redirects.
const (
	loginPath   = "/login"
	accountPath = "/account"
)

// hasSessionCookie reports whether the request carries either token
// cookie. It says nothing about validity: it only picks the page that
// makes sense, and the page's own API calls do the checking.
func hasSessionCookie(r *http.Request) bool {
	_, access := AccessToken(r)
	_, refresh := readCookie(r, RefreshCookie)
	return access || refresh
}

// handleRoot sends a browser to its account page, or to the login page
// when it holds no session cookie.
func (s *server) handleRoot() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to := loginPath
		if hasSessionCookie(r) {
			to = accountPath
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// handleEntryPage serves the login or sign-up page. A next parameter that
// web.SafeNext refuses never reaches the page: the browser is sent to the
// page without it, so a crafted link cannot turn a login into an open
// redirect even if the page's own check were bypassed.
func (s *server) handleEntryPage(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if vs, ok := r.URL.Query()["next"]; ok && (len(vs) != 1 || web.SafeNext(vs[0]) != vs[0]) {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, "/"+name, http.StatusSeeOther)
			return
		}
		s.site.ServePage(w, name)
	})
}

// handleAccountPage serves the account page, or sends a browser with no
// session cookie to the login page first.
func (s *server) handleAccountPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hasSessionCookie(r) {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, loginPath+"?next="+url.QueryEscape(accountPath), http.StatusSeeOther)
			return
		}
		s.site.ServePage(w, web.PageAccount)
	})
}

// handleLogoutPage serves the sign-out page. Signing out is a POST the
// page makes when the person clicks: GET never changes state (E-04).
func (s *server) handleLogoutPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.site.ServePage(w, web.PageLogout)
	})
}

// handleAsset serves /assets/{file} and /assets/{version}/{file}.
func (s *server) handleAsset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.site.ServeAsset(w, r, r.PathValue("version"), r.PathValue("file")) {
			writeProblem(w, probNotFound)
		}
	})
}
