package token

import (
	"testing"
	"time"
)

// BenchmarkVerifySteps splits a first-seen EdDSA token's verification into
// its steps, to show where the time above BenchmarkEd25519Verify goes:
// "library" is golang-jwt's whole parse and check, signature included.
func BenchmarkVerifySteps(b *testing.B) {
	key, _ := GenerateKey(EdDSA)
	now := time.Now()
	v := &Verifier{Keys: &mutableKeys{m: map[string]*Key{key.ID: key}}, Issuer: "https://i", Audience: "a", MaxTTL: 10 * time.Minute, Leeway: 30 * time.Second}
	raw, _ := Sign(key, Claims{Issuer: "https://i", Subject: "u", Audience: []string{"a"}, ID: NewID(), SessionID: "s", IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
	d1, d2, _ := checkShape(raw, 4096)
	h, _ := parseHeader(raw[:d1])
	k, vk, _ := v.key(h)
	b.Run("shape", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			checkShape(raw, 4096)
		}
	})
	b.Run("header", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parseHeader(raw[:d1])
		}
	})
	b.Run("key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v.key(h)
		}
	})
	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := v.library(raw, k, vk, h.kid, new(libClaims)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("claims", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.claims(raw[d1+1:d2], now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
