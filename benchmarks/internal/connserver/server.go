// Package connserver is the accept side of the load tools' TCP origins
// (benchmarks/loadgen and benchmarks/soak). The origins speak different
// protocols, but both must survive running out of file descriptors
// without spinning on the core they share with the client, and both must
// be able to end a run while a proxy still holds tunnels open. That part
// lives here once: a loop that hands every connection to a goroutine of
// its own and a set of the open connections that Close drops.
package connserver

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// acceptRetry is the pause after a failed Accept (EMFILE and the like):
// the client side reports the failures, the origin must keep going.
const acceptRetry = 5 * time.Millisecond

// Options tunes a Server; the zero value accepts as fast as connections
// come and has no hooks.
type Options struct {
	// Every paces the accepts: one connection per Every (0: as fast as
	// they come), for an origin that is meant to be slow.
	Every time.Duration
	// OnOpen is called for a connection once it is in the set, before
	// its handler starts; OnClose once it is closed and out of the set.
	// Both run with the server's lock held, so that what they record
	// about a connection changes together with the set (and Close cannot
	// slip in between); they must not call back into the Server.
	OnOpen, OnClose func(net.Conn)
}

// Server accepts connections on a listener and serves each with a
// handler, keeping track of the open ones.
type Server struct {
	ln       net.Listener
	opts     Options
	accepted atomic.Int64
	wg       sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

// New wraps ln; nothing is accepted before Serve.
func New(ln net.Listener, opts Options) *Server {
	return &Server{ln: ln, opts: opts, conns: make(map[net.Conn]struct{})}
}

// Serve starts accepting in the background and runs handle on a
// goroutine of its own for every connection. The connection is closed
// when handle returns.
func (s *Server) Serve(handle func(net.Conn)) {
	s.wg.Add(1)
	go s.acceptLoop(handle)
}

// Addr is the listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Accepted is how many connections Accept returned so far.
func (s *Server) Accepted() int64 { return s.accepted.Load() }

// Closed reports whether Close was called.
func (s *Server) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Close stops accepting, closes every open connection, so that a run
// always ends even when a proxy holds tunnels open, and waits for the
// handlers to return.
func (s *Server) Close() {
	s.mu.Lock()
	s.done = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

func (s *Server) acceptLoop(handle func(net.Conn)) {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if s.Closed() {
				return
			}
			// EMFILE and the like: keep going, without spinning on the
			// core the origin shares with the client.
			time.Sleep(acceptRetry)
			continue
		}
		s.accepted.Add(1)
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go s.serve(c, handle)
		if s.opts.Every > 0 {
			time.Sleep(s.opts.Every)
		}
	}
}

func (s *Server) serve(c net.Conn, handle func(net.Conn)) {
	defer s.wg.Done()
	defer s.untrack(c)
	defer c.Close()
	handle(c)
}

// track adds c to the set; false once the server is closed.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	s.conns[c] = struct{}{}
	if s.opts.OnOpen != nil {
		s.opts.OnOpen(c)
	}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.opts.OnClose != nil {
		s.opts.OnClose(c)
	}
	s.mu.Unlock()
}
