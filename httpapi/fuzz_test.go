package httpapi_test

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
)

// lookAlikes are the cookie names of D-04 that must never stand in for
// __Host-access: a sibling subdomain or a network attacker can set them.
var lookAlikes = []string{
	"access", "__Secure-access", "__host-access", "__HOST-access", "__Host-Access",
	"%5F%5FHost-access", "__Host-access ", "__Host-access\t", "__Host-access\x00", "__Host-access;",
	"__Host-refresh", "__Host-access2", "_Host-access", "__Host-acces",
}

// FuzzReadCookie checks readCookie, which every credential passes through,
// on arbitrary Cookie headers (two header lines, as a client may send).
// Its answer is the value of the one cookie named exactly __Host-access,
// or nothing: it matches a plain model of that rule; an accepted value is
// non-empty, at most 4096 bytes and appears in the header as that cookie's
// value; planting a D-04 look-alike cookie never changes the answer; and
// planting a second __Host-access always makes it nothing.
func FuzzReadCookie(f *testing.F) {
	const tok = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsiLCJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiJ1In0.c2ln"
	for _, la := range lookAlikes {
		f.Add(la+"="+tok, "")
		f.Add(la+"=evil; __Host-access="+tok, "")
	}
	for _, s := range [][2]string{
		{"__Host-access=" + tok, ""},
		{"a=b; __Host-access=" + tok + "; c=d", ""},
		{"__Host-access=" + tok, "__Host-access=" + tok},
		{"__Host-access=" + tok + "; __Host-access=" + tok, ""},
		{"a=b", "__Host-access=" + tok},
		{"__Host-access=", ""},
		{"__Host-access", ""},
		{" \t__Host-access=" + tok + ";", ""},
		{"__Host-access=a=b", ""},
		{"__Host-access=\"" + tok + "\"", ""},
		{"__Host-access=" + strings.Repeat("a", 4097), ""},
		{"__Host-access=" + strings.Repeat(".", 4096), ""}, // I-01
		{strings.Repeat(";", 300), strings.Repeat("x=y;", 300)},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	name := httpapi.AccessCookie
	read := func(lines ...string) (string, bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Cookie"] = lines
		return httpapi.ReadCookie(r, name)
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		got, ok := read(line1, line2)

		var vals []string
		for _, line := range []string{line1, line2} {
			for _, pair := range strings.Split(line, ";") {
				pair = strings.TrimLeft(pair, " \t")
				if n, v, found := strings.Cut(pair, "="); found && n == name {
					vals = append(vals, v)
				}
			}
		}
		wantOK := len(vals) == 1 && vals[0] != "" && len(vals[0]) <= 4096
		if ok != wantOK || (ok && got != vals[0]) {
			t.Fatalf("readCookie(%q, %q) = %q, %v; the cookies named exactly %s are %q", line1, line2, got, ok, name, vals)
		}
		if !ok && got != "" {
			t.Fatalf("readCookie(%q, %q) reports nothing but returned %q", line1, line2, got)
		}
		if ok && (strings.Contains(got, ";") || !strings.Contains(line1+";"+line2, name+"="+got)) {
			t.Fatalf("readCookie(%q, %q) = %q, which is not a cookie value in the header", line1, line2, got)
		}
		for _, la := range lookAlikes {
			if g, o := read(line1, line2, la+"=planted"); g != got || o != ok {
				t.Fatalf("planting %q=planted changed readCookie(%q, %q) from %q, %v to %q, %v", la, line1, line2, got, ok, g, o)
			}
		}
		if ok {
			if g, o := read(line1, line2, name+"="+got); o || g != "" {
				t.Fatalf("a second %s did not make readCookie(%q, %q) report nothing: %q, %v", name, line1, line2, g, o)
			}
		}
	})
}

// jsonRoutes are the routes that decode a JSON body, with a body each that
// the route accepts. FuzzJSONRoutes picks one by the fuzzed byte.
var jsonRoutes = []struct {
	method, path string
	auth         bool
	valid        string
}{
	{http.MethodPost, "/auth/register", false, `{"email":"new@example.org","password":"` + testPassword + `"}`},
	{http.MethodPost, "/auth/login", false, `{"email":"owner@example.org","password":"` + testPassword + `"}`},
	{http.MethodPost, "/auth/password", true, `{"current_password":"` + testPassword + `","new_password":"another fine passphrase 9"}`},
	{http.MethodPatch, "/auth/me", true, `{"display_name":"Owner"}`},
}

// FuzzJSONRoutes drives the real handler of every route that decodes a
// JSON body with fuzzed bodies and content types. Whatever the input: the
// status is never 5xx; every error is an RFC 9457 problem+json body whose
// status matches; a 2xx needs a JSON media type and a valid JSON body; and
// nothing is written to the store unless the answer is 2xx.
func FuzzJSONRoutes(f *testing.F) {
	seeds := []string{
		`{}`, `null`, `[]`, `""`, `0`, `{"email":null,"password":null}`,
		`{"email":1,"password":true}`, `{"email":["a"],"password":{"x":1}}`,
		`{"email":"a@example.org","password":"` + testPassword + `","role":"admin"}`,
		`{"email":"a@example.org","email":"b@example.org","password":"` + testPassword + `"}`,
		`{"EMAIL":"a@example.org","Password":"` + testPassword + `"}`,
		`{"email":"a@example.org","password":"` + testPassword + `"} {}`,
		`{"email":"a@example.org","password":"` + testPassword + `"`,
		`{"email":"\u0000@example.org","password":"\ud800\udc00\ud800"}`,
		"{\"email\":\"\xff\xfe@example.org\",\"password\":\"" + testPassword + "\"}",
		`{"display_name":"` + strings.Repeat("x", 300) + `"}`,
		`{"display_name":"<script>alert(1)</script>\u202e"}`,
		`{"current_password":"","new_password":""}`,
		`{"email":"a@example.org","password":"` + strings.Repeat("p", 2000) + `"}`, // I-05
		`{"email":"` + strings.Repeat("a", 17<<10) + `","password":"x"}`,           // I-03
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),                    // nesting
		`{"email":"a@example.org","password":"` + testPassword + `"}` + strings.Repeat(" ", 20<<10),
	}
	types := []string{"application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain",
		"application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json;", "application/jsonx", ""}
	for i, r := range jsonRoutes {
		f.Add(uint8(i), "application/json", []byte(r.valid))
		f.Add(uint8(i), "text/plain", []byte(r.valid))
		for _, s := range seeds {
			f.Add(uint8(i), "application/json", []byte(s))
		}
		for _, ct := range types {
			f.Add(uint8(i), ct, []byte(`{"email":"x"}`))
		}
	}
	e := newStoreEnv(f, func(c *gatehouse.Config) {
		// Throttling answers 429 to everything after a few failures (and
		// to registration after 20 sign-ups), which is right but would stop
		// the fuzzer from reaching the handlers.
		c.AccountLimit.MaxFailures, c.IPLimit.MaxFailures = 1<<30, 1<<30
		c.RegistrationLimit.MaxFailures = 1 << 30
	})
	f.Fuzz(func(t *testing.T, route uint8, contentType string, body []byte) {
		rt := jsonRoutes[int(route)%len(jsonRoutes)]
		cookie := ""
		if rt.auth {
			cookie = httpapi.AccessCookie + "=" + e.user.access
		}
		w := e.serve(rt.method, rt.path, contentType, string(body), cookie)
		changed := e.changed(t)
		switch {
		case w.Code >= 500:
			t.Fatalf("%s %s (%q, %q): status %d, body %s", rt.method, rt.path, contentType, body, w.Code, w.Body)
		case w.Code >= 400:
			wantProblem(t, w)
		case w.Code >= 200 && w.Code < 300:
			if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" || !json.Valid(body) {
				t.Fatalf("%s %s accepted content type %q and body %q with %d", rt.method, rt.path, contentType, body, w.Code)
			}
		}
		if changed && (w.Code < 200 || w.Code >= 300) {
			t.Fatalf("%s %s (%q, %q): status %d but the store changed", rt.method, rt.path, contentType, body, w.Code)
		}
	})
}

// wantProblem checks that an error response is problem+json whose status
// matches the response's.
func wantProblem(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json; charset=utf-8" {
		t.Fatalf("status %d with Content-Type %q, want problem+json; body %s", w.Code, ct, w.Body)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != w.Code || !strings.HasPrefix(p.Type, "urn:gatehouse:problem:") || p.Title == "" {
		t.Fatalf("status %d with body %s, want a problem with that status (%v)", w.Code, w.Body, err)
	}
}
