package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/gatehouse/gatehouse"
)

// Refresh rotations are the one write every active client makes every few
// minutes, and each must be durable before it is acknowledged
// (synchronous=FULL: an fsync of the WAL per commit). One transaction per
// rotation caps refreshes at one per fsync, about 750 a second on a disk
// that syncs in 1.3ms, however many clients wait. So rotations that arrive
// while another is committing are committed together: one transaction, one
// fsync, each rotation in a savepoint of its own so that it succeeds or
// fails exactly as it would alone, in arrival order, and none is answered
// before the commit that makes it durable has returned.
//
// The audit trail's appends join the same batches. Each refresh records an
// event, so a transaction of their own would take the write lock and pay a
// commit for every batch of events, as often as the rotations do.

// maxBatch bounds the writes one transaction carries.
const maxBatch = 256

type writeBatcher struct {
	mu      sync.Mutex
	pending []*writeReq
	running bool // a batch is being committed; new writes wait for the next
}

// writeReq is one write of a batch: apply runs it in the batch's
// transaction.
type writeReq struct {
	ctx   context.Context
	apply func(*batchTx) error
	done  chan error
}

// batchTx is the transaction a batch runs in. Its statements are prepared
// once per connection and bound to the transaction once per batch.
type batchTx struct {
	db    *DB
	ctx   context.Context
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

// exec runs query with args in the transaction.
func (b *batchTx) exec(query string, args ...any) (sql.Result, error) {
	st, ok := b.stmts[query]
	if !ok {
		var err error
		if st, err = b.db.txStmt(b.ctx, b.tx, query); err != nil {
			return nil, err
		}
		b.stmts[query] = st
	}
	return st.ExecContext(b.ctx, args...)
}

// batched queues apply and waits for the commit that carries it. The
// caller that finds no batch running commits the queue itself; the one
// whose batch leaves writes queued hands the next batch to a new
// goroutine, so that no caller commits other callers' writes for longer
// than one batch.
func (db *DB) batched(ctx context.Context, apply func(*batchTx) error) error {
	req := &writeReq{ctx: ctx, apply: apply, done: make(chan error, 1)}
	b := &db.batch
	b.mu.Lock()
	b.pending = append(b.pending, req)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead {
		db.commitQueued()
	}
	// Once a write is in a transaction its caller waits for the commit
	// even if ctx ends meanwhile: answering early would tell a client its
	// refresh failed when it may have been committed.
	return <-req.done
}

// commitQueued commits one batch from the queue.
func (db *DB) commitQueued() {
	b := &db.batch
	b.mu.Lock()
	n := min(len(b.pending), maxBatch)
	batch := b.pending[:n:n]
	b.pending = b.pending[n:]
	b.mu.Unlock()

	db.commitBatch(batch)

	b.mu.Lock()
	if len(b.pending) == 0 {
		b.pending = nil // let the backing array go
		b.running = false
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	go db.commitQueued()
}

// commitBatch applies every write of batch in one write transaction and
// answers each.
func (db *DB) commitBatch(batch []*writeReq) {
	errs := make([]error, len(batch))
	answer := func(commitErr error) {
		for i, req := range batch {
			if errs[i] == nil {
				errs[i] = commitErr
			}
			req.done <- errs[i]
		}
	}
	// The batch outlives any one caller's context: a caller that gave up
	// is skipped below, the others still need the commit.
	ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
	defer cancel()
	unlock, err := db.lockWrite(ctx)
	if err != nil {
		answer(err)
		return
	}
	defer unlock()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		answer(err)
		return
	}
	defer tx.Rollback()
	btx := &batchTx{db: db, ctx: ctx, tx: tx, stmts: make(map[string]*sql.Stmt, 4)}
	// Alone in its transaction a write needs no savepoint: if it fails,
	// the transaction is rolled back, as it always was.
	alone := len(batch) == 1
	exec := func(query string) error {
		_, err := btx.exec(query)
		return err
	}
	applied := 0
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			errs[i] = err // never started, as if it had not got its turn
			continue
		}
		if !alone {
			if err := exec(`SAVEPOINT batched`); err != nil {
				answer(err)
				return
			}
		}
		errs[i] = req.apply(btx)
		if errs[i] == nil {
			applied++
		}
		if alone {
			continue
		}
		if errs[i] != nil {
			if err := exec(`ROLLBACK TO batched`); err != nil {
				answer(err)
				return
			}
		}
		if err := exec(`RELEASE batched`); err != nil {
			answer(err)
			return
		}
	}
	if applied == 0 {
		answer(nil) // nothing to make durable
		return
	}
	answer(tx.Commit())
}

// rotate is one rotation, in its batch: the compare-and-swap UPDATE, then
// the record of the new token.
func (db *DB) rotate(ctx context.Context, r gatehouse.Rotation) error {
	return db.batched(ctx, func(b *batchTx) error {
		now := micros(r.Now)
		err := notFoundIfNone(b.exec(`UPDATE sessions
			SET generation = ? + 1, refresh_hash = ?, last_used_at = ?, rotated_at = ?
			WHERE id = ? AND generation = ? AND revoked_at IS NULL`,
			r.From, r.NewHash, now, now, r.SessionID, r.From))
		if errors.Is(err, sql.ErrNoRows) {
			return errConflict
		} else if err != nil {
			return err
		}
		_, err = b.exec(`INSERT INTO refresh_tokens (hash, session_id, generation) VALUES (?, ?, ?)`,
			r.NewHash, r.SessionID, r.From+1)
		return err
	})
}
