package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// drainer tracks the connections a server has accepted but not yet read a
// request from (http.StateNew), so that a graceful shutdown can let them be
// read first.
//
// http.Server.Shutdown drops a connection whose request it reads after the
// shutdown began: net/http closes it without an answer. A request that was
// already on the wire when SIGTERM came, on a connection the server had
// just accepted, would fail with EOF although nothing was wrong with it. So
// serve stops accepting by closing the listener itself, waits until every
// accepted connection has had its request read (or a bound passes: a
// client may connect and send nothing, and an HTTP/2 connection never
// reports leaving StateNew, net/http skips the hook for it), and only then
// calls Shutdown, which waits for those requests to finish.
type drainer struct {
	mu    sync.Mutex
	fresh map[net.Conn]struct{}
}

func newDrainer() *drainer { return &drainer{fresh: make(map[net.Conn]struct{})} }

// connState is the http.Server.ConnState hook.
func (d *drainer) connState(c net.Conn, s http.ConnState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s == http.StateNew {
		d.fresh[c] = struct{}{}
	} else {
		delete(d.fresh, c)
	}
}

// wait returns once no accepted connection is waiting to have its first
// request read, or after max.
func (d *drainer) wait(max time.Duration) {
	for deadline := time.Now().Add(max); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		d.mu.Lock()
		n := len(d.fresh)
		d.mu.Unlock()
		if n == 0 {
			return
		}
	}
}
