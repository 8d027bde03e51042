// Package textclip makes client-supplied text fit to be kept: a store
// column, an audit event, a log line or an error message. Every place that
// keeps such text clips it here, so that all of them agree on what comes
// out: valid UTF-8 without NUL, at most a given number of bytes, never cut
// inside a character.
//
// The threat is text a client chooses (a user agent, a header, a policy
// value) that a byte cut or a stray byte makes unstorable: PostgreSQL
// refuses invalid UTF-8 and NUL in text columns ("invalid byte sequence
// for encoding UTF8"), so a user agent cut inside "é" turned a login into a
// 500.
package textclip

import "unicode/utf8"

// replacement stands in for each invalid byte and each NUL.
const replacement = "\uFFFD"

// Clip returns s as valid UTF-8 of at most n bytes: every byte that is not
// part of a valid encoding, and every NUL, becomes U+FFFD, and the text
// ends before the first character that would not fit whole. Clip of
// valid text without NUL that fits is s itself, without a copy.
func Clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n && clean(s) {
		return s
	}
	out := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+size]
		if r == 0 || (r == utf8.RuneError && size == 1) {
			piece = replacement
		}
		if len(out)+len(piece) > n {
			break
		}
		out = append(out, piece...)
		i += size
	}
	return string(out)
}

// clean reports whether s is valid UTF-8 without NUL.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return false
		}
	}
	return utf8.ValidString(s)
}
