package web

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultNext is where a user goes after logging in when no safe next
// location was given.
const DefaultNext = "/account"

// maxNext bounds the next location; no legitimate path is longer.
const maxNext = 2048

// SafeNext returns next when it is safe to send a browser to after login,
// and DefaultNext otherwise. Safe means a path on this origin: it starts
// with exactly one "/" (not "//" or "/\", which browsers read as another
// host), has no scheme, host or user info, and neither it nor any of its
// percent-decodings holds a backslash, a control character or white space
// (browsers drop tabs and newlines, so "/\t/evil.example" would become
// "//evil.example"). Anything else would make the login page an open
// redirect that lends Gatehouse's name to a phishing link (ASVS 3.7.2,
// RFC 9700 §4.11).
//
// The same check is mirrored in safeNext of assets/gatehouse.js, which the
// login page applies before it navigates.
func SafeNext(next string) string {
	if next == "" || len(next) > maxNext {
		return DefaultNext
	}
	s := next
	for i := 0; ; i++ {
		if !safePath(s) {
			return DefaultNext
		}
		dec, err := url.PathUnescape(s)
		if err != nil {
			return DefaultNext
		}
		if dec == s {
			break
		}
		if i == 3 { // still encoded after four layers: nothing honest does that
			return DefaultNext
		}
		s = dec
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return DefaultNext
	}
	return next
}

// safePath reports whether s, one decoding of a next location, is a plain
// absolute path.
func safePath(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
