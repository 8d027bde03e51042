package web_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/web"
)

// NextCases are the G-10 open-redirect payloads of SECURITY-CASES.md and
// more, with the location SafeNext must return for each.
// TestJSSafeNextMirrorsSafeNext runs the same table through safeNext in
// gatehouse.js.
var NextCases = []struct{ Next, Want string }{
	// G-10.
	{"https://evil.example", web.DefaultNext},
	{"//evil.example", web.DefaultNext},
	{`/\evil.example`, web.DefaultNext},
	{`\/evil.example`, web.DefaultNext},
	{"/%2F%2Fevil.example", web.DefaultNext},
	{"%2F%2Fevil.example", web.DefaultNext},
	{"https:evil.example", web.DefaultNext},
	{"/%09/evil.example", web.DefaultNext},
	{"https://app.example.com@evil.example", web.DefaultNext},
	{"https://app.example.com.evil.example", web.DefaultNext},
	{"javascript:alert(1)", web.DefaultNext},
	{"data:text/html,<script>alert(1)</script>", web.DefaultNext},
	// Variations on the same themes.
	{"", web.DefaultNext},
	{"/", "/"},
	{"///evil.example", web.DefaultNext},
	{"/\t/evil.example", web.DefaultNext},
	{"/\n/evil.example", web.DefaultNext},
	{"/ /evil.example", web.DefaultNext},
	{"/%5Cevil.example", web.DefaultNext},
	{"/%5cevil.example", web.DefaultNext},
	{"/%252F%252Fevil.example", web.DefaultNext},
	{"/%25252F%25252Fevil.example", web.DefaultNext},
	{"/%2525252525252Fx", web.DefaultNext},
	{"/%0d%0aSet-Cookie:x=y", web.DefaultNext},
	{"/%E2%80%A8x", web.DefaultNext}, // U+2028
	{"/%C2%A0x", web.DefaultNext},    // no-break space
	{"/%C2%85x", web.DefaultNext},    // NEL
	{"/app/a%20b", web.DefaultNext},  // white space after decoding, even when honest
	{"/%ff", web.DefaultNext},
	{"/%zz", web.DefaultNext},
	{"//", web.DefaultNext},
	{"JavaScript:alert(1)", web.DefaultNext},
	{" /account", web.DefaultNext},
	{"account", web.DefaultNext},
	{"?next=//evil.example", web.DefaultNext},
	{"#/evil", web.DefaultNext},
	{"/" + string(make([]byte, 2048)), web.DefaultNext},
	// Same-origin paths that are fine.
	{"/account", "/account"},
	{"/app/orders?page=2&sort=desc", "/app/orders?page=2&sort=desc"},
	{"/app/x#section", "/app/x#section"},
	{"/app/%E2%9C%93", "/app/%E2%9C%93"},
	{"/https://evil.example", "/https://evil.example"}, // a path on this origin
	{"/.well-known/jwks.json", "/.well-known/jwks.json"},
}

func TestSafeNext(t *testing.T) {
	for _, c := range NextCases {
		if got := web.SafeNext(c.Next); got != c.Want {
			t.Errorf("SafeNext(%q) = %q, want %q", c.Next, got, c.Want)
		}
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, c := range NextCases {
		f.Add(c.Next)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := web.SafeNext(next)
		if got == web.DefaultNext {
			return
		}
		if got != next {
			t.Fatalf("SafeNext(%q) = %q: neither the input nor the default", next, got)
		}
		if len(got) < 1 || got[0] != '/' || (len(got) > 1 && (got[1] == '/' || got[1] == '\\')) {
			t.Fatalf("SafeNext(%q) accepted a location that is not a path", next)
		}
	})
}
