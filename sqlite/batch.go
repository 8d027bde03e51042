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

// maxBatch bounds the rotations one transaction carries.
const maxBatch = 256

type rotationBatcher struct {
	mu      sync.Mutex
	pending []*rotationReq
	running bool // a batch is being committed; new rotations wait for the next
}

type rotationReq struct {
	ctx  context.Context
	r    gatehouse.Rotation
	done chan error
}

// rotate queues r and waits for the commit that carries it. The caller
// that finds no batch running commits the queue itself; the one whose
// batch leaves rotations queued hands the next batch to a new goroutine,
// so that no caller commits other callers' rotations for longer than one
// batch.
func (db *DB) rotate(ctx context.Context, r gatehouse.Rotation) error {
	req := &rotationReq{ctx: ctx, r: r, done: make(chan error, 1)}
	b := &db.rotations
	b.mu.Lock()
	b.pending = append(b.pending, req)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead {
		db.commitRotations()
	}
	// Once a rotation is in a transaction its caller waits for the commit
	// even if ctx ends meanwhile: answering early would tell a client its
	// refresh failed when it may have been committed.
	return <-req.done
}

// commitRotations commits one batch from the queue.
func (db *DB) commitRotations() {
	b := &db.rotations
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
	go db.commitRotations()
}

// commitBatch applies every rotation of batch in one write transaction and
// answers each.
func (db *DB) commitBatch(batch []*rotationReq) {
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
	update, err := db.txStmt(ctx, tx, `UPDATE sessions
		SET generation = ? + 1, refresh_hash = ?, last_used_at = ?, rotated_at = ?
		WHERE id = ? AND generation = ? AND revoked_at IS NULL`)
	if err != nil {
		answer(err)
		return
	}
	insert, err := db.txStmt(ctx, tx, `INSERT INTO refresh_tokens (hash, session_id, generation) VALUES (?, ?, ?)`)
	if err != nil {
		answer(err)
		return
	}
	// Alone in its transaction a rotation needs no savepoint: if it
	// fails, the transaction is rolled back, as it always was.
	alone := len(batch) == 1
	exec := func(query string) error {
		st, err := db.txStmt(ctx, tx, query)
		if err == nil {
			_, err = st.ExecContext(ctx)
		}
		return err
	}
	applied := 0
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			errs[i] = err // never started, as if it had not got its turn
			continue
		}
		if !alone {
			if err := exec(`SAVEPOINT rotation`); err != nil {
				answer(err)
				return
			}
		}
		errs[i] = rotateIn(ctx, update, insert, req.r)
		if errs[i] == nil {
			applied++
		}
		if alone {
			continue
		}
		if errs[i] != nil {
			if err := exec(`ROLLBACK TO rotation`); err != nil {
				answer(err)
				return
			}
		}
		if err := exec(`RELEASE rotation`); err != nil {
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

// rotateIn is one rotation: the compare-and-swap UPDATE, then the record
// of the new token.
func rotateIn(ctx context.Context, update, insert *sql.Stmt, r gatehouse.Rotation) error {
	now := micros(r.Now)
	err := notFoundIfNone(update.ExecContext(ctx, r.From, r.NewHash, now, now, r.SessionID, r.From))
	if errors.Is(err, sql.ErrNoRows) {
		return errConflict
	} else if err != nil {
		return err
	}
	_, err = insert.ExecContext(ctx, r.NewHash, r.SessionID, r.From+1)
	return err
}
