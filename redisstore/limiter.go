package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/redis/go-redis/v9"
)

// Limiter counts attempts per key in fixed windows, in Redis, with the
// semantics of throttle.Memory, so that every instance sharing the Redis
// (and the prefix) shares the counts. It implements gatehouse.Limiter.
type Limiter struct {
	c *Client
}

var _ gatehouse.Limiter = (*Limiter)(nil)

// Limiter returns the shared limiter.
func (c *Client) Limiter() *Limiter { return &Limiter{c: c} }

// hitScript counts one attempt, atomically: Redis runs a script to the end
// before any other command, so a parallel burst from several instances is
// counted exactly, and at most limit attempts of a window get through. The
// window starts with its first attempt (PEXPIRE on the first INCR). As in
// throttle.Memory, attempts beyond limit+1 are not counted, so Undo after
// a refused attempt cannot open the door early. A count without an expiry,
// which only a crash between INCR and PEXPIRE could leave, is given one
// rather than blocking the key for ever.
//
// KEYS[1] counter; ARGV[1] limit; ARGV[2] window in ms.
// Returns {1, 0} when the attempt may proceed, {0, ms to wait} when not.
var hitScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= limit then
	n = redis.call('INCR', KEYS[1])
	if n == 1 then
		redis.call('PEXPIRE', KEYS[1], ARGV[2])
	end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	ttl = tonumber(ARGV[2])
end
if n > limit then
	return {0, ttl}
end
return {1, 0}
`)

// undoScript takes back one attempt, never below zero and never creating a
// key (a DECR would create one without an expiry).
var undoScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
	redis.call('DECR', KEYS[1])
end
return 0
`)

// Hit counts one attempt for key. Once more than limit attempts fall in the
// window that started with the first, it reports false and how long until
// the window ends. When Redis cannot be reached it returns an error
// matching gatehouse.ErrUnavailable; the service then refuses the attempt.
func (l *Limiter) Hit(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	ctx, cancel := l.c.bound(ctx)
	defer cancel()
	ms := max(window.Milliseconds(), 1)
	res, err := hitScript.Run(ctx, l.c.rdb, []string{l.key(key)}, limit, ms).Int64Slice()
	if err != nil {
		return false, 0, wrap("hit", err)
	}
	if len(res) != 2 {
		return false, 0, wrap("hit", redis.Nil)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(res[1]) * time.Millisecond, nil
}

// Undo takes back one attempt for key, for an attempt that turned out to succeed.
func (l *Limiter) Undo(ctx context.Context, key string) error {
	ctx, cancel := l.c.bound(ctx)
	defer cancel()
	return wrap("undo", undoScript.Run(ctx, l.c.rdb, []string{l.key(key)}).Err())
}

// Reset forgets every attempt for key.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	ctx, cancel := l.c.bound(ctx)
	defer cancel()
	return wrap("reset", l.c.rdb.Del(ctx, l.key(key)).Err())
}

// key names the counter of a limiter key. The key is hashed: throttle keys
// hold email addresses, which have no business in a cache's memory or in
// MONITOR output, and the hash bounds the length of what an attacker can
// make Redis store.
func (l *Limiter) key(k string) string {
	h := sha256.Sum256([]byte(k))
	return l.c.prefix + "throttle:" + base64.RawURLEncoding.EncodeToString(h[:])
}
