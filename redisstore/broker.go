package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/redis/go-redis/v9"
)

// keepalive is how long Listen waits in silence before it checks that its
// connection still works: a server that vanished without closing the
// connection would otherwise leave it waiting for ever.
const keepalive = 15 * time.Second

// Broker carries session revocations between Gatehouse instances over
// Redis PUBLISH/SUBSCRIBE. It implements gatehouse.RevocationBroker. Redis
// does not keep messages: a revocation published while a listener was
// disconnected is not replayed, and the store poll
// (gatehouse.Service.Run) catches it up.
type Broker struct {
	c *Client
}

var _ gatehouse.RevocationBroker = (*Broker)(nil)

// Broker returns the revocation broker.
func (c *Client) Broker() *Broker { return &Broker{c: c} }

// channel is the channel revocations travel on.
func (b *Broker) channel() string { return b.c.prefix + "revocations" }

// message is the JSON payload of a revocation.
type message struct {
	SessionID string    `json:"session_id"`
	RevokedAt time.Time `json:"revoked_at"`
}

// Publish announces r to every listening instance. It returns an error
// matching gatehouse.ErrUnavailable when Redis cannot be reached.
func (b *Broker) Publish(ctx context.Context, r gatehouse.Revocation) error {
	payload, err := json.Marshal(message{SessionID: r.SessionID, RevokedAt: r.RevokedAt.UTC()})
	if err != nil {
		return err
	}
	ctx, cancel := b.c.bound(ctx)
	defer cancel()
	return wrap("publish revocation", b.c.rdb.Publish(ctx, b.channel(), payload).Err())
}

// Listen calls fn for every revocation published by any instance until ctx
// ends (it then returns ctx.Err()) or the connection fails (it returns an
// error matching gatehouse.ErrUnavailable). A payload that is not a
// revocation is ignored: whoever can publish on the channel could only end
// sessions with it, never start one.
func (b *Broker) Listen(ctx context.Context, fn func(gatehouse.Revocation)) error {
	ps := b.c.rdb.Subscribe(ctx, b.channel())
	defer ps.Close()
	// A blocked read does not watch ctx; closing the subscription ends it.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()

	// The subscription is confirmed before anything else arrives.
	sctx, cancel := b.c.bound(ctx)
	_, err := ps.Receive(sctx)
	cancel()
	if err != nil {
		return b.listenErr(ctx, err)
	}
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, keepalive)
		var ne net.Error
		if err != nil && errors.As(err, &ne) && ne.Timeout() && !pinged && ctx.Err() == nil {
			// Silence: ask for a pong, which must come before the next
			// timeout.
			pctx, cancel := b.c.bound(ctx)
			err = ps.Ping(pctx)
			cancel()
			pinged = true
			if err == nil {
				continue
			}
		}
		if err != nil {
			return b.listenErr(ctx, err)
		}
		pinged = false
		m, ok := msg.(*redis.Message)
		if !ok {
			continue // a pong or a subscription notice
		}
		var r message
		if json.Unmarshal([]byte(m.Payload), &r) != nil || r.SessionID == "" || r.RevokedAt.IsZero() {
			continue
		}
		fn(gatehouse.Revocation{SessionID: r.SessionID, RevokedAt: r.RevokedAt.UTC()})
	}
}

func (b *Broker) listenErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return wrap("listen", err)
}
