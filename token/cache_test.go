package token

import (
	"strings"
	"sync"
	"testing"
	"time"
)

type mutableKeys struct {
	mu sync.Mutex
	m  map[string]*Key
}

func (k *mutableKeys) VerificationKey(kid string) (*Key, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.m[kid]
	return key, ok
}

func (k *mutableKeys) remove(kid string) {
	k.mu.Lock()
	delete(k.m, kid)
	k.mu.Unlock()
}

type cacheFixture struct {
	key   *Key
	keys  *mutableKeys
	now   time.Time
	cache *Cache
	inner *Verifier
}

func newCacheFixture(t *testing.T, size int) *cacheFixture {
	t.Helper()
	key, err := GenerateKey(EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	f := &cacheFixture{key: key, keys: &mutableKeys{m: map[string]*Key{key.ID: key}}, now: time.Unix(1_800_000_000, 0)}
	f.inner = &Verifier{Keys: f.keys, Issuer: "https://i", Audience: "a", MaxTTL: 10 * time.Minute, Leeway: 30 * time.Second, Now: func() time.Time { return f.now }}
	f.cache = NewCache(f.inner, size)
	return f
}

func (f *cacheFixture) sign(t *testing.T) string {
	t.Helper()
	s, err := Sign(f.key, Claims{Issuer: "https://i", Subject: "u", Audience: []string{"a"}, ID: NewID(), SessionID: "s", IssuedAt: f.now, ExpiresAt: f.now.Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCacheHitEqualsVerify(t *testing.T) {
	f := newCacheFixture(t, 128)
	tok := f.sign(t)
	want, err := f.inner.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		got, err := f.cache.Verify(tok)
		if err != nil || got.ID != want.ID || got.Subject != want.Subject || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("call %d: got %+v, %v; want %+v", i, got, err, want)
		}
	}
	if f.cache.Len() != 1 {
		t.Fatalf("cache holds %d entries, want 1", f.cache.Len())
	}
}

// TestCacheNeverWeakens runs the ways a cached token can go bad: the cache
// must answer exactly as the verifier does.
func TestCacheNeverWeakens(t *testing.T) {
	t.Run("tampered while cached", func(t *testing.T) {
		f := newCacheFixture(t, 128)
		tok := f.sign(t)
		if _, err := f.cache.Verify(tok); err != nil {
			t.Fatal(err)
		}
		i := strings.LastIndexByte(tok, '.') + 5
		b := []byte(tok)
		orig := b[i]
		b[i] ^= 1
		if b[i] == '.' || !base64URL[b[i]] {
			b[i] = 'A'
		}
		if b[i] == orig { // 'A' ^ 1 is '@', outside the alphabet
			b[i] = 'B'
		}
		if _, err := f.cache.Verify(string(b)); err == nil {
			t.Fatal("tampered signature accepted")
		}
		parts := strings.Split(tok, ".")
		if _, err := f.cache.Verify(parts[0] + "." + parts[1] + "x." + parts[2]); err == nil {
			t.Fatal("tampered payload accepted")
		}
	})
	t.Run("expired while cached", func(t *testing.T) {
		f := newCacheFixture(t, 128)
		tok := f.sign(t)
		if _, err := f.cache.Verify(tok); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(10*time.Minute + 29*time.Second)
		if _, err := f.cache.Verify(tok); err != nil {
			t.Fatalf("within leeway: %v", err)
		}
		f.now = f.now.Add(2 * time.Second)
		if _, err := f.cache.Verify(tok); err == nil {
			t.Fatal("expired token served from the cache")
		}
		if f.cache.Len() != 0 {
			t.Fatal("expired entry kept")
		}
	})
	t.Run("key removed while cached", func(t *testing.T) {
		f := newCacheFixture(t, 128)
		tok := f.sign(t)
		if _, err := f.cache.Verify(tok); err != nil {
			t.Fatal(err)
		}
		f.keys.remove(f.key.ID)
		if _, err := f.cache.Verify(tok); err == nil {
			t.Fatal("token of a removed key served from the cache")
		}
	})
	t.Run("bad shape never consulted", func(t *testing.T) {
		f := newCacheFixture(t, 128)
		for _, s := range []string{"", "a.b", strings.Repeat(".", 5000), "a.b.c.d"} {
			if _, err := f.cache.Verify(s); err == nil {
				t.Fatalf("%q accepted", s)
			}
		}
		if f.cache.Len() != 0 {
			t.Fatal("rejected input cached")
		}
	})
}

func TestCacheBounded(t *testing.T) {
	f := newCacheFixture(t, 64)
	for range 500 {
		if _, err := f.cache.Verify(f.sign(t)); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.cache.Len(); n > 64 {
		t.Fatalf("cache holds %d entries, bound 64", n)
	}
}

func BenchmarkCacheHit(b *testing.B) {
	key, _ := GenerateKey(EdDSA)
	now := time.Now()
	v := &Verifier{Keys: &mutableKeys{m: map[string]*Key{key.ID: key}}, Issuer: "https://i", Audience: "a", MaxTTL: 10 * time.Minute, Leeway: 30 * time.Second}
	tok, _ := Sign(key, Claims{Issuer: "https://i", Subject: "u", Audience: []string{"a"}, ID: NewID(), SessionID: "s", IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
	c := NewCache(v, 1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
