package token

import (
	"testing"
)

// TestVerificationKeyType covers the keyfunc half of A-05: the key handed to
// golang-jwt for an asymmetric algorithm is never a []byte, so even a token
// that got past the alg check could not be verified as an HMAC over public
// key bytes (golang-jwt's HMAC Verify demands []byte).
func TestVerificationKeyType(t *testing.T) {
	for _, alg := range []string{EdDSA, ES256, RS256, HS256} {
		t.Run("A-05_"+alg, func(t *testing.T) {
			k, err := GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			for _, partial := range []*Key{
				k,
				{ID: k.ID, Algorithm: alg, Public: k.Public},
				{ID: k.ID, Algorithm: alg, Private: k.Private},
			} {
				vk, err := partial.verificationKey()
				if err != nil {
					t.Fatalf("verificationKey: %v", err)
				}
				if _, isBytes := vk.([]byte); isBytes != (alg == HS256) {
					t.Errorf("verificationKey() is %T, want []byte only for HS256", vk)
				}
			}
		})
	}
}
