package password

import (
	"errors"
	"strings"
	"testing"
)

// Parts of a valid hash: "saltsaltsaltsalt" and 32 bytes of 0x01.
const (
	validSalt = "c2FsdHNhbHRzYWx0c2FsdA"
	validKey  = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"
	valid     = "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey
)

func TestParsePHC(t *testing.T) {
	tests := []struct {
		in      string
		want    Params
		saltLen int
		keyLen  int
	}{
		{valid, testParams, 16, 32},
		{"$argon2id$v=19$m=19456,t=2,p=1$" + validSalt + "$" + validKey, DefaultParams(), 16, 32},
		{"$argon2id$v=19$m=4194304,t=64,p=255$" + validSalt + "$" + validKey, Params{1 << 22, 64, 255}, 16, 32},
		{"$argon2id$v=19$m=8,t=1,p=1$" + validSalt + "$" + validKey, Params{8, 1, 1}, 16, 32},
		{"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$" + validKey, testParams, 8, 32},                   // 8-byte salt
		{"$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$AQEBAQEBAQEBAQEBAQEBAQ", testParams, 16, 16}, // 16-byte key
		{"$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 86) + "$" + strings.Repeat("A", 86), testParams, 64, 64},
	}
	for _, tt := range tests {
		p, salt, key, err := ParsePHC(tt.in)
		if err != nil {
			t.Errorf("ParsePHC(%q): %v", tt.in, err)
			continue
		}
		if p != tt.want || len(salt) != tt.saltLen || len(key) != tt.keyLen {
			t.Errorf("ParsePHC(%q) = %+v, %d-byte salt, %d-byte key; want %+v, %d, %d",
				tt.in, p, len(salt), len(key), tt.want, tt.saltLen, tt.keyLen)
		}
		if got := encodePHC(p, salt, key); got != tt.in {
			t.Errorf("encodePHC(ParsePHC(%q)) = %q", tt.in, got)
		}
	}
}

func TestParsePHCMalformed(t *testing.T) {
	const sk = "$" + validSalt + "$" + validKey
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"dollar", "$"},
		{"prefix only", "$argon2id$v=19$"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1" + sk},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1" + sk},
		{"upper-case variant", "$ARGON2ID$v=19$m=64,t=1,p=1" + sk},
		{"bcrypt", "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"v=16", "$argon2id$v=16$m=64,t=1,p=1" + sk},
		{"no version", "$argon2id$m=64,t=1,p=1" + sk},
		{"leading space", " " + valid},
		{"trailing $", valid + "$"},
		{"trailing data", valid + "$AAAA"},
		{"trailing newline", valid + "\n"},
		{"missing key", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt},
		{"empty key", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$"},
		{"missing salt", "$argon2id$v=19$m=64,t=1,p=1$" + validKey},
		{"empty salt", "$argon2id$v=19$m=64,t=1,p=1$$" + validKey},
		{"missing params", "$argon2id$v=19" + sk},
		{"empty params", "$argon2id$v=19$" + sk},
		{"missing p", "$argon2id$v=19$m=64,t=1" + sk},
		{"extra param", "$argon2id$v=19$m=64,t=1,p=1,k=2" + sk},
		{"keyid", "$argon2id$v=19$m=64,t=1,p=1,keyid=AA" + sk},
		{"params reordered", "$argon2id$v=19$t=1,m=64,p=1" + sk},
		{"empty m", "$argon2id$v=19$m=,t=1,p=1" + sk},
		{"space in param", "$argon2id$v=19$m=64, t=1,p=1" + sk},
		{"signed m", "$argon2id$v=19$m=+64,t=1,p=1" + sk},
		{"negative t", "$argon2id$v=19$m=64,t=-1,p=1" + sk},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1" + sk},
		{"hex", "$argon2id$v=19$m=0x40,t=1,p=1" + sk},
		{"underscore", "$argon2id$v=19$m=6_4,t=1,p=1" + sk},
		{"huge m", "$argon2id$v=19$m=4194305,t=1,p=1" + sk},
		{"m overflows uint32", "$argon2id$v=19$m=4294967360,t=1,p=1" + sk},
		{"m very long", "$argon2id$v=19$m=" + strings.Repeat("9", 100) + ",t=1,p=1" + sk},
		{"m below 8p", "$argon2id$v=19$m=15,t=1,p=2" + sk},
		{"m=0", "$argon2id$v=19$m=0,t=1,p=1" + sk},
		{"t=0", "$argon2id$v=19$m=64,t=0,p=1" + sk},
		{"t=65", "$argon2id$v=19$m=64,t=65,p=1" + sk},
		{"p=0", "$argon2id$v=19$m=64,t=1,p=0" + sk},
		{"p=256", "$argon2id$v=19$m=4096,t=1,p=256" + sk},
		{"salt padded", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "==$" + validKey},
		{"key padded", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey + "="},
		{"url base64", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + strings.Repeat("_", 43)},
		{"bad base64 char", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey[:42] + "!"},
		{"non-zero trailing bits", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt[:21] + "B$" + validKey},
		{"newline in salt", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt[:10] + "\n" + validSalt[10:] + "$" + validKey},
		{"CR in key", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey[:10] + "\r" + validKey[10:]},
		{"salt 7 bytes", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbA$" + validKey},
		{"salt 65 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 86) + "AA$" + validKey},
		{"key 15 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$AQEBAQEBAQEBAQEBAQEB"},
		{"key 65 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + strings.Repeat("A", 86) + "AA"},
		{"NUL", valid[:20] + "\x00" + valid[20:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, salt, key, err := ParsePHC(tt.in)
			if !errors.Is(err, ErrMalformedHash) {
				t.Errorf("ParsePHC(%q) err = %v, want ErrMalformedHash", tt.in, err)
			}
			if p != (Params{}) || salt != nil || key != nil {
				t.Errorf("ParsePHC(%q) = %+v, %x, %x; want zero values with an error", tt.in, p, salt, key)
			}
		})
	}
}

// FuzzParsePHC checks that ParsePHC never panics and accepts only the
// canonical encoding: whatever it parses re-encodes to exactly the input.
func FuzzParsePHC(f *testing.F) {
	for _, s := range []string{
		valid,
		"$argon2id$v=19$m=19456,t=2,p=1$" + validSalt + "$" + validKey,
		"$argon2id$v=19$m=4194304,t=64,p=255$" + validSalt + "$" + validKey,
		"$argon2i$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey,
		"$argon2id$v=19$m=064,t=1,p=1$" + validSalt + "$" + validKey,
		"$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "==$" + validKey,
		"$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "\n$" + validKey,
		valid + "$",
		"",
		"$",
		"$$$$$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, salt, key, err := ParsePHC(in)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("ParsePHC(%q) err = %v, want ErrMalformedHash", in, err)
			}
			return
		}
		if got := encodePHC(p, salt, key); got != in {
			t.Fatalf("encodePHC(ParsePHC(%q)) = %q, want the input", in, got)
		}
		if p.Validate() != nil {
			t.Fatalf("ParsePHC(%q) accepted invalid params %+v", in, p)
		}
		if len(salt) < minSaltLen || len(key) < minKeyLen {
			t.Fatalf("ParsePHC(%q) accepted a short salt or key", in)
		}
	})
}
