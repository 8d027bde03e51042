package token_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/token"
)

// The benchmarks in this file are the ones docs/PERFORMANCE.md quotes. Run
// them with
//
//	go test -run '^$' -bench 'VerifyHit|VerifyMiss|Ed25519Verify|Sign' -benchmem ./token
//
// Target 2 of issue 8 is the ratio BenchmarkVerifyMiss/EdDSA ÷
// BenchmarkEd25519Verify from one such run: what a first-seen token costs
// on top of the bare signature check.

// BenchmarkVerifyHit measures a token the cache has accepted before: the
// shape check, one sharded map lookup and the key-still-trusted check.
func BenchmarkVerifyHit(b *testing.B) {
	f := getFixture(b)
	for _, alg := range algorithms {
		b.Run(alg, func(b *testing.B) {
			c := token.NewCache(f.verifier(), 1024)
			raw := f.valid[alg]
			if _, err := c.Verify(raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Verify(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyMiss measures a token the cache has not seen: the full
// verification through token.Cache, including storing the result. Each
// iteration forgets the token again, so every Verify is a miss.
func BenchmarkVerifyMiss(b *testing.B) {
	f := getFixture(b)
	for _, alg := range algorithms {
		b.Run(alg, func(b *testing.B) {
			c := token.NewCache(f.verifier(), 1024)
			raw := f.valid[alg]
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Verify(raw); err != nil {
					b.Fatal(err)
				}
				c.Forget(raw)
			}
		})
	}
}

// BenchmarkEd25519Verify is the floor for BenchmarkVerifyMiss/EdDSA: the
// bare crypto/ed25519 check of the same token's signature, with the
// signature already decoded.
func BenchmarkEd25519Verify(b *testing.B) {
	f := getFixture(b)
	raw := f.valid[token.EdDSA]
	i := strings.LastIndexByte(raw, '.')
	msg := []byte(raw[:i])
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := f.ed.Public.(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature rejected")
		}
	}
}

// BenchmarkVerifyMissRatio alternates a first-seen EdDSA verification and
// the bare ed25519.Verify of the same token, timing each, and reports the
// ratio of their totals: the cross-check of BenchmarkVerifyMiss/EdDSA ÷
// BenchmarkEd25519Verify that a change in the machine's load between the
// two benchmarks cannot skew.
func BenchmarkVerifyMissRatio(b *testing.B) {
	f := getFixture(b)
	raw := f.valid[token.EdDSA]
	i := strings.LastIndexByte(raw, '.')
	msg := []byte(raw[:i])
	sig, _ := base64.RawURLEncoding.DecodeString(raw[i+1:])
	pub := f.ed.Public.(ed25519.PublicKey)
	c := token.NewCache(f.verifier(), 1024)
	var miss, bare time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.Verify(raw); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature rejected")
		}
		bare += time.Since(t1)
		miss += t1.Sub(t0)
		c.Forget(raw)
	}
	b.ReportMetric(float64(miss)/float64(bare), "miss/raw")
	b.ReportMetric(float64(miss.Nanoseconds())/float64(b.N), "miss-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "raw-ns/op")
}
