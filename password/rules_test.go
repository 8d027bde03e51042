package password

import (
	"errors"
	"strings"
	"testing"
)

func TestRulesCheck(t *testing.T) {
	r := Rules{MinLength: 8, MaxLength: 128}
	tests := []struct {
		name string
		pw   string
		want error
	}{
		// H-05: lengths in bytes, at both ends.
		{"empty", "", ErrTooShort},
		{"7 bytes", "xk9#vq2", ErrTooShort},
		{"8 bytes", "xk9#vq2m", nil},
		{"64 bytes", strings.Repeat("xk9#vq2m", 8), nil},
		{"128 bytes", strings.Repeat("xk9#vq2m", 16), nil},
		{"129 bytes", strings.Repeat("xk9#vq2m", 16) + "z", ErrTooLong},
		{"1 MB", strings.Repeat("z", 1<<20), ErrTooLong},
		{"3 runes, 9 bytes", "正しい", nil},
		{"7 runes, 28 bytes", "🔑🐴🔋📎🔑🐴🔋", nil},
		{"8 spaces", "        ", ErrCommon},
		// H-07: common passwords, in any case.
		{"password", "password", ErrCommon},
		{"PASSWORD", "PASSWORD", ErrCommon},
		{"Password1", "Password1", ErrCommon},
		{"12345678", "12345678", ErrCommon},
		{"1234567890", "1234567890", ErrCommon},
		{"qwertyuiop", "qwertyuiop", ErrCommon},
		{"iloveyou", "iloveyou", ErrCommon},
		{"P@ssw0rd", "P@ssw0rd", ErrCommon},
		{"trustno1", "trustno1", ErrCommon},
		{"correct horse battery staple", "correct horse battery staple", nil},
		// Not in the list, but a common password repeated (H-06).
		{"passwordpassword", "passwordpassword", ErrCommon},
		// No composition rules.
		{"lower-case only", "kitchenhydrantwobble", nil},
		{"digits only", "90417735264", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Check(tt.pw)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
			if err != nil && tt.pw != "" && strings.Contains(strings.TrimPrefix(err.Error(), "password: "), tt.pw) {
				t.Errorf("Check error %q contains the password", err)
			}
		})
	}
}

func TestRulesDefaults(t *testing.T) {
	var r Rules
	tests := []struct {
		pw   string
		want error
	}{
		{strings.Repeat("q", DefaultMinLength-1), ErrTooShort},
		{"xk9#vq2m", nil},
		{strings.Repeat("xk9#vq2m", DefaultMaxLength/8), nil},
		{strings.Repeat("xk9#vq2m", DefaultMaxLength/8) + "z", ErrTooLong},
	}
	for _, tt := range tests {
		if err := r.Check(tt.pw); tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("Rules{}.Check(%d bytes) = %v, want %v", len(tt.pw), err, tt.want)
		}
	}
}

func TestIsCommon(t *testing.T) {
	tests := []struct {
		pw   string
		want bool
	}{
		{"password", true},
		{"123456", true},
		{"qwerty", true},
		{"QwErTy", true},
		{"dragon", true},
		{"letmein", true},
		{"", false},
		{" password", false},
		{"password ", false},
		{"correct horse battery staple", false},
		{"kitchenhydrantwobble", false},
	}
	for _, tt := range tests {
		if got := IsCommon(tt.pw); got != tt.want {
			t.Errorf("IsCommon(%q) = %v, want %v", tt.pw, got, tt.want)
		}
	}
}

// TestCommonList checks the embedded list: large enough, and already in the
// form IsCommon looks up (lower-case, one per line, no duplicates).
func TestCommonList(t *testing.T) {
	if got, want := len(commonSet()), 10000; got < want {
		t.Errorf("list has %d passwords, want at least %d", got, want)
	}
	if !strings.HasSuffix(commonList, "\n") {
		t.Errorf("list does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(commonList, "\n"), "\n")
	if len(lines) != len(commonSet()) {
		t.Errorf("list has %d lines but %d distinct passwords", len(lines), len(commonSet()))
	}
	for i, l := range lines {
		if l == "" || l != strings.ToLower(l) || strings.ContainsAny(l, "\r\t") {
			t.Errorf("line %d = %q, want a non-empty lower-case password", i+1, l)
		}
	}
}
