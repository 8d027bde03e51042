package gatehouse_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/token"
)

// ringClock is a settable clock for the keyring tests.
type ringClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *ringClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *ringClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	ringMaster   = bytes.Repeat([]byte{3}, gatehouse.MasterKeySize)
	ringSchedule = gatehouse.KeySchedule{
		RotationInterval: 24 * time.Hour,
		AccessTTL:        10 * time.Minute,
		Leeway:           30 * time.Second,
		JWKSMaxAge:       5 * time.Minute,
	}
)

// openRing opens a keyring on the SQLite file at path, as one server
// instance would, with every key loaded and one active.
func openRing(t *testing.T, path string, clk *ringClock) (*gatehouse.Keyring, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	k, err := gatehouse.NewKeyring(db, ringMaster, token.EdDSA, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	k.SetSchedule(ringSchedule)
	if err := k.EnsureActive(t.Context()); err != nil {
		t.Fatal(err)
	}
	return k, db
}

func newRing(t *testing.T) (*gatehouse.Keyring, *ringClock, string) {
	t.Helper()
	clk := &ringClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	k, _ := openRing(t, path, clk)
	return k, clk, path
}

// states returns kid -> state of the keys k holds.
func states(k *gatehouse.Keyring) map[string]string {
	m := map[string]string{}
	for _, r := range k.Records() {
		m[r.ID] = r.State
	}
	return m
}

func wantStates(t *testing.T, k *gatehouse.Keyring, want map[string]string) {
	t.Helper()
	got := states(k)
	if len(got) != len(want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
	for id, st := range want {
		if got[id] != st {
			t.Fatalf("key %s is %q, want %q (all: %v)", id, got[id], st, got)
		}
	}
}

func jwkIDs(k *gatehouse.Keyring) map[string]bool {
	m := map[string]bool{}
	for _, j := range k.PublicJWKs() {
		m[j["kid"].(string)] = true
	}
	return m
}

func ringVerifier(k *gatehouse.Keyring, clk *ringClock) *token.Verifier {
	return &token.Verifier{Keys: k, Issuer: "https://auth.test", Audience: "gatehouse", MaxTTL: ringSchedule.AccessTTL, Leeway: ringSchedule.Leeway, Now: clk.Now}
}

func signNow(t *testing.T, k *gatehouse.Keyring, clk *ringClock) string {
	t.Helper()
	now := clk.Now()
	s, err := token.Sign(k.SigningKey(), token.Claims{
		Issuer: "https://auth.test", Subject: "u1", Audience: []string{"gatehouse"}, ID: token.NewID(),
		SessionID: "s1", IssuedAt: now, ExpiresAt: now.Add(ringSchedule.AccessTTL),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func maintain(t *testing.T, k *gatehouse.Keyring, clk *ringClock) {
	t.Helper()
	if err := k.Maintain(t.Context(), clk.Now()); err != nil {
		t.Fatalf("Maintain: %v", err)
	}
}

// TestKeyLifecycle walks one key through next, active, retired and deleted.
func TestKeyLifecycle(t *testing.T) {
	k, clk, _ := newRing(t)
	first := k.SigningKey().ID
	maintain(t, k, clk)
	var next string
	for id, st := range states(k) {
		if st == gatehouse.KeyNext {
			next = id
		}
	}
	wantStates(t, k, map[string]string{first: gatehouse.KeyActive, next: gatehouse.KeyNext})
	if ids := jwkIDs(k); !ids[first] || !ids[next] {
		t.Fatalf("JWKS kids %v, want the active and the next key", ids)
	}

	// Not yet due: nothing moves.
	clk.Advance(ringSchedule.RotationInterval - time.Second)
	maintain(t, k, clk)
	if k.SigningKey().ID != first {
		t.Fatal("rotated before the interval")
	}
	old := signNow(t, k, clk)
	clk.Advance(time.Second)
	maintain(t, k, clk)
	if got := k.SigningKey().ID; got != next {
		t.Fatalf("after the interval the signing key is %s, want the next key %s", got, next)
	}
	st := states(k)
	if st[first] != gatehouse.KeyRetired || len(st) != 3 {
		t.Fatalf("after rotation keys = %v, want the old key retired and a new next key", st)
	}
	if _, err := ringVerifier(k, clk).Verify(old); err != nil {
		t.Fatalf("a token of the retired key, still within its lifetime, was rejected: %v", err)
	}
	if tok := signNow(t, k, clk); kidOf(t, tok) != next {
		t.Fatalf("new token has kid %s, want %s", kidOf(t, tok), next)
	}

	// Retention: AccessTTL + Leeway + KeyReloadInterval after retirement.
	clk.Advance(ringSchedule.Retention() - time.Second)
	maintain(t, k, clk)
	if !jwkIDs(k)[first] {
		t.Fatal("retired key left the JWKS before its tokens expired")
	}
	clk.Advance(time.Second)
	maintain(t, k, clk)
	if jwkIDs(k)[first] {
		t.Fatal("retired and expired key still in the JWKS")
	}
	if _, ok := k.VerificationKey(first); ok {
		t.Fatal("deleted key still verifies")
	}
	// Even a token of that key that is somehow still "fresh" is refused:
	// the key is gone.
	if _, err := ringVerifier(k, clk).Verify(old); err == nil {
		t.Fatal("token of a deleted key verified")
	}
}

// TestMaintainWaitsForPublishLead checks that a next key never signs before
// verifiers can have fetched it.
func TestMaintainWaitsForPublishLead(t *testing.T) {
	k, clk, _ := newRing(t)
	first := k.SigningKey().ID
	clk.Advance(ringSchedule.RotationInterval) // due, but no next key yet
	maintain(t, k, clk)
	if k.SigningKey().ID != first {
		t.Fatal("activated a key that was never published")
	}
	clk.Advance(ringSchedule.PublishLead() - time.Second)
	maintain(t, k, clk)
	if k.SigningKey().ID != first {
		t.Fatalf("activated the next key %s before PublishLead (%s)", k.SigningKey().ID, ringSchedule.PublishLead())
	}
	clk.Advance(time.Second)
	maintain(t, k, clk)
	if k.SigningKey().ID == first {
		t.Fatal("did not rotate once the next key was published for PublishLead")
	}
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct{ Kid string }
	if err := json.Unmarshal(b, &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr.Kid
}

func TestRotateAndRetire(t *testing.T) {
	k, clk, _ := newRing(t)
	first := k.SigningKey().ID
	rec, err := k.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID == first || k.SigningKey().ID != rec.ID {
		t.Fatalf("Rotate returned %s, signing key %s, first %s", rec.ID, k.SigningKey().ID, first)
	}
	st := states(k)
	if st[first] != gatehouse.KeyRetired || len(st) != 3 {
		t.Fatalf("after Rotate keys = %v, want first retired, one active, one next", st)
	}

	// Retiring the only active key hands signing to the next key.
	second := rec.ID
	if err := k.Retire(t.Context(), second); err != nil {
		t.Fatal(err)
	}
	if got := k.SigningKey(); got == nil || got.ID == second || got.ID == first {
		t.Fatalf("after retiring the active key the signing key is %v", got)
	}
	if states(k)[second] != gatehouse.KeyRetired {
		t.Fatalf("retired key is %q", states(k)[second])
	}
	// Retiring again is a no-op; an unknown kid is ErrNotFound.
	if err := k.Retire(t.Context(), second); err != nil {
		t.Fatalf("Retire twice: %v", err)
	}
	if err := k.Retire(t.Context(), "nope"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("Retire(unknown) = %v, want ErrNotFound", err)
	}
	n := 0
	for _, s := range states(k) {
		if s == gatehouse.KeyNext {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("after Retire %d next keys, want 1: %v", n, states(k))
	}
	_ = clk
}

func TestImport(t *testing.T) {
	k, clk, _ := newRing(t)
	_, priv, _ := ed25519Key(t)
	rec, err := k.Import(t.Context(), token.EdDSA, priv, false)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != gatehouse.KeyNext || !jwkIDs(k)[rec.ID] {
		t.Fatalf("imported key is %s, in JWKS %v; want next and published", rec.State, jwkIDs(k)[rec.ID])
	}
	rec2, err := k.Import(t.Context(), token.EdDSA, priv, true)
	if err != nil {
		t.Fatal(err)
	}
	if k.SigningKey().ID != rec2.ID {
		t.Fatalf("import --activate: signing key %s, want %s", k.SigningKey().ID, rec2.ID)
	}
	tok := signNow(t, k, clk)
	if _, err := ringVerifier(k, clk).Verify(tok); err != nil {
		t.Fatalf("token signed by the imported key: %v", err)
	}
	if n := countActive(k); n != 1 {
		t.Fatalf("%d active keys after import --activate, want 1", n)
	}

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	bad := []struct {
		name string
		alg  string
		data []byte
	}{
		{"other algorithm than the policy", token.ES256, ecPEM},
		{"key of another type", token.EdDSA, ecPEM},
		{"garbage", token.EdDSA, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
		{"encrypted PEM type", token.EdDSA, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})},
	}
	for _, b := range bad {
		if _, err := k.Import(t.Context(), b.alg, b.data, true); err == nil {
			t.Errorf("Import %s: no error", b.name)
		}
	}

	// HS256 keyring: a raw secret of at least 32 bytes.
	db2, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	hs, err := gatehouse.NewKeyring(db2, ringMaster, token.HS256, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hs.Import(t.Context(), token.HS256, []byte("too short"), true); err == nil {
		t.Error("Import of a 9-byte HS256 secret: no error")
	}
	if _, err := hs.Import(t.Context(), token.HS256, bytes.Repeat([]byte{0xA5}, 32), true); err != nil {
		t.Errorf("Import of a 32-byte HS256 secret: %v", err)
	}
	if len(hs.PublicJWKs()) != 0 {
		t.Errorf("HS256 key published: %v", hs.PublicJWKs())
	}
}

func countActive(k *gatehouse.Keyring) int {
	n := 0
	for _, s := range states(k) {
		if s == gatehouse.KeyActive {
			n++
		}
	}
	return n
}

func ed25519Key(t *testing.T) (*token.Key, []byte, error) {
	t.Helper()
	key, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	der, err := token.MarshalPrivate(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// TestInstancesConverge runs two instances on one store: both maintaining
// at the same moment rotate once, and a key rotated on one verifies on the
// other at once (a reload on the unknown kid).
func TestInstancesConverge(t *testing.T) {
	a, clk, path := newRing(t)
	b, _ := openRing(t, path, clk)
	maintain(t, a, clk)
	maintain(t, b, clk)
	if len(states(a)) != 2 {
		t.Fatalf("after both maintained: %v, want one active and one next", states(a))
	}
	clk.Advance(ringSchedule.RotationInterval)
	var wg sync.WaitGroup
	for _, k := range []*gatehouse.Keyring{a, b} {
		wg.Go(func() {
			if err := k.Maintain(t.Context(), clk.Now()); err != nil {
				t.Errorf("Maintain: %v", err)
			}
		})
	}
	wg.Wait()
	maintain(t, a, clk)
	maintain(t, b, clk)
	if countActive(a) != 1 || a.SigningKey().ID != b.SigningKey().ID {
		t.Fatalf("instances disagree: a signs with %s, b with %s; keys %v", a.SigningKey().ID, b.SigningKey().ID, states(a))
	}

	// A manual rotation on a: b has never seen the new key, and learns it
	// from the store on the first token that names it.
	clk.Advance(time.Minute)
	if _, err := a.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	tok := signNow(t, a, clk)
	if _, err := ringVerifier(b, clk).Verify(tok); err != nil {
		t.Fatalf("instance b rejected a token of the key a just activated: %v", err)
	}
}

// TestUnknownKidReloadIsRateLimited checks that tokens with made-up kids
// cost the store at most one read per interval.
func TestUnknownKidReloadIsRateLimited(t *testing.T) {
	clk := &ringClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cs := &countingKeys{KeyStore: db}
	k, err := gatehouse.NewKeyring(cs, ringMaster, token.EdDSA, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.EnsureActive(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := cs.reads()
	for i := range 1000 {
		if _, ok := k.VerificationKey(token.NewID()); ok {
			t.Fatalf("made-up kid %d found", i)
		}
	}
	if got := cs.reads() - before; got != 1 {
		t.Fatalf("1000 unknown kids caused %d store reads, want 1", got)
	}
	clk.Advance(10 * time.Second)
	k.VerificationKey("another")
	if got := cs.reads() - before; got != 2 {
		t.Fatalf("after the interval: %d store reads, want 2", got)
	}
}

type countingKeys struct {
	gatehouse.KeyStore
	mu sync.Mutex
	n  int
}

func (c *countingKeys) Keys(ctx context.Context) ([]*gatehouse.KeyRecord, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.KeyStore.Keys(ctx)
}

func (c *countingKeys) reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestWrongMasterKey checks that keys sealed under one master key never
// open under another, and that the keyring says so instead of making a new key.
func TestWrongMasterKey(t *testing.T) {
	_, clk, path := newRing(t)
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := gatehouse.NewKeyring(db, bytes.Repeat([]byte{4}, gatehouse.MasterKeySize), token.EdDSA, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := db.Keys(t.Context())
	for name, call := range map[string]func() error{
		"EnsureActive": func() error { return other.EnsureActive(t.Context()) },
		"Maintain":     func() error { return other.Maintain(t.Context(), clk.Now()) },
		"Rotate":       func() error { _, err := other.Rotate(t.Context()); return err },
	} {
		if err := call(); !errors.Is(err, gatehouse.ErrMasterKey) {
			t.Errorf("%s with the wrong master key = %v, want ErrMasterKey", name, err)
		}
	}
	after, _ := db.Keys(t.Context())
	if len(after) != len(before) {
		t.Fatalf("the wrong master key created keys: %d before, %d after", len(before), len(after))
	}
	if _, err := gatehouse.NewKeyring(db, []byte("short"), token.EdDSA, clk.Now); err == nil {
		t.Error("a 5-byte master key was accepted")
	}
}
