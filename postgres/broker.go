package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/jackc/pgx/v5"
)

// Channel is the LISTEN/NOTIFY channel revocations travel on.
const Channel = "gatehouse_revocations"

// keepalive is how long Listen waits in silence before it checks that its
// connection still works: a server that vanished without closing the
// connection would otherwise leave it waiting forever.
const keepalive = 15 * time.Second

// Broker carries session revocations between Gatehouse instances sharing a
// database, over LISTEN/NOTIFY, for deployments without Redis. It
// implements gatehouse.RevocationBroker. A revocation missed while a
// listener was disconnected is not replayed; the store poll
// (gatehouse.Service.Run) catches it up.
type Broker struct {
	db *DB
}

var _ gatehouse.RevocationBroker = (*Broker)(nil)

// Broker returns a revocation broker over db's database.
func (db *DB) Broker() *Broker { return &Broker{db: db} }

// message is the JSON payload of a notification.
type message struct {
	SessionID string    `json:"session_id"`
	RevokedAt time.Time `json:"revoked_at"`
}

// Publish announces r to every listening instance. It returns an error
// matching gatehouse.ErrUnavailable when the database cannot be reached.
func (b *Broker) Publish(ctx context.Context, r gatehouse.Revocation) error {
	payload, err := json.Marshal(message{SessionID: r.SessionID, RevokedAt: r.RevokedAt.UTC()})
	if err != nil {
		return err
	}
	ctx, cancel := b.db.bound(ctx)
	defer cancel()
	_, err = b.db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, string(payload))
	return wrap("publish revocation", err)
}

// Listen calls fn for every revocation published by any instance, on a
// connection of its own (outside the pool), until ctx ends (it then returns
// ctx.Err()) or the connection fails (it returns an error matching
// gatehouse.ErrUnavailable). A payload that is not a revocation is ignored:
// whoever can NOTIFY on the database could only end sessions with it, never
// start one.
func (b *Broker) Listen(ctx context.Context, fn func(gatehouse.Revocation)) error {
	cfg := b.db.pool.Config().ConnConfig
	cctx, cancel := b.db.bound(ctx)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err == nil {
		_, err = conn.Exec(cctx, `LISTEN `+Channel)
	}
	cancel()
	if conn != nil {
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			conn.Close(closeCtx)
		}()
	}
	if err != nil {
		return wrap("listen", err)
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, keepalive)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(wctx.Err(), context.DeadlineExceeded) && err != nil {
			// Silence: make sure the connection is still there.
			pctx, cancel := b.db.bound(ctx)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return wrap("listen", err)
			}
			continue
		}
		if err != nil {
			return wrap("listen", err)
		}
		var m message
		if json.Unmarshal([]byte(n.Payload), &m) != nil || m.SessionID == "" || m.RevokedAt.IsZero() {
			continue
		}
		fn(gatehouse.Revocation{SessionID: m.SessionID, RevokedAt: m.RevokedAt.UTC()})
	}
}
