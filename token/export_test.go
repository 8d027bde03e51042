package token

import "time"

// VerifyClaimsOnly runs only step 4 of Verify, the strict payload checks, on
// the payload segment of raw. Tests use it to show that this layer rejects on
// its own what golang-jwt also rejects: two independent parsers must both
// agree before a token is accepted.
func (v *Verifier) VerifyClaimsOnly(raw string) (Claims, error) {
	if err := v.configError(); err != nil {
		return Claims{}, err
	}
	dot1, dot2, err := checkShape(raw, v.maxLength())
	if err != nil {
		return Claims{}, err
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	return v.claims(raw[dot1+1:dot2], now())
}

// Forget drops raw from the cache, so that a benchmark can present the same
// token as a first-seen one again.
func (c *Cache) Forget(raw string) {
	sh := &c.shards[c.shard(raw)]
	sh.mu.Lock()
	delete(sh.m, raw)
	sh.mu.Unlock()
}
