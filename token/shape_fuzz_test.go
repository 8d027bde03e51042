package token

import (
	"strings"
	"testing"
)

// FuzzCheckShape checks the pre-check that runs before any decoding against
// a plain model of the rule (at most max bytes, three non-empty segments of
// the unpadded base64url alphabet): the two agree on every input, the dot
// positions returned are the real ones, and the check allocates nothing, so
// hostile input costs no memory whatever its size (I-01, I-02).
func FuzzCheckShape(f *testing.F) {
	const max = 64
	for _, s := range []string{
		"a.b.c",
		"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln",
		"a.b", "a.b.c.d", "..", ".", "", "a..c", ".b.c", "a.b.",
		"a.b.c=", "a+b.c/d.e", "a.b.c ", "a.b.\x00", "a.é.c",
		strings.Repeat(".", 200), strings.Repeat("a.", 100), // I-01
		strings.Repeat("a", 30) + "." + strings.Repeat("b", 30) + ".cc", // exactly max
		strings.Repeat("a", 30) + "." + strings.Repeat("b", 30) + ".ccc",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		dot1, dot2, err := checkShape(raw, max)
		segs := strings.Split(raw, ".")
		ok := len(raw) <= max && len(segs) == 3
		for _, s := range segs {
			ok = ok && s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ""
		}
		if (err == nil) != ok {
			t.Fatalf("checkShape(%q) = %v, model says ok=%v", raw, err, ok)
		}
		if err == nil && (dot1 != len(segs[0]) || dot2 != len(segs[0])+1+len(segs[1])) {
			t.Fatalf("checkShape(%q) dots at %d, %d; want %d, %d", raw, dot1, dot2, len(segs[0]), len(segs[0])+1+len(segs[1]))
		}
		if n := testing.AllocsPerRun(1, func() { checkShape(raw, max) }); n != 0 {
			t.Fatalf("checkShape(%q) allocated %v times", raw, n)
		}
	})
}
