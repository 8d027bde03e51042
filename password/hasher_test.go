package password

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testParams are cheap, so most tests run in microseconds.
var testParams = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

func newTestHasher(t *testing.T) *Hasher {
	t.Helper()
	return NewHasher(Options{Params: testParams})
}

func mustHash(t *testing.T, h *Hasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(t.Context(), []byte(pw))
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return enc
}

func TestHashVerify(t *testing.T) {
	h := newTestHasher(t)
	long := strings.Repeat("0123456789", 10) // 100 bytes
	tests := []struct {
		name    string
		stored  string
		attempt string
		want    bool
	}{
		{"same", "correct horse battery staple", "correct horse battery staple", true},
		{"wrong", "correct horse battery staple", "correct horse battery stapler", false},
		{"empty attempt", "correct horse battery staple", "", false},
		// H-03: every byte counts; nothing is truncated at bcrypt's 72 bytes
		// or anywhere else.
		{"100 bytes", long, long, true},
		{"first 72 of 100", long, long[:72], false},
		{"first 64 of 100", long, long[:64], false},
		{"one byte more", long, long + "0", false},
		// No transformation of any kind.
		{"upper-cased", "Tr0ub4dor  and 3", "TR0UB4DOR  AND 3", false},
		{"leading space", "Tr0ub4dor  and 3", " Tr0ub4dor  and 3", false},
		{"trailing space", "Tr0ub4dor  and 3", "Tr0ub4dor  and 3 ", false},
		{"inner spaces collapsed", "Tr0ub4dor  and 3", "Tr0ub4dor and 3", false},
		{"NFC vs NFD", "caf\u00e9 au lait", "cafe\u0301 au lait", false},
		// H-04: any bytes round-trip.
		{"emoji", "🔑🐴🔋📎 staple", "🔑🐴🔋📎 staple", true},
		{"CJK", "正しい馬電池ホチキス", "正しい馬電池ホチキス", true},
		{"spaces only", "        ", "        ", true},
		{"NUL byte", "pass\x00word", "pass\x00word", true},
		{"NUL byte truncated", "pass\x00word", "pass", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := mustHash(t, h, tt.stored)
			got, rehash, err := h.Verify(t.Context(), []byte(tt.attempt), enc)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
			if rehash {
				t.Errorf("rehash = true for a hash made with the same params")
			}
		})
	}
}

// phcRE is the format of Hash's output (H-01): argon2id, version 19, the
// parameters, a 16-byte salt and a 32-byte key in unpadded base64.
var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashFormat(t *testing.T) {
	h := newTestHasher(t)
	enc := mustHash(t, h, "correct horse battery staple")
	if !phcRE.MatchString(enc) {
		t.Errorf("Hash = %q, want match for %v", enc, phcRE)
	}
	p, salt, key, err := ParsePHC(enc)
	if err != nil {
		t.Fatalf("ParsePHC(Hash()): %v", err)
	}
	if p != testParams || len(salt) != SaltLen || len(key) != KeyLen {
		t.Errorf("ParsePHC(Hash()) = %+v, %d-byte salt, %d-byte key; want %+v, %d, %d",
			p, len(salt), len(key), testParams, SaltLen, KeyLen)
	}
}

// TestHashUniqueSalts checks that the same password never hashes the same
// way twice (H-02), so equal hashes do not reveal equal passwords.
func TestHashUniqueSalts(t *testing.T) {
	h := newTestHasher(t)
	seen := map[string]bool{}
	salts := map[string]bool{}
	for range 20 {
		enc := mustHash(t, h, "password")
		if seen[enc] {
			t.Fatalf("Hash returned %q twice", enc)
		}
		seen[enc] = true
		_, salt, _, err := ParsePHC(enc)
		if err != nil {
			t.Fatal(err)
		}
		if salts[string(salt)] {
			t.Fatalf("salt repeated")
		}
		salts[string(salt)] = true
	}
}

// TestVerifyRehash checks that a hash made with other parameters, salt or
// key length verifies but asks to be replaced (H-09).
func TestVerifyRehash(t *testing.T) {
	const pw = "correct horse battery staple"
	h := newTestHasher(t)
	tests := []struct {
		name       string
		made       Params
		salt       []byte
		keyLen     uint32
		wantRehash bool
	}{
		{"same", testParams, make([]byte, SaltLen), KeyLen, false},
		{"more memory", Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1}, make([]byte, SaltLen), KeyLen, true},
		{"less memory", Params{MemoryKiB: 32, Iterations: 1, Parallelism: 1}, make([]byte, SaltLen), KeyLen, true},
		{"more iterations", Params{MemoryKiB: 64, Iterations: 2, Parallelism: 1}, make([]byte, SaltLen), KeyLen, true},
		{"more lanes", Params{MemoryKiB: 64, Iterations: 1, Parallelism: 2}, make([]byte, SaltLen), KeyLen, true},
		{"short salt", testParams, make([]byte, 8), KeyLen, true},
		{"long key", testParams, make([]byte, SaltLen), 64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := encodePHC(tt.made, tt.salt, idKey([]byte(pw), tt.salt, tt.made, tt.keyLen))
			ok, rehash, err := h.Verify(t.Context(), []byte(pw), enc)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !ok || rehash != tt.wantRehash {
				t.Errorf("Verify = %v, %v; want true, %v", ok, rehash, tt.wantRehash)
			}
			ok, rehash, err = h.Verify(t.Context(), []byte(pw+"!"), enc)
			if ok || rehash || err != nil {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestVerifyReference checks interoperability with hashes made by the
// reference implementation's command-line tool (Debian package argon2).
func TestVerifyReference(t *testing.T) {
	h := newTestHasher(t)
	tests := []struct {
		pw      string
		encoded string
	}{
		// echo -n 'correct horse battery staple' | argon2 saltsaltsaltsalt -id -t 2 -m 6 -p 1 -l 32 -e
		{"correct horse battery staple", "$argon2id$v=19$m=64,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$08SGGcDJOWTOHrI9opI1oxYYPVyI3Xbz6vQjWzSpV7w"},
		// echo -n password | argon2 somesaltsomesalt -id -t 1 -k 64 -p 1 -l 32 -e
		{"password", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$55PWTvddWPUD1GMbKxSff4ASfF85k9ibHJt4HlHQtBM"},
		// printf '\xf0\x9f\x94\x91 \xe6\xad\xa3' | argon2 0123456789abcdef -id -t 3 -k 256 -p 2 -l 16 -e
		{"🔑 正", "$argon2id$v=19$m=256,t=3,p=2$MDEyMzQ1Njc4OWFiY2RlZg$l+REA7/cR8T/Wz/GKXLsNw"},
	}
	for _, tt := range tests {
		ok, _, err := h.Verify(t.Context(), []byte(tt.pw), tt.encoded)
		if !ok || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v; want true, nil", tt.pw, tt.encoded, ok, err)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newTestHasher(t)
	for _, enc := range []string{"", "password", "$2a$10$abcdefghijklmnopqrstuv", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ"} {
		ok, rehash, err := h.Verify(t.Context(), []byte("password"), enc)
		if ok || rehash || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, ErrMalformedHash", enc, ok, rehash, err)
		}
	}
}

func TestDefaultParams(t *testing.T) {
	h := NewHasher(Options{})
	if got, want := h.Params(), DefaultParams(); got != want {
		t.Errorf("NewHasher(Options{}).Params() = %+v, want %+v", got, want)
	}
	enc := mustHash(t, h, "correct horse battery staple")
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q, want the OWASP parameters m=19456,t=2,p=1", enc)
	}
	ok, rehash, err := h.Verify(t.Context(), []byte("correct horse battery staple"), enc)
	if !ok || rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	if err := h.Dummy(t.Context(), []byte("x")); err != nil {
		t.Errorf("Dummy: %v", err)
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		p    Params
		want bool
	}{
		{DefaultParams(), true},
		{testParams, true},
		{Params{MemoryKiB: 8, Iterations: 1, Parallelism: 1}, true},
		{Params{MemoryKiB: 1 << 22, Iterations: 64, Parallelism: 255}, true},
		{Params{}, false},
		{Params{MemoryKiB: 64, Iterations: 1, Parallelism: 0}, false},
		{Params{MemoryKiB: 64, Iterations: 0, Parallelism: 1}, false},
		{Params{MemoryKiB: 64, Iterations: 65, Parallelism: 1}, false},
		{Params{MemoryKiB: 7, Iterations: 1, Parallelism: 1}, false},
		{Params{MemoryKiB: 64, Iterations: 1, Parallelism: 9}, false},
		{Params{MemoryKiB: 1<<22 + 1, Iterations: 1, Parallelism: 1}, false},
	}
	for _, tt := range tests {
		if got := tt.p.Validate() == nil; got != tt.want {
			t.Errorf("%+v.Validate() = %v, want valid = %v", tt.p, tt.p.Validate(), tt.want)
		}
	}
}

func TestNewHasherPanicsOnBadParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewHasher with Parallelism 0 did not panic")
		}
	}()
	NewHasher(Options{Params: Params{MemoryKiB: 64, Iterations: 1}})
}

// blockedHasher returns a Hasher with one slot and the given queue whose
// hashes block, while holding the slot, until release is closed. Each
// hash sends on entered when it takes the slot.
func blockedHasher(t *testing.T, o Options) (h *Hasher, entered chan struct{}, release chan struct{}) {
	t.Helper()
	o.Params = testParams
	o.MaxConcurrent = 1
	h = NewHasher(o)
	entered = make(chan struct{}, 8)
	release = make(chan struct{})
	h.holding = func() {
		entered <- struct{}{}
		<-release
	}
	return h, entered, release
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
// It waits for a state, not for a length of time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// ops are the three ways into the pool.
var ops = []struct {
	name string
	call func(ctx context.Context, h *Hasher) error
}{
	{"Hash", func(ctx context.Context, h *Hasher) error {
		_, err := h.Hash(ctx, []byte("password"))
		return err
	}},
	{"Verify", func(ctx context.Context, h *Hasher) error {
		_, _, err := h.Verify(ctx, []byte("password"), "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$55PWTvddWPUD1GMbKxSff4ASfF85k9ibHJt4HlHQtBM")
		return err
	}},
	{"Dummy", func(ctx context.Context, h *Hasher) error {
		return h.Dummy(ctx, []byte("password"))
	}},
}

// TestPoolQueueFull checks that with one slot busy and the one queue place
// taken, a third call of any kind is refused at once.
func TestPoolQueueFull(t *testing.T) {
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			h, entered, release := blockedHasher(t, Options{MaxQueue: 1, QueueTimeout: time.Hour})
			errs := make(chan error, 2)
			go func() { errs <- op.call(t.Context(), h) }()
			<-entered
			go func() { errs <- op.call(t.Context(), h) }()
			waitFor(t, "a queued caller", func() bool { return h.Stats() == Stats{Running: 1, Queued: 1} })

			if err := op.call(t.Context(), h); !errors.Is(err, ErrOverloaded) {
				t.Errorf("third call: err = %v, want ErrOverloaded", err)
			}
			close(release)
			for range 2 {
				if err := <-errs; err != nil {
					t.Errorf("first or second call: %v", err)
				}
			}
			if got, want := h.Stats(), (Stats{}); got != want {
				t.Errorf("Stats() after = %+v, want %+v", got, want)
			}
		})
	}
}

func TestPoolNoQueue(t *testing.T) {
	h, entered, release := blockedHasher(t, Options{MaxQueue: -1})
	done := make(chan error)
	go func() { done <- ops[0].call(t.Context(), h) }()
	<-entered
	if err := h.Dummy(t.Context(), nil); !errors.Is(err, ErrOverloaded) {
		t.Errorf("second call with MaxQueue -1: err = %v, want ErrOverloaded", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("first call: %v", err)
	}
}

func TestPoolQueueTimeout(t *testing.T) {
	const timeout = 20 * time.Millisecond
	h, entered, release := blockedHasher(t, Options{MaxQueue: 1, QueueTimeout: timeout})
	defer close(release)
	go h.Dummy(context.Background(), nil)
	<-entered

	start := time.Now()
	err := h.Dummy(t.Context(), nil)
	if !errors.Is(err, ErrOverloaded) {
		t.Errorf("err = %v, want ErrOverloaded", err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want no context error", err)
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("gave up after %v, want at least QueueTimeout %v", d, timeout)
	}
	if got := h.Stats().Queued; got != 0 {
		t.Errorf("Stats().Queued = %d after timeout, want 0", got)
	}
}

func TestPoolContext(t *testing.T) {
	h, entered, release := blockedHasher(t, Options{MaxQueue: 1, QueueTimeout: time.Hour})
	defer close(release)
	go h.Dummy(context.Background(), nil)
	<-entered

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- h.Dummy(ctx, nil) }()
	waitFor(t, "a queued caller", func() bool { return h.Stats().Queued == 1 })
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrOverloaded) {
		t.Errorf("waiting call: err = %v, want context.Canceled and ErrOverloaded", err)
	}

	// An ended context is honoured even when a slot is free.
	free := newTestHasher(t)
	for _, op := range ops {
		if err := op.call(ctx, free); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with cancelled context: err = %v, want context.Canceled", op.name, err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(Options{Params: DefaultParams()})
	pw := []byte("correct horse battery staple")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(b.Context(), pw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := NewHasher(Options{Params: DefaultParams()})
	pw := []byte("correct horse battery staple")
	enc, err := h.Hash(b.Context(), pw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(b.Context(), pw, enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// TestReleaseMemoryWhenIdle checks that the memory of finished hashes goes
// back to the operating system once the pool has been idle for
// ReleaseAfter, rather than staying resident until the runtime's own slow
// scavenging gets to it.
func TestReleaseMemoryWhenIdle(t *testing.T) {
	const memKiB = 16 << 10
	h := NewHasher(Options{Params: Params{MemoryKiB: memKiB, Iterations: 1, Parallelism: 1}, ReleaseAfter: 20 * time.Millisecond})
	for range 3 {
		if _, err := h.Hash(t.Context(), []byte("correct horse")); err != nil {
			t.Fatal(err)
		}
	}
	var retained uint64
	for range 100 {
		time.Sleep(20 * time.Millisecond)
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if retained = m.HeapIdle - m.HeapReleased; retained < memKiB<<10 {
			return
		}
	}
	t.Fatalf("%d KiB of idle heap still held 2s after hashing stopped, want less than one hash's %d KiB", retained>>10, memKiB)
}

// TestDefaultPoolBound holds NewHasher with no options to what the README
// promises: one hash per CPU but at most three (64 MiB at 19 MiB a hash),
// 64 waiting callers a slot, for at most 5 s. It fills the pool for real:
// every slot busy and every queue place taken, the next caller is refused
// at once.
func TestDefaultPoolBound(t *testing.T) {
	h := NewHasher(Options{})
	wantConcurrent := min(runtime.NumCPU(), 3)
	concurrent, queue := h.Capacity()
	if concurrent != wantConcurrent || queue != 64*wantConcurrent {
		t.Fatalf("Capacity() = %d, %d; want %d, %d", concurrent, queue, wantConcurrent, 64*wantConcurrent)
	}
	if h.timeout != 5*time.Second {
		t.Errorf("queue timeout %v, want 5s", h.timeout)
	}
	if h.releaseAfter != time.Second {
		t.Errorf("memory released after %v idle, want 1s", h.releaseAfter)
	}

	release := make(chan struct{})
	h.holding = func() { <-release }
	errs := make(chan error, concurrent)
	for range concurrent {
		go func() { errs <- h.Dummy(t.Context(), nil) }()
	}
	waitFor(t, "every slot busy", func() bool { return h.Stats().Running == concurrent })
	// The waiters give up when their context ends, so that only the slot
	// holders hash at 19 MiB.
	waiting, stop := context.WithCancel(t.Context())
	waited := make(chan error, queue)
	for range queue {
		go func() { waited <- h.Dummy(waiting, nil) }()
	}
	waitFor(t, "every queue place taken", func() bool { return h.Stats() == Stats{Running: concurrent, Queued: queue} })

	if err := h.Dummy(t.Context(), nil); err != ErrOverloaded {
		t.Errorf("a caller beyond the queue: err = %v, want ErrOverloaded at once", err)
	}
	stop()
	for range queue {
		if err := <-waited; !errors.Is(err, context.Canceled) {
			t.Errorf("a waiter whose context ended: err = %v, want context.Canceled", err)
		}
	}
	close(release)
	for range concurrent {
		if err := <-errs; err != nil {
			t.Errorf("a slot holder: %v", err)
		}
	}
}
