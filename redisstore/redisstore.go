// Package redisstore keeps the state that several Gatehouse instances must
// share within a second in Redis: login throttling counters (Limiter) and
// the feed of session revocations (Broker).
//
// Every call is bounded by a short deadline (Options.Timeout) and every
// failure to reach Redis is reported as gatehouse.ErrUnavailable, so an
// outage makes logins fail closed with 503 instead of hanging or letting
// attempts through uncounted. The client reconnects by itself when Redis
// returns. Keys and the channel carry a prefix (Options.Prefix), so that one
// Redis can serve several deployments.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key and channel name when Options.Prefix is empty.
const DefaultPrefix = "gatehouse:"

// DefaultTimeout bounds a call when Options.Timeout is zero. Redis answers
// in well under a millisecond; a call that takes a second is an outage.
const DefaultTimeout = time.Second

// Options tune a Client. The zero value is usable.
type Options struct {
	// Prefix starts every key and channel name (default DefaultPrefix).
	// Instances that must share counters and revocations use the same one.
	Prefix string
	// Timeout bounds every call (default DefaultTimeout). A caller's
	// earlier deadline wins.
	Timeout time.Duration
}

// Client is a connection pool to one Redis server. It is safe for
// concurrent use.
type Client struct {
	rdb     *redis.Client
	prefix  string
	timeout time.Duration
}

// Open connects to the Redis server at url (redis://[user:password@]host:port/db,
// or rediss:// for TLS) and checks that it answers. A server that does
// not answer is an error matching gatehouse.ErrUnavailable.
func Open(ctx context.Context, url string, opts Options) (*Client, error) {
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore: invalid Redis URL: %w", err)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	// Fail fast rather than queue behind retries: the caller's deadline,
	// not the client's defaults (seconds of dialling and backing off),
	// decides how long a request waits.
	ro.ContextTimeoutEnabled = true
	ro.DialTimeout = opts.Timeout
	ro.ReadTimeout = opts.Timeout
	ro.WriteTimeout = opts.Timeout
	ro.PoolTimeout = opts.Timeout
	ro.DialerRetries = 1
	// One retry covers a pooled connection that died with a restarted
	// server; more would only stretch an outage.
	ro.MaxRetries = 1
	ro.DisableIdentity = true
	c := &Client{rdb: redis.NewClient(ro), prefix: opts.Prefix, timeout: opts.Timeout}
	if err := c.Ping(ctx); err != nil {
		c.rdb.Close()
		return nil, err
	}
	return c, nil
}

// Ping reports whether Redis answers. It returns an error matching
// gatehouse.ErrUnavailable when it does not.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	return wrap("ping", c.rdb.Ping(ctx).Err())
}

// Close closes the connections.
func (c *Client) Close() error {
	return c.rdb.Close()
}

// bound gives a call its deadline: the client's timeout, or the caller's
// deadline if that comes first.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// wrap prefixes err with the operation. Every failure of a call to Redis,
// from a refused connection to a timeout or a server that is loading or
// read-only, means the shared state cannot be used now: it matches
// gatehouse.ErrUnavailable. Only the caller giving up is left as it is.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return fmt.Errorf("redisstore: %s: %w: %w", op, gatehouse.ErrUnavailable, err)
}
