package h1

import (
	"context"
	"crypto/tls"
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
			Handler:           withTLS(h),
			ReadHeaderTimeout: 15 * time.Second,
			IdleTimeout:       75 * time.Second,
			// MaxHeaderBytes is net/http's default, 1 MiB: what a Go web
			// server accepts is what the site accepts (only requests the
			// proxy's own parser let through, or all of them under
			// --probe-resistance, reach it).
			ConnContext: tlsContext,
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

type tlsKey struct{}

// tlsContext finds the TLS under a conn handed over with replayed bytes,
// which net/http does not see (it only knows a *tls.Conn itself).
func tlsContext(ctx context.Context, c net.Conn) context.Context {
	for {
		if tc, ok := c.(*tls.Conn); ok {
			st := tc.ConnectionState()
			return context.WithValue(ctx, tlsKey{}, &st)
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return ctx
		}
		c = u.NetConn()
	}
}

// withTLS gives the site's requests their r.TLS, as if net/http had
// accepted the TLS conn itself.
func withTLS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st, ok := r.Context().Value(tlsKey{}).(*tls.ConnectionState); ok && r.TLS == nil {
			r.TLS = st
		}
		h.ServeHTTP(w, r)
	})
}
