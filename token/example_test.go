package token_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/token"
)

// oneKey is the smallest KeySet: a single key, found by its kid only.
type oneKey struct{ key *token.Key }

func (s oneKey) VerificationKey(kid string) (*token.Key, bool) {
	return s.key, kid == s.key.ID
}

func ExampleVerifier_Verify() {
	key, err := token.GenerateKey(token.DefaultAlgorithm)
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	raw, err := token.Sign(key, token.Claims{
		Issuer:    "https://auth.example.com",
		Subject:   "user-42",
		ID:        token.NewID(),
		SessionID: "session-7",
		Audience:  []string{"api"},
		IssuedAt:  now,
		ExpiresAt: now.Add(10 * time.Minute),
	})
	if err != nil {
		panic(err)
	}

	v := &token.Verifier{
		Keys:     oneKey{key},
		Issuer:   "https://auth.example.com",
		Audience: "api",
		MaxTTL:   10 * time.Minute,
		Leeway:   30 * time.Second,
		Now:      func() time.Time { return now.Add(time.Minute) },
	}
	claims, err := v.Verify(raw)
	fmt.Println(claims.Subject, claims.SessionID, err)

	// Eleven minutes later the token has expired. The error matches
	// ErrInvalid whatever the reason; its text is for the log only.
	v.Now = func() time.Time { return now.Add(11 * time.Minute) }
	_, err = v.Verify(raw)
	fmt.Println(errors.Is(err, token.ErrInvalid))
	// Output:
	// user-42 session-7 <nil>
	// true
}
