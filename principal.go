package gatehouse

import (
	"context"
	"time"
)

// Principal is the authenticated caller of a request, taken from a verified
// access token whose session is alive.
type Principal struct {
	UserID    string
	SessionID string
	TokenID   string
	Email     string
	ExpiresAt time.Time // when the access token expires
}

type principalKey struct{}

// NewContextWithPrincipal returns a context carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal of the request, if any.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
