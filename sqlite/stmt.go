package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmts holds the prepared form of the hot read queries. Without it the
// driver parses and plans the SQL text again on every call: on the refresh
// path, which reads a session twice, its refresh record and its user, that
// was a fifth of the server's CPU. database/sql prepares a Stmt once per
// pooled connection it runs on.
type stmts struct {
	m sync.Map // query text -> *sql.Stmt
}

// queryRow is db.sql.QueryRowContext through a statement prepared once.
// If the statement cannot be prepared (the file is unreachable, ctx has
// ended) it runs the query unprepared, which reports the same error.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := db.stmt(ctx, query)
	if err != nil {
		return db.sql.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// stmt returns query prepared, preparing it on first use.
func (db *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := db.stmts.m.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := db.sql.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.m.LoadOrStore(query, s); loaded {
		s.Close()
		s = prev.(*sql.Stmt)
	}
	return s, nil
}

// txStmt returns query prepared, for use in tx; a connection that has
// prepared it before reuses it.
func (db *DB) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s, err := db.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, s), nil
}

// closeStmts closes the prepared statements, before the database is closed.
func (db *DB) closeStmts() {
	db.stmts.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		db.stmts.m.Delete(k)
		return true
	})
}
