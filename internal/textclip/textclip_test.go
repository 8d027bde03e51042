package textclip_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/textclip"
)

func TestClipNeverSplitsACharacter(t *testing.T) {
	ua := "a" + strings.Repeat("é", 200) // 401 bytes, "é" is 2
	for _, tc := range []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"fits", "Firefox/140.0", 64, "Firefox/140.0"},
		{"exact", "abc", 3, "abc"},
		{"ascii cut", "abcdef", 4, "abcd"},
		{"cut inside é keeps the whole characters before it", ua, 256, "a" + strings.Repeat("é", 127)},
		{"cut after é", ua, 255, "a" + strings.Repeat("é", 127)},
		{"four-byte character that does not fit is dropped", "ab😀", 5, "ab"},
		{"zero bound", "abc", 0, ""},
		{"negative bound", "abc", -1, ""},
		{"empty", "", 10, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := textclip.Clip(tc.in, tc.n); got != tc.want {
				t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

func TestClipReplacesInvalidBytesAndNUL(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		n    int
		want string
	}{
		// What a byte cut inside "é" leaves: its lead byte alone.
		{"lone lead byte", "a\xc3", 10, "a\uFFFD"},
		{"lone continuation byte", "a\xa9b", 10, "a\uFFFDb"},
		{"NUL", "a\x00b", 10, "a\uFFFDb"},
		{"overlong encoding", "\xc0\xaf", 10, "\uFFFD\uFFFD"},
		{"surrogate", "\xed\xa0\x80", 10, "\uFFFD\uFFFD\uFFFD"},
		// A replacement that would not fit whole is left out, like any
		// other character.
		{"replacement does not fit", "ab\xff", 4, "ab"},
		{"replacement fits exactly", "a\xff", 4, "a\uFFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := textclip.Clip(tc.in, tc.n); got != tc.want {
				t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

func TestClipOfCleanTextThatFitsDoesNotCopy(t *testing.T) {
	s := strings.Repeat("x", 100)
	if got := textclip.Clip(s, 100); got != s {
		t.Fatalf("Clip changed clean text that fits: %q", got)
	}
	allocs := testing.AllocsPerRun(100, func() { textclip.Clip(s, 100) })
	if allocs != 0 {
		t.Errorf("Clip of clean text that fits: %v allocations, want 0", allocs)
	}
}

func FuzzClip(f *testing.F) {
	f.Add("a"+strings.Repeat("é", 200), 256)
	f.Add("a\xc3\x00\xff😀", 5)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := textclip.Clip(s, n)
		if !utf8.ValidString(got) || strings.ContainsRune(got, 0) {
			t.Fatalf("Clip(%q, %d) = %q: not valid UTF-8 without NUL", s, n, got)
		}
		if len(got) > max(n, 0) {
			t.Fatalf("Clip(%q, %d) = %q: %d bytes", s, n, got, len(got))
		}
		if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
			if !strings.HasPrefix(s, got) {
				t.Fatalf("Clip(%q, %d) = %q: not a prefix of clean text", s, n, got)
			}
			if len(s) <= n && got != s {
				t.Fatalf("Clip(%q, %d) = %q: clean text that fits was changed", s, n, got)
			}
			// Only as much is dropped as the next character needs.
			if len(got) < len(s) {
				_, size := utf8.DecodeRuneInString(s[len(got):])
				if len(got)+size <= n {
					t.Fatalf("Clip(%q, %d) = %q: stopped before a character that fits", s, n, got)
				}
			}
		}
		if again := textclip.Clip(got, n); again != got {
			t.Fatalf("Clip is not idempotent: %q then %q", got, again)
		}
	})
}
