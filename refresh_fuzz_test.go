package gatehouse_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// FuzzParseRefresh checks that parseRefresh, the first thing done with a
// refresh cookie, accepts exactly the canonical encodings of 32 bytes: an
// accepted token is 43 characters and encodes back to itself (so two
// different strings never name the same token), a rejected one yields no
// bytes, and no canonical encoding is turned away.
func FuzzParseRefresh(f *testing.F) {
	valid := make([]byte, 32)
	rand.Read(valid)
	tok := base64.RawURLEncoding.EncodeToString(valid)
	for _, s := range []string{
		tok,
		base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
		base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32)),
		tok[:42],                                 // one short
		tok + "A",                                // one long
		base64.URLEncoding.EncodeToString(valid), // padded
		base64.StdEncoding.EncodeToString(valid), // other alphabet, padded
		strings.NewReplacer("-", "+", "_", "/").Replace(tok),
		tok[:42] + "B", // non-zero padding bits: not canonical
		tok[:42] + "=",
		" " + tok[1:],
		tok[:21] + "." + tok[22:],
		tok[:21] + "\x00" + tok[22:],
		tok[:20] + "é" + tok[22:],
		// D-04: the value a tossed look-alike cookie could carry.
		"__Host-refresh=" + tok[:28],
		// I-01: a dot flood of the right length.
		strings.Repeat(".", 43),
		strings.Repeat("a.", 21) + "a",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := gatehouse.ParseRefresh(s)
		if !ok {
			if b != nil {
				t.Fatalf("ParseRefresh(%q) rejected but returned %d bytes", s, len(b))
			}
			if raw, err := base64.RawURLEncoding.DecodeString(s); err == nil && len(raw) == 32 && base64.RawURLEncoding.EncodeToString(raw) == s {
				t.Fatalf("ParseRefresh(%q) rejected a canonical encoding of 32 bytes", s)
			}
			return
		}
		if len(s) != 43 || len(b) != 32 {
			t.Fatalf("ParseRefresh(%q) accepted %d characters, %d bytes; want 43 and 32", s, len(s), len(b))
		}
		if got := base64.RawURLEncoding.EncodeToString(b); got != s {
			t.Fatalf("ParseRefresh(%q) round-trips to %q", s, got)
		}
	})
}
