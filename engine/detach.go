package engine

import (
	"errors"
	"net"
	"os"
)

// ErrDetached is the close reason a handler sees for a conn it handed away.
var ErrDetached = errors.New("engine: conn detached")

// Detach hands c's socket over to Go's own netpoller once the current
// callback returns: fn runs in a new goroutine with a blocking net.Conn that
// first yields prefix (copied now) and, for a TLS conn, is the tls.Conn
// itself. engine forgets c; the handler gets no more events. Used to serve
// the web site with net/http, where per-conn goroutines do not matter.
func (c *Conn) Detach(prefix []byte, fn func(net.Conn)) {
	if c.closed || c.detachTo != nil {
		return
	}
	c.detachTo = func(*detachedConn) {}
	c.detachFn = fn
	c.detachBytes = append([]byte(nil), prefix...)
	if !c.inTraffic {
		c.tryPark()
	}
}

type detachedConn struct{}

// finishDetach runs once gnet has let go of the socket.
func (c *Conn) finishDetach() {
	fd := c.fd
	c.fd = -1
	f := os.NewFile(uintptr(fd), "")
	nc, err := net.FileConn(f)
	_ = f.Close()
	fn, prefix := c.detachFn, c.detachBytes
	c.h = nil // no events for the handler that gave c away
	c.closeWith(ErrDetached)
	if err != nil {
		return
	}
	var conn net.Conn = nc
	if c.tls != nil {
		c.tr.nc, c.tr.c = nc, nil
		conn = c.tls
	}
	if len(prefix) > 0 {
		conn = &prefixConn{Conn: conn, pre: prefix}
	}
	go fn(conn)
}

// prefixConn replays bytes read before the hand-over.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
