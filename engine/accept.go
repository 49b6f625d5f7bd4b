package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// listener is one listening socket with engine's own accept loop. gnet's
// acceptor treats EMFILE as fatal and stops the whole engine; accepting
// ourselves lets us back off and carry on, then hand each conn to gnet.
type listener struct {
	e    *Engine
	spec ListenerSpec
	ln   *net.TCPListener

	mu     sync.Mutex
	closed bool
	reap   chan pending // registrations whose outcome is still unknown
}

type pending struct {
	c  *Conn
	ch <-chan gnet.RegisteredResult
}

func listen(e *Engine, spec ListenerSpec) (*listener, error) {
	if !e.cfg.Takeover {
		if err := checkFree(spec.Addr); err != nil {
			return nil, err
		}
	}
	// Without TCPKeepAlive, KeepAlive -1: four setsockopt calls per conn
	// saved; idle tunnels are ended by the idle timeout, as nginx does
	// without so_keepalive.
	lc := net.ListenConfig{KeepAlive: -1, KeepAliveConfig: e.keepAlive(), Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			// SO_REUSEPORT lets a new process take over (Config.Takeover)
			// while this one drains.
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp", spec.Addr)
	if err != nil {
		return nil, err
	}
	l := &listener{e: e, spec: spec, ln: ln.(*net.TCPListener), reap: make(chan pending, 1024)}
	go l.reaper()
	return l, nil
}

func (l *listener) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		_ = l.ln.Close()
	}
}

func (l *listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// acceptLoop accepts until the listener closes. On EMFILE/ENFILE it backs
// off (5 ms doubling to 1 s) and tries again, so the tunnels already open
// keep running and new ones are served once fds free up.
func (l *listener) acceptLoop() {
	e := l.e
	backoff := time.Duration(0)
	for {
		nc, err := l.ln.AcceptTCP()
		if err != nil {
			if l.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			e.stats.acceptErrors.Add(1)
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff < time.Second {
				backoff *= 2
			}
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				e.log.Warn().Err(err).Dur("backoff", backoff).Msg("accept: out of file descriptors")
			} else {
				e.log.Debug().Err(err).Msg("accept")
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if e.cfg.MaxConns > 0 && e.stats.active.Load() >= int64(e.cfg.MaxConns) {
			e.stats.rejected.Add(1)
			_ = nc.SetLinger(0)
			_ = nc.Close()
			continue
		}
		e.stats.accepted.Add(1)
		e.stats.active.Add(1)
		c := newConn(e, l, false)
		if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
			c.remote = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
		if l.spec.TLS != nil {
			e.sem <- struct{}{}
			e.jobs.run(func() { l.handshake(c, nc) })
			continue
		}
		l.register(c, nc)
	}
}

// register hands an accepted (and, for TLS, handshaken) conn to the least
// loaded loop.
func (l *listener) register(c *Conn, nc net.Conn) {
	lp := l.e.pickLoop()
	c.loop = lp
	lp.load.Add(1)
	ch, err := lp.el.Enroll(gnet.NewContext(context.Background(), c), nc)
	if err != nil {
		_ = nc.Close()
		c.abandon()
		return
	}
	select {
	case l.reap <- pending{c, ch}:
	case <-l.e.done:
	}
}

// reaper learns the outcome of registrations in order, off the accept
// path, and releases conns gnet could not take (a dup failing under EMFILE).
func (l *listener) reaper() {
	for {
		var p pending
		select {
		case p = <-l.reap:
		case <-l.e.done:
			return
		}
		r, ok := <-p.ch
		if ok && r.Err == nil && r.Conn != nil {
			continue
		}
		l.e.log.Debug().Err(r.Err).Msg("register: conn dropped")
		p.c.abandon()
	}
}

// abandon releases a client conn that never reached a loop.
func (c *Conn) abandon() {
	c.closed = true
	c.eng.connDone(c)
}

// checkFree fails with EADDRINUSE when something already listens on addr.
// The listener itself sets SO_REUSEPORT for a later takeover, and with it a
// bind beside another SO_REUSEPORT socket would succeed and share the
// traffic; a bind without it tells whether the address is taken.
func checkFree(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" {
		return nil // an ephemeral port is never taken; a bad address fails in Listen
	}
	lc := net.ListenConfig{}
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		if errors.Is(err, unix.EADDRINUSE) {
			return fmt.Errorf("%w (another process listens there; --takeover shares it deliberately)", err)
		}
		return nil // let the real Listen report it
	}
	return ln.Close()
}
