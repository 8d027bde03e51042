package password

import "testing"

// TestPredictable covers H-06's examples that are not in the list verbatim.
func TestPredictable(t *testing.T) {
	weak := []string{
		"passwordpassword", "1234567890123456", "qwertyuiopasdfgh", "0987654321098765",
		"abcdefghijklmnop", "aaaaaaaaaaaa", "abababababababab", "xk7#xk7#xk7#xk7#",
		"dragon2026!", "Password123!", "!!monkey2024", "1qaz2wsx3edc4rfv", "zyxwvutsrqponm",
		"letmeinletmein",
	}
	for _, pw := range weak {
		if !Predictable(pw) && !IsCommon(pw) {
			t.Errorf("%q: accepted, want rejected as predictable", pw)
		}
		if err := (Rules{MinLength: 8, MaxLength: 1024}).Check(pw); err == nil && len(pw) >= 8 {
			t.Errorf("Rules.Check(%q) = nil, want ErrCommon", pw)
		}
	}
	strong := []string{
		"correct horse battery staple", "a much better passphrase 2", "an operator passphrase",
		"Tr0ub4dor&3-but-longer", "ünïcödé pässwörd ✓", "zq8#Lm2!vR9@", "kettle-violin-orbit-7",
	}
	for _, pw := range strong {
		if Predictable(pw) {
			t.Errorf("%q: rejected as predictable, want accepted", pw)
		}
	}
}
