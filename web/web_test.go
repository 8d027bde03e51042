package web_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/web"
)

func newSite(t *testing.T) *web.Site {
	t.Helper()
	s, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var pages = []string{web.PageLogin, web.PageSignup, web.PageAccount, web.PageLogout}

func TestPageHeaders(t *testing.T) {
	s := newSite(t)
	for _, name := range pages {
		w := httptest.NewRecorder()
		s.ServePage(w, name)
		h := w.Result().Header
		for k, want := range map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Content-Security-Policy": web.CSP,
			"Cache-Control":           "no-store",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("page %s: %s = %q, want %q", name, k, got, want)
			}
		}
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), "<!doctype html>") {
			t.Errorf("page %s: status %d, body starts %.30q", name, w.Code, w.Body.String())
		}
	}
}

var (
	scriptTag = regexp.MustCompile(`(?is)<script\b[^>]*>`)
	srcAttr   = regexp.MustCompile(`(?i)\bsrc="([^"]+)"`)
	hrefAttr  = regexp.MustCompile(`(?i)\b(?:src|href)="(/assets/[^"]+)"`)
	inline    = regexp.MustCompile(`(?i)<style\b|\sstyle=|\son[a-z]+=|javascript:`)
)

// TestPagesHaveNoInlineCode holds the pages to what the CSP enforces: every
// script is a file from /assets/, and there is no inline style or handler.
// A violation would be blocked in the browser, silently breaking the page.
func TestPagesHaveNoInlineCode(t *testing.T) {
	s := newSite(t)
	for _, name := range pages {
		w := httptest.NewRecorder()
		s.ServePage(w, name)
		body := w.Body.String()
		tags := scriptTag.FindAllString(body, -1)
		if len(tags) == 0 {
			t.Errorf("page %s loads no script", name)
		}
		for _, tag := range tags {
			m := srcAttr.FindStringSubmatch(tag)
			if m == nil || !strings.HasPrefix(m[1], s.AssetPrefix()+"/") || !strings.Contains(tag, `type="module"`) {
				t.Errorf("page %s: %s is not a module script from %s", name, tag, s.AssetPrefix())
			}
		}
		if m := inline.FindString(body); m != "" {
			t.Errorf("page %s has inline code or style: %q", name, m)
		}
		for _, m := range hrefAttr.FindAllStringSubmatch(body, -1) {
			file, ok := strings.CutPrefix(m[1], s.AssetPrefix()+"/")
			if !ok {
				t.Errorf("page %s refers to the unversioned asset %s", name, m[1])
				continue
			}
			w := httptest.NewRecorder()
			if !s.ServeAsset(w, httptest.NewRequest("GET", m[1], nil), s.Version(), file) {
				t.Errorf("page %s refers to %s, which does not exist", name, m[1])
			}
		}
	}
}

func TestAssets(t *testing.T) {
	s := newSite(t)
	want := map[string]string{
		"gatehouse.js":  "text/javascript; charset=utf-8",
		"gatehouse.css": "text/css; charset=utf-8",
		"icon.svg":      "image/svg+xml",
	}
	for file, ctype := range want {
		for _, tc := range []struct{ version, cache string }{
			{s.Version(), "public, max-age=31536000, immutable"},
			{"", "no-cache"},
			{"v-000000000000", "no-cache"},
		} {
			w := httptest.NewRecorder()
			if !s.ServeAsset(w, httptest.NewRequest("GET", "/assets/"+file, nil), tc.version, file) {
				t.Fatalf("asset %s missing", file)
			}
			h := w.Result().Header
			if got := h.Get("Content-Type"); got != ctype {
				t.Errorf("%s: Content-Type = %q, want %q", file, got, ctype)
			}
			if got := h.Get("Cache-Control"); got != tc.cache {
				t.Errorf("%s from version %q: Cache-Control = %q, want %q", file, tc.version, got, tc.cache)
			}
			if w.Code != http.StatusOK || w.Body.Len() == 0 {
				t.Errorf("%s: status %d, %d bytes", file, w.Code, w.Body.Len())
			}
		}
	}
	// Revalidation by ETag.
	w := httptest.NewRecorder()
	s.ServeAsset(w, httptest.NewRequest("GET", "/assets/gatehouse.js", nil), "", "gatehouse.js")
	etag := w.Result().Header.Get("ETag")
	r := httptest.NewRequest("GET", "/assets/gatehouse.js", nil)
	r.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	s.ServeAsset(w, r, "", "gatehouse.js")
	if etag == "" || w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match %q: status %d, want 304", etag, w.Code)
	}
	for _, file := range []string{"nope.js", "../web.go", ".", "", "pages/login.html"} {
		if s.ServeAsset(httptest.NewRecorder(), httptest.NewRequest("GET", "/assets/x", nil), "", file) {
			t.Errorf("ServeAsset(%q) served something", file)
		}
	}
}

func TestVersionNamesAssets(t *testing.T) {
	a, b := newSite(t), newSite(t)
	if a.Version() != b.Version() || !strings.HasPrefix(a.Version(), "v-") {
		t.Fatalf("versions %q and %q, want one stable v-… value", a.Version(), b.Version())
	}
	if got := a.AssetPrefix(); got != "/assets/"+a.Version() {
		t.Fatalf("AssetPrefix = %q", got)
	}
	if !strings.Contains(strings.Join(a.Assets(), " "), "gatehouse.js") {
		t.Fatalf("Assets() = %q lacks gatehouse.js", a.Assets())
	}
}
