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
// itself (nil if the socket could not be handed over). engine forgets c;
// the handler gets no more events. Used to serve the web site with
// net/http, and to splice bulk tunnels.
func (c *Conn) Detach(prefix []byte, fn func(net.Conn)) {
	if c.closed || c.detachAsked() {
		return
	}
	r := c.rare()
	r.detachFn = fn
	r.detachBytes = append([]byte(nil), prefix...)
	if !c.inTraffic {
		c.tryPark()
	}
}

// finishDetach runs once gnet has let go of the socket.
func (c *Conn) finishDetach() {
	fd := c.fd
	c.fd = -1
	f := os.NewFile(uintptr(fd), "")
	nc, err := net.FileConn(f)
	_ = f.Close()
	fn, prefix := c.r.detachFn, c.r.detachBytes
	c.h = nil // no events for the handler that gave c away
	c.closeWith(ErrDetached)
	if err != nil {
		go fn(nil)
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

// NetConn is the conn under the replay (a *tls.Conn for a TLS conn), as
// tls.Conn.NetConn names its own: a server can still tell it is TLS.
func (p *prefixConn) NetConn() net.Conn { return p.Conn }

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// Quiet reports whether c could leave the loop now without a byte left
// behind: attached to gnet, reading, nothing queued either way.
func (c *Conn) Quiet() bool {
	return c.gc != nil && !c.closed && !c.detaching && !c.detachAsked() && c.rs == reading &&
		(c.q == nil || c.q.Len() == 0) && c.gc.OutboundBuffered() == 0 && (c.inTraffic || c.gc.InboundBuffered() == 0)
}
