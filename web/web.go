// Package web holds Gatehouse's browser pages (sign up, log in, account, log
// out) and the JavaScript client they use, embedded in the binary, and
// serves them with the headers a strict Content-Security-Policy needs.
//
// The pages are plain HTML with no inline script or style and no build step:
// each loads one ES module from /assets/, which talks to the JSON API through
// gatehouse.js. The package knows nothing about cookies or sessions; the
// httpapi package decides which page a request gets.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// CSP is the Content-Security-Policy of every page. Scripts, styles, images
// and fetches may come from Gatehouse's own origin only, and nothing inline
// runs, so an injected <script> or on* attribute is inert (XSS); forms post
// only to the origin; no other site may frame a page (clickjacking); and no
// <base> can redirect relative URLs.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Page names, as given to [Site.ServePage].
const (
	PageLogin   = "login"
	PageSignup  = "signup"
	PageAccount = "account"
	PageLogout  = "logout"
)

//go:embed pages/*.html assets
var files embed.FS

// contentTypes lists the asset types served, by extension. Anything else is
// not embedded as an asset; the table is explicit so that the answer never
// depends on the host's mime database.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

// Cache lifetimes. A versioned asset URL changes whenever any asset does, so
// it may be cached for a year; an unversioned one (a web app importing
// /assets/gatehouse.js) must be revalidated so that an upgrade reaches it.
const (
	cacheVersioned   = "public, max-age=31536000, immutable"
	cacheUnversioned = "no-cache"
)

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Site is the set of pages and assets, rendered once at start-up.
type Site struct {
	version string
	pages   map[string][]byte
	assets  map[string]asset
}

// New renders the embedded pages and indexes the assets.
func New() (*Site, error) {
	s := &Site{pages: map[string][]byte{}, assets: map[string]asset{}}
	all := sha256.New()
	entries, err := fs.ReadDir(files, "assets")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	for _, e := range entries {
		ctype, ok := contentTypes[path.Ext(e.Name())]
		if e.IsDir() || !ok {
			return nil, fmt.Errorf("web: unexpected asset %q", e.Name())
		}
		b, err := files.ReadFile("assets/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		sum := sha256.Sum256(b)
		s.assets[e.Name()] = asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		all.Write([]byte(e.Name()))
		all.Write(sum[:])
	}
	s.version = "v-" + hex.EncodeToString(all.Sum(nil)[:6])

	base, err := template.ParseFS(files, "pages/base.html")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	data := struct{ Assets string }{Assets: s.AssetPrefix()}
	for _, name := range []string{PageLogin, PageSignup, PageAccount, PageLogout} {
		t, err := template.Must(base.Clone()).ParseFS(files, "pages/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, "base", data); err != nil {
			return nil, fmt.Errorf("web: page %s: %w", name, err)
		}
		s.pages[name] = buf.Bytes()
	}
	return s, nil
}

// Version names the current set of assets; it changes whenever one does.
func (s *Site) Version() string { return s.version }

// AssetPrefix is the versioned directory the pages load their assets from,
// such as "/assets/v-1a2b3c4d5e6f".
func (s *Site) AssetPrefix() string { return "/assets/" + s.version }

// Assets lists the asset file names, sorted.
func (s *Site) Assets() []string {
	names := make([]string, 0, len(s.assets))
	for n := range s.assets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ServePage writes the named page with the page CSP and no-store: a page is
// tiny, and one kept by a shared cache or the back button after logout would
// show the account of whoever used the browser last.
func (s *Site) ServePage(w http.ResponseWriter, name string) {
	b, ok := s.pages[name]
	if !ok {
		panic("web: no page " + name)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// ServeAsset writes the asset file from version (empty for the unversioned
// URL). It reports false, writing nothing, when there is no such file. An
// old version gets the current file, uncached, so pages still open during a
// rolling upgrade keep working.
func (s *Site) ServeAsset(w http.ResponseWriter, r *http.Request, version, file string) bool {
	a, ok := s.assets[file]
	if !ok || strings.HasPrefix(file, ".") {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	if version != "" && version == s.version {
		h.Set("Cache-Control", cacheVersioned)
	} else {
		h.Set("Cache-Control", cacheUnversioned)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	return true
}
