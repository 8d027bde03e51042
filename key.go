package gatehouse

import (
	"context"
	"time"
)

// Key states. A key is published in the JWKS while next, active or retired,
// signs only while active, and is deleted once every token it signed expired.
const (
	KeyNext    = "next"
	KeyActive  = "active"
	KeyRetired = "retired"
)

// KeyRecord is a signing key as stored. The private part is sealed with
// AES-256-GCM under the master key, so a copy of the database alone does not
// let anyone mint tokens.
type KeyRecord struct {
	ID          string
	Algorithm   string
	State       string
	Sealed      []byte // nonce || AES-GCM(private key), kid as additional data
	CreatedAt   time.Time
	ActivatedAt time.Time // zero until active
	RetiredAt   time.Time // zero until retired
}

// KeyStore persists signing keys.
type KeyStore interface {
	// CreateKey inserts k. It returns ErrConflict when the id exists.
	CreateKey(ctx context.Context, k *KeyRecord) error
	// Keys returns every stored key, oldest first.
	Keys(ctx context.Context) ([]*KeyRecord, error)
	// UpdateKeyState sets a key's state and its ActivatedAt/RetiredAt times.
	// It returns ErrNotFound.
	UpdateKeyState(ctx context.Context, k *KeyRecord) error
	// SwapKeyState is UpdateKeyState as a compare-and-swap: it changes the
	// key only while its stored state is from, so that two instances (or an
	// instance and an operator) acting on what they read a moment ago can
	// never move a key backwards, say a retired key back to active. It
	// returns ErrConflict when the stored state is not from, ErrNotFound
	// when the key does not exist.
	SwapKeyState(ctx context.Context, k *KeyRecord, from string) error
	// DeleteKey removes a key. It returns ErrNotFound.
	DeleteKey(ctx context.Context, id string) error
}
