package h1

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// siteServer serves the web site to conns handed over from the event loop:
// requests that are not for the proxy get what an ordinary web server sends,
// from net/http, keep-alive and all.
type siteServer struct {
	once sync.Once
	ln   *handoffListener
	srv  *http.Server
}

func (s *siteServer) serve(h http.Handler, nc net.Conn) {
	s.once.Do(func() {
		s.ln = &handoffListener{ch: make(chan net.Conn), done: make(chan struct{})}
		s.srv = &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 15 * time.Second,
			IdleTimeout:       75 * time.Second,
			MaxHeaderBytes:    64 << 10,
		}
		go func() { _ = s.srv.Serve(s.ln) }()
	})
	select {
	case s.ln.ch <- nc:
	case <-s.ln.done:
		_ = nc.Close()
	}
}

func (s *siteServer) close() {
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

// handoffListener is a net.Listener fed by the front end instead of accept.
type handoffListener struct {
	ch        chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return &net.TCPAddr{} }
