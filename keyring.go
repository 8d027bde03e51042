package gatehouse

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/token"
)

// MasterKeySize is the length of the key that seals private signing keys.
const MasterKeySize = 32

// ErrMasterKey is returned when a stored key cannot be opened with the master
// key given: the key is wrong, or the data was tampered with. Gatehouse never
// answers this by generating a new key, which would silently log everyone out
// and hide the misconfiguration.
var ErrMasterKey = errors.New("gatehouse: wrong master key: cannot decrypt stored signing keys")

// Keyring holds the signing keys loaded from the store and decrypted. It is
// the token.KeySet the verifier looks keys up in, by kid only.
type Keyring struct {
	store     KeyStore
	aead      cipher.AEAD
	algorithm string
	now       func() time.Time

	mu       sync.Mutex // serialises Load and changes
	state    atomic.Pointer[keyringState]
	schedule atomic.Pointer[KeySchedule]
	// lastKidReload is when (k.now, in Unix nanoseconds) a token naming an
	// unknown kid last made the keyring reload; see VerificationKey.
	lastKidReload atomic.Int64
	// recorder receives EventKeyRotated; set by NewService.
	recorder atomic.Pointer[func(context.Context, Event)]
}

// setRecorder makes the keyring report each key it activates to record.
func (k *Keyring) setRecorder(record func(context.Context, Event)) {
	k.recorder.Store(&record)
}

// recordActivation reports that key id now signs.
func (k *Keyring) recordActivation(ctx context.Context, id string) {
	if r := k.recorder.Load(); r != nil {
		(*r)(ctx, Event{Name: EventKeyRotated, KeyID: id, Outcome: "success", Reason: "activated"})
	}
}

type keyringState struct {
	byID   map[string]*token.Key
	active *token.Key
	recs   []*KeyRecord
}

// NewKeyring returns a keyring over store, sealing with masterKey, creating
// keys of algorithm when it needs one.
func NewKeyring(store KeyStore, masterKey []byte, algorithm string, now func() time.Time) (*Keyring, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("gatehouse: master key must be %d bytes, got %d", MasterKeySize, len(masterKey))
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	k := &Keyring{store: store, aead: aead, algorithm: algorithm, now: now}
	k.state.Store(&keyringState{byID: map[string]*token.Key{}})
	k.schedule.Store(&KeySchedule{})
	return k, nil
}

// Load reads every key from the store and decrypts it. A key that does not
// decrypt is ErrMasterKey.
func (k *Keyring) Load(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.loadLocked(ctx)
}

func (k *Keyring) loadLocked(ctx context.Context) error {
	recs, err := k.store.Keys(ctx)
	if err != nil {
		return fmt.Errorf("gatehouse: load keys: %w", err)
	}
	st := &keyringState{byID: make(map[string]*token.Key, len(recs)), recs: recs}
	var activeRec *KeyRecord
	for _, r := range recs {
		der, err := k.open(r)
		if err != nil {
			return fmt.Errorf("%w (key %s)", ErrMasterKey, r.ID)
		}
		key, err := token.ParsePrivate(r.Algorithm, der, r.ID)
		if err != nil {
			return fmt.Errorf("gatehouse: key %s: %w", r.ID, err)
		}
		st.byID[r.ID] = key
		// The newest active key signs; older active keys (two instances
		// that both created one) still verify.
		if r.State == KeyActive && (activeRec == nil || !r.ActivatedAt.Before(activeRec.ActivatedAt)) {
			activeRec, st.active = r, key
		}
	}
	k.state.Store(st)
	return nil
}

// EnsureActive loads the keys and, when none is active, creates and stores
// one, so that the first start of a server has a key to sign with.
func (k *Keyring) EnsureActive(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadLocked(ctx); err != nil {
		return err
	}
	if k.state.Load().active != nil {
		return nil
	}
	if _, err := k.addLocked(ctx, nil, KeyActive, k.now()); err != nil {
		return err
	}
	return k.loadLocked(ctx)
}

// Add stores key (a new one of the keyring's algorithm when nil) in state.
func (k *Keyring) Add(ctx context.Context, key *token.Key, state string) (*KeyRecord, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	rec, err := k.addLocked(ctx, key, state, k.now())
	if err != nil {
		return nil, err
	}
	return rec, k.loadLocked(ctx)
}

func (k *Keyring) addLocked(ctx context.Context, key *token.Key, state string, now time.Time) (*KeyRecord, error) {
	if key == nil {
		var err error
		if key, err = token.GenerateKey(k.algorithm); err != nil {
			return nil, err
		}
	}
	if err := key.Validate(); err != nil {
		return nil, err
	}
	der, err := token.MarshalPrivate(key)
	if err != nil {
		return nil, err
	}
	now = now.UTC()
	rec := &KeyRecord{ID: key.ID, Algorithm: key.Algorithm, State: state, CreatedAt: now}
	switch state {
	case KeyNext:
	case KeyActive:
		rec.ActivatedAt = now
	case KeyRetired:
		rec.RetiredAt = now
	default:
		return nil, fmt.Errorf("gatehouse: unknown key state %q", state)
	}
	if rec.Sealed, err = k.seal(rec.ID, der); err != nil {
		return nil, err
	}
	if err := k.store.CreateKey(ctx, rec); err != nil {
		return nil, fmt.Errorf("gatehouse: store key: %w", err)
	}
	return rec, nil
}

// VerificationKey returns the key with the given kid. It implements token.KeySet.
//
// A kid this instance does not hold may be a key another instance has just
// created and activated (gatehouse keys rotate, or import --activate), so a
// miss reloads the keys from the store, but at most once per
// kidReloadInterval: a flood of tokens with made-up kids costs the store
// one read per interval, not one per token.
func (k *Keyring) VerificationKey(kid string) (*token.Key, bool) {
	if key, ok := k.state.Load().byID[kid]; ok {
		return key, true
	}
	if !k.claimKidReload() {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := k.Load(ctx); err != nil {
		return nil, false
	}
	key, ok := k.state.Load().byID[kid]
	return key, ok
}

// kidReloadInterval is the least time between two reloads caused by
// unknown kids.
const kidReloadInterval = 10 * time.Second

func (k *Keyring) claimKidReload() bool {
	now := k.now().UnixNano()
	last := k.lastKidReload.Load()
	if last != 0 && now-last < int64(kidReloadInterval) && now >= last {
		return false
	}
	return k.lastKidReload.CompareAndSwap(last, now)
}

// SigningKey returns the active key, or nil when there is none.
func (k *Keyring) SigningKey() *token.Key { return k.state.Load().active }

// Records returns the stored records as last loaded.
func (k *Keyring) Records() []*KeyRecord { return k.state.Load().recs }

// PublicJWKs returns the public JWKs of every asymmetric key held. Symmetric
// (HS256) keys are never published.
func (k *Keyring) PublicJWKs() []map[string]any {
	st := k.state.Load()
	out := []map[string]any{}
	for _, r := range st.recs {
		if jwk, ok := st.byID[r.ID].JWK(); ok {
			out = append(out, jwk)
		}
	}
	return out
}

func (k *Keyring) seal(kid string, plain []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, plain, []byte(kid)), nil
}

func (k *Keyring) open(r *KeyRecord) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(r.Sealed) < ns {
		return nil, errors.New("sealed key too short")
	}
	return k.aead.Open(nil, r.Sealed[:ns], r.Sealed[ns:], []byte(r.ID))
}
