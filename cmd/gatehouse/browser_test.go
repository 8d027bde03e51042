package main

// Browser tests: the pages and gatehouse.js in a real headless Chromium,
// against the real server (gatehouse serve, in-process, on a random
// loopback port). Cookies are a browser mechanism, so the cookie, CSRF,
// refresh and logout claims are proven here, where a browser enforces them.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const (
	alicePassword = "correct horse battery staple"
	firefoxUA     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
	iphoneUA      = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

// chromiumPath finds Debian's chromium. Without it the browser tests skip,
// unless CI is set: there they must run (.ci/run installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs it with apt-get install -y chromium")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser tests")
	return ""
}

// newBrowser starts a headless Chromium with a new, empty profile and no
// background traffic of its own, and returns the context of its first tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
		chromedp.Env("TZ=UTC", "LANGUAGE=en_US"),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// tab is one browser tab in a browser context of its own, so it has its
// own cookie jar, like a separate person.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // uncaught exceptions and CSP violations
}

func newTab(t *testing.T, browser context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb := &tab{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // opens the tab, bound to ctx
		cancel()
		t.Fatalf("open tab: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				tb.mu.Lock()
				tb.problems = append(tb.problems, fmt.Sprintf("%s:%d %s", m.URL, m.Line+1, m.Text))
				tb.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, p := range tb.problems {
			t.Errorf("browser console: %s", p)
		}
	})
	return tb
}

// do runs actions with a deadline, failing the test on an error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v (at %s)", err, tb.location())
	}
}

// eval evaluates JavaScript in the page, awaiting a promise it returns.
func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %.60q: %v (at %s)", js, err, tb.location())
	}
	return v
}

// waitFor polls a JavaScript condition until it holds. It survives the
// navigations the condition waits for, which end a single evaluation.
func (tb *tab) waitFor(cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	tb.t.Fatalf("waiting for %s: last error %v (at %s; error box %q)", cond, err, tb.location(), tb.text("error"))
}

func (tb *tab) location() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	l, _ := chromedp.Run(ctx, chromedp.Location())
	return l
}

// text is the text of the element with id, "" when there is none.
func (tb *tab) text(id string) string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q)?.textContent ?? ""`, id)))
	return s
}

// open navigates and waits until the page's script has enabled its form.
func (tb *tab) open(url, ready string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(url))
	tb.waitFor(ready)
}

const (
	formReady    = `!document.getElementById('fields').disabled`
	accountReady = `document.getElementById('account')?.getAttribute('aria-busy') === 'false'`
)

// fill types into the form fields by id and clicks the button.
func (tb *tab) submit(button string, fields ...string) {
	tb.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		steps = append(steps, chromedp.SetValue(chromedp.ID(fields[i]), fields[i+1]))
	}
	tb.do(append(steps, chromedp.Click(chromedp.CSS(button)))...)
}

// errorAfter submits and waits for the error box to show a message.
func (tb *tab) errorAfter(button string, fields ...string) string {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('error').hidden = true`))
	tb.submit(button, fields...)
	tb.waitFor(`!document.getElementById('error').hidden`)
	return tb.text("error")
}

// cookies returns the cookies the browser holds for url, by name.
func (tb *tab) cookies(url string) map[string]*network.Cookie {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		tb.t.Fatalf("get cookies: %v", err)
	}
	m := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		m[c.Name] = c
	}
	return m
}

// cookieHeader is what a client holding the browser's cookies would send.
func (tb *tab) cookieHeader(url string) string {
	var parts []string
	for _, c := range tb.cookies(url) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// api calls the server from Go (not from the browser) and decodes JSON.
func api(t *testing.T, method, url, cookie, ua, body string) (int, map[string]any, []*http.Cookie) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, _ := http.NewRequest(method, url, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	if ua != "" {
		r.Header.Set("User-Agent", ua)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m, res.Cookies()
}

// device is a session of alice's on another device, logged in from Go.
type device struct {
	session, cookie string
}

func loginFrom(t *testing.T, base, email, ua, password string) device {
	t.Helper()
	status, m, cs := api(t, "POST", base+"/auth/login", "", ua, fmt.Sprintf(`{"email":%q,"password":%q}`, email, password))
	if status != 200 {
		t.Fatalf("login from %s: %d %v", ua, status, m)
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return device{session: m["session"].(map[string]any)["id"].(string), cookie: strings.Join(parts, "; ")}
}

// evilSite serves pages from another site: the server listens on loopback,
// and the pages are loaded as http://localhost:PORT, a different host name
// from Gatehouse's 127.0.0.1 and so a different site.
func evilSite(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, evilPage)
		case "/form":
			fmt.Fprintf(w, evilForm, r.URL.Query().Get("action"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "http://localhost:" + port
}

// evilPage tries what a malicious site would: read the API with the
// visitor's cookies, and change state with a JSON PATCH and a no-cors POST.
const evilPage = `<!doctype html><title>evil</title><script>
window.attack = async (target) => {
  const out = {};
  try {
    const r = await fetch(target + '/auth/me', {credentials: 'include'});
    out.read = 'read ' + r.status + ' ' + (await r.text());
  } catch (e) { out.read = 'blocked'; }
  try {
    await fetch(target + '/auth/me', {method: 'PATCH', credentials: 'include',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({display_name: 'pwned'})});
    out.patch = 'sent';
  } catch (e) { out.patch = 'blocked'; }
  try {
    const r = await fetch(target + '/auth/logout-all', {method: 'POST', mode: 'no-cors', credentials: 'include'});
    out.post = r.type;
  } catch (e) { out.post = 'error'; }
  try {
    const r = await fetch(target + '/auth/password', {method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: {'Content-Type': 'text/plain'}, body: '{"current_password":"x","new_password":"y"}'});
    out.password = r.type;
  } catch (e) { out.password = 'error'; }
  return out;
};
</script>`

// evilForm posts a form to Gatehouse as a top-level navigation, the
// classic CSRF.
const evilForm = `<!doctype html><title>evil form</title>
<form method="post" action="%s"><input name="x" value="1"></form>
<script>document.forms[0].submit()</script>`

func TestBrowser(t *testing.T) {
	browser := newBrowser(t)
	data := t.TempDir()
	// The progressive login delay (throttle.delay) is off: these tests type
	// faster than a person, right after a wrong password. The delay has
	// tests of its own (loginlimit_test.go, httpapi/abuse_test.go).
	config := filepath.Join(data, "policy.yaml")
	if err := os.WriteFile(config, []byte("throttle: {delay: 0s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", data, "--config", config)
	base := srv.url
	evil := evilSite(t)
	alice := newTab(t, browser)
	const email = "alice@example.org"

	t.Run("sign up", func(t *testing.T) {
		tb := alice
		tb.t = t
		tb.open(base+"/signup", formReady)
		msg := tb.errorAfter("#submit", "email", email, "password", "password123")
		if !strings.Contains(msg, "too common") {
			t.Errorf("weak password message %q, want it to say the password is too common", msg)
		}
		tb.submit("#submit", "password", alicePassword)
		tb.waitFor(`location.pathname === '/account'`)
		tb.waitFor(accountReady)
		if got := tb.text("email"); got != email {
			t.Errorf("account page shows email %q, want %q", got, email)
		}
	})

	t.Run("cookies are out of reach of scripts", func(t *testing.T) {
		tb := alice
		tb.t = t
		if dc := eval[string](tb, `document.cookie`); strings.Contains(dc, "__Host-") {
			t.Errorf("document.cookie = %q: a token cookie is readable by scripts", dc)
		}
		cs := tb.cookies(base)
		for _, name := range []string{"__Host-access", "__Host-refresh"} {
			c := cs[name]
			if c == nil {
				t.Fatalf("the browser holds no %s cookie for %s; it has %v", name, base, slices.Collect(maps.Keys(cs)))
			}
			if !c.HTTPOnly || !c.Secure || c.Path != "/" || c.Domain != "127.0.0.1" {
				t.Errorf("%s: HttpOnly=%v Secure=%v Path=%q Domain=%q", name, c.HTTPOnly, c.Secure, c.Path, c.Domain)
			}
		}
		if ss := cs["__Host-access"].SameSite; ss != network.CookieSameSiteLax {
			t.Errorf("access cookie SameSite=%s, want Lax", ss)
		}
		if ss := cs["__Host-refresh"].SameSite; ss != network.CookieSameSiteStrict {
			t.Errorf("refresh cookie SameSite=%s, want Strict", ss)
		}
	})

	t.Run("log out clears the cookies", func(t *testing.T) {
		tb := alice
		tb.t = t
		before := tb.cookieHeader(base)
		tb.do(chromedp.Click(chromedp.ID("logout")))
		tb.waitFor(`location.pathname === '/login'`)
		tb.waitFor(formReady)
		for name := range tb.cookies(base) {
			if strings.HasPrefix(name, "__Host-") {
				t.Errorf("after logout the browser still holds %s", name)
			}
		}
		if status, _, _ := api(t, "GET", base+"/auth/me", before, "", ""); status != 401 {
			t.Errorf("the logged-out session's cookies still work: /auth/me %d", status)
		}
		// Without cookies, the account page sends the browser to log in.
		tb.do(chromedp.Navigate(base + "/account"))
		tb.waitFor(`location.pathname + location.search === '/login?next=%2Faccount'`)
	})

	t.Run("log in", func(t *testing.T) {
		tb := alice
		tb.t = t
		tb.open(base+"/login?next="+"%2Faccount%3Ffrom%3Dlogin", formReady)
		if msg := tb.errorAfter("#submit", "email", email, "password", "not the password"); msg != "Wrong email or password." {
			t.Errorf("wrong password message %q", msg)
		}
		// Throttling: five failures for one account, then the page says to wait.
		for range 5 {
			api(t, "POST", base+"/auth/login", "", "", `{"email":"mallory@example.org","password":"guess guess"}`)
		}
		msg := tb.errorAfter("#submit", "email", "mallory@example.org", "password", "guess again")
		if !strings.HasPrefix(msg, "Too many attempts. Wait ") || !strings.Contains(msg, "minute") {
			t.Errorf("throttled message %q, want 'Too many attempts. Wait N minutes…'", msg)
		}
		// A network failure is reported as one.
		setOffline(t, tb, base, true)
		msg = tb.errorAfter("#submit", "email", email, "password", alicePassword)
		setOffline(t, tb, base, false)
		if !strings.HasPrefix(msg, "Cannot reach the server") {
			t.Errorf("network failure message %q", msg)
		}
		tb.submit("#submit", "email", email, "password", alicePassword)
		tb.waitFor(`location.pathname + location.search === '/account?from=login'`)
		tb.waitFor(accountReady)
	})

	t.Run("next is same-origin only", func(t *testing.T) {
		tb := alice
		tb.t = t
		// The server drops an unsafe next before the page loads; the
		// page, finding the session alive, goes on to the default.
		tb.do(chromedp.Navigate(base + "/login?next=%2F%2Fevil.example"))
		tb.waitFor(`location.href === ` + jsonString(t, base+"/account"))
		// The page's own check, the mirror of web.SafeNext, refuses the
		// same payloads (G-10).
		got := eval[map[string]string](tb, `import('/assets/gatehouse.js').then(({safeNext}) => {
			const out = {};
			for (const p of `+jsonString(t, g10)+`) out[p] = safeNext(p);
			for (const p of ['/app/x?y=1', '/account', '/']) out[p] = safeNext(p);
			return out;
		})`)
		for _, p := range g10 {
			if got[p] != "/account" {
				t.Errorf("safeNext(%q) = %q, want /account", p, got[p])
			}
		}
		for _, p := range []string{"/app/x?y=1", "/account", "/"} {
			if got[p] != p {
				t.Errorf("safeNext(%q) = %q, want it unchanged", p, got[p])
			}
		}
	})

	var phone, laptop device
	t.Run("sessions", func(t *testing.T) {
		tb := alice
		tb.t = t
		laptop = loginFrom(t, base, email, firefoxUA, alicePassword)
		phone = loginFrom(t, base, email, iphoneUA, alicePassword)
		tb.open(base+"/account", accountReady)
		tb.waitFor(`document.querySelectorAll('#sessions li').length === 3`)
		tb.do(chromedp.SetValue(chromedp.ID("display-name"), "Alice Example"), chromedp.Click(chromedp.CSS("#name-form button")))
		tb.waitFor(`document.getElementById('notice').textContent === 'Display name saved.'`)

		tb.open(base+"/account", accountReady)
		tb.waitFor(`document.querySelectorAll('#sessions li').length === 3`)
		shot, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshot-account.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}

		tb.do(chromedp.Click(chromedp.CSS(`#sessions li[data-session="` + laptop.session + `"] button`)))
		tb.waitFor(`document.querySelectorAll('#sessions li').length === 2`)
		tb.waitFor(`document.getElementById('notice').textContent === 'Signed out Firefox on Windows.'`)
		if status, _, _ := api(t, "GET", base+"/auth/me", laptop.cookie, firefoxUA, ""); status != 401 {
			t.Errorf("the revoked session still works: /auth/me %d", status)
		}
		if status, _, _ := api(t, "GET", base+"/auth/me", phone.cookie, iphoneUA, ""); status != 200 {
			t.Errorf("another session stopped working: /auth/me %d", status)
		}
	})

	t.Run("another site cannot use the cookies", func(t *testing.T) {
		tb := alice
		tb.t = t
		cookie := tb.cookieHeader(base)
		tb.do(chromedp.Navigate(evil + "/"))
		got := eval[map[string]string](tb, `attack(`+jsonString(t, base)+`)`)
		if got["read"] != "blocked" {
			t.Errorf("a page on %s read the API: %s", evil, got["read"])
		}
		if got["patch"] != "blocked" {
			t.Errorf("a page on %s sent a JSON PATCH past the preflight: %s", evil, got["patch"])
		}
		// A no-cors POST goes out, but its answer stays unreadable: opaque,
		// or an error because Cross-Origin-Resource-Policy blocks it.
		for _, k := range []string{"post", "password"} {
			if got[k] != "opaque" && got[k] != "error" {
				t.Errorf("no-cors POST %s: %s, want an opaque or blocked answer", k, got[k])
			}
		}
		// A form posted across sites reaches Gatehouse, which refuses it.
		tb.do(chromedp.Navigate(evil + "/form?action=" + base + "/auth/logout-all"))
		tb.waitFor(`location.origin === ` + jsonString(t, base))
		if body := eval[string](tb, `document.body.innerText`); !strings.Contains(body, "cross-origin") || !strings.Contains(body, "403") {
			t.Errorf("cross-site form POST answered %q, want the 403 cross-origin problem", body)
		}
		// Nothing changed: same session, same name, same devices.
		status, me, _ := api(t, "GET", base+"/auth/me", cookie, "", "")
		if status != 200 {
			t.Fatalf("after the attacks the session is gone: /auth/me %d", status)
		}
		if name := me["user"].(map[string]any)["display_name"]; name != "Alice Example" {
			t.Errorf("display name is %q after the attacks", name)
		}
		if _, list, _ := api(t, "GET", base+"/auth/sessions", cookie, "", ""); len(list["sessions"].([]any)) != 2 {
			t.Errorf("sessions after the attacks: %v", list)
		}
		if status, _, _ := api(t, "GET", base+"/auth/me", phone.cookie, iphoneUA, ""); status != 200 {
			t.Errorf("the phone's session ended after the attacks: %d", status)
		}
		if status, _, _ := api(t, "POST", base+"/auth/login", "", "", fmt.Sprintf(`{"email":%q,"password":%q}`, email, alicePassword)); status != 200 {
			t.Errorf("the password changed after the attacks: login %d", status)
		}
	})

	t.Run("change password", func(t *testing.T) {
		tb := alice
		tb.t = t
		tb.open(base+"/account", accountReady)
		const next = "a new and longer passphrase"
		msg := tb.errorAfter("#password-form button", "current-password", "wrong", "new-password", next)
		if msg != "Your current password is not right." {
			t.Errorf("wrong current password message %q", msg)
		}
		tb.submit("#password-form button", "current-password", alicePassword, "new-password", next)
		tb.waitFor(`document.getElementById('notice').textContent.startsWith('Password changed.')`)
		tb.waitFor(`document.querySelectorAll('#sessions li').length === 1`)
		if status, _, _ := api(t, "GET", base+"/auth/me", phone.cookie, iphoneUA, ""); status != 401 {
			t.Errorf("the phone's session survived the password change: %d", status)
		}
		if status, _, _ := api(t, "GET", base+"/auth/me", tb.cookieHeader(base), "", ""); status != 200 {
			t.Errorf("this browser's session ended with the password change: %d", status)
		}
	})

	t.Run("sign out everywhere", func(t *testing.T) {
		tb := alice
		tb.t = t
		laptop = loginFrom(t, base, email, firefoxUA, "a new and longer passphrase")
		tb.open(base+"/account", accountReady)
		tb.do(chromedp.Click(chromedp.ID("logout-all")))
		tb.waitFor(`location.pathname === '/login'`)
		for name := range tb.cookies(base) {
			if strings.HasPrefix(name, "__Host-") {
				t.Errorf("after sign out everywhere the browser still holds %s", name)
			}
		}
		if status, _, _ := api(t, "GET", base+"/auth/me", laptop.cookie, firefoxUA, ""); status != 401 {
			t.Errorf("another device's session survived sign out everywhere: %d", status)
		}
	})
}

// TestBrowserRefresh runs the pages on a policy whose access tokens live
// two seconds, and checks that gatehouse.js refreshes them without the
// person noticing, with one refresh for concurrent calls, and reports the
// end of the session when refreshing fails.
func TestBrowserRefresh(t *testing.T) {
	browser := newBrowser(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(config, []byte("tokens: {access_ttl: 2s, leeway: 0s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--config", config)
	base := srv.url
	tb := newTab(t, browser)
	tb.open(base+"/signup", formReady)
	tb.submit("#submit", "email", "bob@example.org", "password", alicePassword)
	tb.waitFor(accountReady)
	first := tb.cookies(base)["__Host-access"].Value

	time.Sleep(2100 * time.Millisecond) // the access token expires
	tb.do(chromedp.SetValue(chromedp.ID("display-name"), "Bob"), chromedp.Click(chromedp.CSS("#name-form button")))
	tb.waitFor(`document.getElementById('notice').textContent === 'Display name saved.'`)
	if loc := tb.location(); loc != base+"/account" {
		t.Errorf("after the refresh the page is %s", loc)
	}
	now := tb.cookies(base)["__Host-access"]
	if now == nil || now.Value == first {
		t.Fatalf("the access cookie was not renewed")
	}
	if status, me, _ := api(t, "GET", base+"/auth/me", "__Host-access="+now.Value, "", ""); status != 200 || me["user"].(map[string]any)["display_name"] != "Bob" {
		t.Errorf("server-side after the save: %d %v", status, me)
	}

	// Concurrent calls that all find the token expired share one refresh.
	got := eval[map[string]any](tb, `(async () => {
		const { createClient } = await import('/assets/gatehouse.js');
		let refreshes = 0;
		const c = createClient({ fetch: (url, init) => {
			if (url === '/auth/refresh') refreshes++;
			return fetch(url, init);
		}});
		await new Promise((r) => setTimeout(r, 2100));
		const all = await Promise.all([c.me(), c.sessions(), c.get('/api/protected'), c.me(), c.sessions()]);
		return { refreshes, ok: all.every((x) => x !== null), name: all[0].user.display_name };
	})()`)
	if got["refreshes"] != float64(1) || got["ok"] != true || got["name"] != "Bob" {
		t.Errorf("five concurrent calls after expiry: %v, want one refresh and five answers", got)
	}

	// When the session ends elsewhere, the refresh fails and the page
	// sends the person to log in.
	if status, _, _ := api(t, "POST", base+"/auth/logout-all", tb.cookieHeader(base), "", ""); status != 204 {
		t.Fatalf("logout-all from Go: %d", status)
	}
	tb.do(chromedp.SetValue(chromedp.ID("display-name"), "Robert"), chromedp.Click(chromedp.CSS("#name-form button")))
	tb.waitFor(`location.pathname + location.search === '/login?next=%2Faccount'`)
}

// setOffline cuts the tab off from base (or reconnects it).
func setOffline(t *testing.T, tb *tab, base string, offline bool) {
	t.Helper()
	var conds []*network.Conditions
	if offline {
		conds = []*network.Conditions{{URLPattern: base + "/auth/*", Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
	}
	if _, err := chromedp.Call(tb.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds}); err != nil {
		t.Fatalf("emulate offline: %v", err)
	}
}

// g10 are the open-redirect payloads of SECURITY-CASES.md G-10.
var g10 = []string{
	"https://evil.example", "//evil.example", `/\evil.example`, `\/evil.example`,
	"/%2F%2Fevil.example", "%2F%2Fevil.example", "https:evil.example", "/%09/evil.example",
	"https://app.example.com@evil.example", "https://app.example.com.evil.example",
	"javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
