package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// ErrOverloaded is returned (wrapped) by the methods of Hasher when no
// hashing slot could be had: the queue of waiting callers was full, the wait
// exceeded Options.QueueTimeout, or the caller's context ended first (then
// the error also wraps the context's error).
var ErrOverloaded = errors.New("password: hashing queue full")

// Options configure a Hasher. The zero value of each field picks its default.
type Options struct {
	// Params are the cost parameters of new hashes; zero means DefaultParams.
	Params Params
	// MaxConcurrent is how many hashes may run at once; zero means one
	// per CPU (runtime.NumCPU()), but no more than fit in
	// DefaultMemoryBudgetKiB. Memory held by hashing is at most
	// MaxConcurrent × Params.MemoryKiB.
	MaxConcurrent int
	// MaxQueue is how many callers may wait for a slot; zero means
	// 64 × MaxConcurrent, negative means none may wait.
	MaxQueue int
	// QueueTimeout is the longest a caller waits for a slot; zero means 5s.
	QueueTimeout time.Duration
	// ReleaseAfter is how long the pool must stay idle before the memory
	// hashing used is handed back to the operating system; zero means 1s,
	// negative means never. Each hash allocates Params.MemoryKiB and drops
	// it; the Go runtime keeps such memory for reuse and returns it only
	// slowly, so a server that handled a burst of logins would otherwise
	// hold tens of MiB it no longer needs.
	ReleaseAfter time.Duration
}

// DefaultMemoryBudgetKiB caps the memory hashing may hold at once when
// Options.MaxConcurrent is zero: 64 MiB, three hashes at the OWASP baseline
// of 19 MiB. A server with many cores must not need gigabytes just to
// survive a login flood: the garbage collector lets the heap grow to about
// twice what is live, so three hashes already cost some 115 MiB of RSS
// under a flood, and 1,000 concurrent logins peak at 180 MiB (see
// docs/PERFORMANCE.md). Set MaxConcurrent for more throughput.
const DefaultMemoryBudgetKiB = 64 << 10

// dummySalt is the fixed salt of Dummy. It need not be secret or random:
// the result is thrown away.
var dummySalt = []byte("gatehouse-dummy!")

// Hasher hashes and verifies passwords with argon2id through a bounded pool.
//
// Each argon2id computation allocates Params.MemoryKiB, so an unbounded
// number of concurrent logins would exhaust memory. A Hasher runs at most
// MaxConcurrent computations, lets at most MaxQueue callers wait, and
// refuses everyone else at once with ErrOverloaded rather than letting a
// flood pile up. A Hasher is safe for concurrent use.
type Hasher struct {
	params  Params
	slots   chan struct{} // semaphore: a send takes a slot, a receive frees it
	max     int           // of waiters
	timeout time.Duration
	running atomic.Int64
	queued  atomic.Int64

	acquired atomic.Uint64 // slots taken
	rejected atomic.Uint64 // callers refused with ErrOverloaded
	waited   atomic.Int64  // nanoseconds spent waiting for slots

	// holding, if set by a test, is called while a slot is held, before
	// hashing, so tests can keep a slot busy deterministically.
	holding func()

	releaseAfter time.Duration
	releasing    atomic.Bool // a release is scheduled
}

// Stats are a Hasher's current load, for metrics.
type Stats struct {
	Running int // hashes holding a slot
	Queued  int // callers waiting for a slot
}

// Totals are what a Hasher's pool has done since it was made, for metrics:
// the slots taken, the callers refused with ErrOverloaded, and the time
// callers spent waiting for a slot, given or not, so that Waited /
// (Acquired + Rejected) is the mean wait.
type Totals struct {
	Acquired, Rejected uint64
	Waited             time.Duration
}

// NewHasher returns a Hasher configured by o. It panics if o.Params is not
// valid (see Params.Validate); callers taking parameters from configuration
// should validate them first.
func NewHasher(o Options) *Hasher {
	if o.Params == (Params{}) {
		o.Params = DefaultParams()
	}
	if err := o.Params.Validate(); err != nil {
		panic(err)
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = max(1, min(runtime.NumCPU(), DefaultMemoryBudgetKiB/int(o.Params.MemoryKiB)))
	}
	switch {
	case o.MaxQueue == 0:
		o.MaxQueue = 64 * o.MaxConcurrent
	case o.MaxQueue < 0:
		o.MaxQueue = 0
	}
	if o.QueueTimeout <= 0 {
		o.QueueTimeout = 5 * time.Second
	}
	if o.ReleaseAfter == 0 {
		o.ReleaseAfter = time.Second
	}
	return &Hasher{
		params:       o.Params,
		slots:        make(chan struct{}, o.MaxConcurrent),
		max:          o.MaxQueue,
		timeout:      o.QueueTimeout,
		releaseAfter: o.ReleaseAfter,
	}
}

// Params returns the parameters h uses for new hashes.
func (h *Hasher) Params() Params { return h.params }

// Stats returns h's current load.
func (h *Hasher) Stats() Stats {
	return Stats{Running: int(h.running.Load()), Queued: int(h.queued.Load())}
}

// Totals returns what h's pool has done since h was made.
func (h *Hasher) Totals() Totals {
	return Totals{Acquired: h.acquired.Load(), Rejected: h.rejected.Load(), Waited: time.Duration(h.waited.Load())}
}

// Capacity returns the bounds of h's pool: how many hashes run at once
// and how many callers may wait.
func (h *Hasher) Capacity() (concurrent, queue int) { return cap(h.slots), h.max }

// Hash hashes pw with a fresh random salt and returns the PHC string.
// It does not limit the length of pw: check new passwords with Rules first.
// The error, if any, wraps ErrOverloaded.
func (h *Hasher) Hash(ctx context.Context, pw []byte) (string, error) {
	salt := make([]byte, SaltLen)
	rand.Read(salt) // never returns an error: it crashes the program instead
	var key []byte
	err := h.do(ctx, func() { key = idKey(pw, salt, h.params, KeyLen) })
	if err != nil {
		return "", err
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether pw matches the PHC string encoded, comparing keys
// in constant time. The hash is computed with the parameters stored in
// encoded, which come from the store and not from the client. If ok, rehash
// reports whether encoded differs in parameters, salt length or key length
// from what Hash would write now, so the caller should store a new hash.
// The error wraps ErrMalformedHash or ErrOverloaded.
func (h *Hasher) Verify(ctx context.Context, pw []byte, encoded string) (ok, rehash bool, err error) {
	p, salt, key, err := ParsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	var got []byte
	if err := h.do(ctx, func() { got = idKey(pw, salt, p, uint32(len(key))) }); err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != h.params || len(salt) != SaltLen || len(key) != KeyLen, nil
}

// Dummy does the work of a Verify against a hash made with h's parameters
// and throws the result away. Call it when a login names an unknown user, so
// that the reply takes as long as for a known one and its timing does not
// tell an attacker which accounts exist. The error wraps ErrOverloaded.
func (h *Hasher) Dummy(ctx context.Context, pw []byte) error {
	return h.do(ctx, func() { idKey(pw, dummySalt, h.params, KeyLen) })
}

// idKey runs argon2id.
func idKey(pw, salt []byte, p Params, keyLen uint32) []byte {
	return argon2.IDKey(pw, salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
}

// do runs f while holding a slot of the pool.
func (h *Hasher) do(ctx context.Context, f func()) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	if h.holding != nil {
		h.holding()
	}
	f()
	return nil
}

// acquire takes a slot, waiting for one if fewer than h.max callers already
// wait.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		h.rejected.Add(1)
		return fmt.Errorf("%w: %w", ErrOverloaded, err)
	}
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		h.acquired.Add(1)
		return nil
	default:
	}
	// Refuse at once when the queue is full: a waiter costs only a
	// goroutine, but an unbounded queue turns a flood into ever longer waits
	// for everyone.
	if h.queued.Add(1) > int64(h.max) {
		h.queued.Add(-1)
		h.rejected.Add(1)
		return ErrOverloaded
	}
	defer h.queued.Add(-1)
	start := time.Now()
	defer func() { h.waited.Add(int64(time.Since(start))) }()
	t := time.NewTimer(h.timeout)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		h.acquired.Add(1)
		return nil
	case <-t.C:
		h.rejected.Add(1)
		return fmt.Errorf("%w: no slot within %v", ErrOverloaded, h.timeout)
	case <-ctx.Done():
		h.rejected.Add(1)
		return fmt.Errorf("%w: %w", ErrOverloaded, ctx.Err())
	}
}

// release frees the slot taken by acquire. The last one out of a busy pool
// schedules the return of the hashing memory.
func (h *Hasher) release() {
	h.running.Add(-1)
	<-h.slots
	if h.releaseAfter > 0 && h.idle() && h.releasing.CompareAndSwap(false, true) {
		time.AfterFunc(h.releaseAfter, h.releaseMemory)
	}
}

func (h *Hasher) idle() bool { return h.running.Load() == 0 && h.queued.Load() == 0 }

// releaseMemory hands the memory of finished hashes back to the operating
// system, if the pool is still idle; otherwise the next release schedules
// it again. It costs one garbage collection, at most once per releaseAfter
// and only after hashing stopped.
func (h *Hasher) releaseMemory() {
	h.releasing.Store(false)
	if h.idle() {
		debug.FreeOSMemory()
	}
}
