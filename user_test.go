package gatehouse_test

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// TestNormalizeEmailOneSpellingPerAccount feeds the spellings of an
// address a person cannot tell apart, and expects them all to name one
// account.
func TestNormalizeEmailOneSpellingPerAccount(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "boss@corp.example", "boss@corp.example"},
		{"case and spaces", "  Boss@CORP.Example ", "boss@corp.example"},
		{"full-width local part", "ｂｏｓｓ@corp.example", "boss@corp.example"},
		{"full-width everything", "ＢＯＳＳ＠ｃｏｒｐ．ｅｘａｍｐｌｅ", "boss@corp.example"},
		{"ideographic full stop in the domain", "boss@corp。example", "boss@corp.example"},
		{"tag and dots kept", "first.last+tag@corp.example", "first.last+tag@corp.example"},
		{"unicode local part lower-cased", "JÖRAN@corp.example", "jöran@corp.example"},
		{"decomposed ö composed", "jo\u0308ran@corp.example", "jöran@corp.example"},
		{"unicode domain kept in Unicode", "anna@BÜCHER.example", "anna@bücher.example"},
		{"punycode domain to Unicode", "anna@xn--bcher-kva.example", "anna@bücher.example"},
		{"single-label domain", "root@localhost", "root@localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gatehouse.NormalizeEmail(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestNormalizeEmailRefusesWhatDoesNotShow refuses addresses carrying
// characters that do not show, or change how the rest shows, rather
// than dropping them: "boss@corp.example" with one of them is not a
// second account, nor silently the first.
func TestNormalizeEmailRefusesWhatDoesNotShow(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"zero width space in the local part", "bo\u200bss@corp.example"},
		{"zero width space in the domain", "boss@corp\u200b.example"},
		{"zero width joiner", "bo\u200dss@corp.example"},
		{"right-to-left override", "\u202eboss@corp.example"},
		{"left-to-right mark", "boss\u200e@corp.example"},
		{"byte order mark", "\ufeffboss@corp.example"},
		{"soft hyphen", "bo\u00adss@corp.example"},
		{"word joiner", "boss@corp.ex\u2060ample"},
		{"isolate", "\u2066boss@corp.example\u2069"},
		{"NUL", "boss\x00@corp.example"},
		{"newline", "boss@corp.example\nbcc@evil.example"},
		{"no-break space", "boss\u00a0@corp.example"},
		{"ideographic space", "boss\u3000@corp.example"},
		{"invalid UTF-8", "boss\xff@corp.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gatehouse.NormalizeEmail(tc.in)
			if !errors.Is(err, gatehouse.ErrInvalidInput) {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrInvalidInput", tc.in, got, err)
			}
		})
	}
}

func TestNormalizeEmailRefusesWhatIsNotAnAddress(t *testing.T) {
	long := make([]byte, 250)
	for i := range long {
		long[i] = 'a'
	}
	for _, tc := range []struct{ name, in string }{
		{"empty", "  "},
		{"no at", "boss.corp.example"},
		{"two ats", "boss@corp@example"},
		{"full-width second at", "boss@corp＠example"},
		{"empty local part", "@corp.example"},
		{"empty domain", "boss@"},
		{"leading dot", "boss@.corp.example"},
		{"trailing dot", "boss@corp.example."},
		{"empty label", "boss@corp..example"},
		{"underscore in the domain", "boss@corp_x.example"},
		{"angle brackets", "<boss@corp.example>"},
		{"quote", "\"boss\"@corp.example"},
		{"backslash", "bo\\ss@corp.example"},
		{"symbol outside ASCII in the local part", "boss☃@corp.example"},
		{"too long", string(long) + "@corp.example"},
		{"label too long", "boss@" + string(long[:64]) + ".example"},
		{"bad punycode", "boss@xn--zz.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gatehouse.NormalizeEmail(tc.in)
			if !errors.Is(err, gatehouse.ErrInvalidInput) {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrInvalidInput", tc.in, got, err)
			}
		})
	}
}

// TestNormalizeEmailLookAlikesFromOtherScripts records what is not
// caught: a Cyrillic о is a letter like any other, so "bоss" is a valid
// address of its own. Applications key on the user id for that reason.
func TestNormalizeEmailLookAlikesFromOtherScripts(t *testing.T) {
	got, err := gatehouse.NormalizeEmail("b\u043ess@corp.example")
	if err != nil || got == "boss@corp.example" {
		t.Errorf("NormalizeEmail(Cyrillic о) = %q, %v; want a valid address distinct from boss@corp.example", got, err)
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"boss@corp.example", "ＢＯＳＳ＠ｃｏｒｐ．ｅｘａｍｐｌｅ", "bo\u200bss@corp.example", "anna@xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := gatehouse.NormalizeEmail(s)
		if err != nil {
			if !errors.Is(err, gatehouse.ErrInvalidInput) {
				t.Fatalf("NormalizeEmail(%q): %v, want ErrInvalidInput", s, err)
			}
			return
		}
		again, err := gatehouse.NormalizeEmail(e)
		if err != nil || again != e {
			t.Fatalf("NormalizeEmail(%q) = %q, but NormalizeEmail of that = %q, %v: not stable", s, e, again, err)
		}
	})
}
