package token_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/token"
)

func BenchmarkSign(b *testing.B) {
	f := getFixture(b)
	c := validClaims()
	for _, alg := range algorithms {
		b.Run(alg, func(b *testing.B) {
			k := f.key(alg)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := token.Sign(k, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	f := getFixture(b)
	v := f.verifier()
	for _, alg := range algorithms {
		b.Run(alg, func(b *testing.B) {
			raw := f.valid[alg]
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, c := range []struct{ name, raw string }{
		{"reject_dot_flood", strings.Repeat(".", 900000)},
		{"reject_bad_signature_EdDSA", f.valid[token.EdDSA][:len(f.valid[token.EdDSA])-4] + "AAAA"},
		{"reject_alg_none", b64(header("none", f.ed.ID)) + "." + b64(payload()) + ".x"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(c.raw); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
