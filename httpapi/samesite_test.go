package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/httpapi"
)

// TestCookieSameSitePolicy checks the access cookie follows the policy's
// same_site while the refresh cookie stays Strict whatever it says.
func TestCookieSameSitePolicy(t *testing.T) {
	for _, tt := range []struct {
		mode http.SameSite
		want http.SameSite
	}{
		{0, http.SameSiteLaxMode},
		{http.SameSiteStrictMode, http.SameSiteStrictMode},
		{http.SameSiteNoneMode, http.SameSiteNoneMode},
	} {
		e := newEnv(t, func(_ *gatehouseConfig, h *httpapiConfig) { h.SameSite = tt.mode })
		r := e.do(req{method: "POST", path: "/auth/register", body: map[string]string{"email": "s@example.org", "password": testPassword}})
		wantStatus(t, r, http.StatusCreated)
		a, rf := r.cookie(httpapi.AccessCookie), r.cookie(httpapi.RefreshCookie)
		if a.SameSite != tt.want || !a.Secure || !a.HttpOnly {
			t.Errorf("mode %v: access cookie SameSite %v Secure %v HttpOnly %v", tt.mode, a.SameSite, a.Secure, a.HttpOnly)
		}
		if rf.SameSite != http.SameSiteStrictMode {
			t.Errorf("mode %v: refresh cookie SameSite %v, want Strict", tt.mode, rf.SameSite)
		}
	}
}
