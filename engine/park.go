package engine

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

var errDetach = errors.New("engine: could not hand the socket back to the event loop")

// tryPark detaches c from gnet if gnet would lose nothing by it: gnet drops
// a closed conn's unsent outbound bytes and unread inbound bytes, so both
// must be empty. Otherwise the loop's waiter service tries again.
func (c *Conn) tryPark() {
	if c.closed || c.detaching {
		return
	}
	if c.gc == nil {
		// Off gnet already, on a dup of its fd (the peer's FIN came, or
		// the socket is parked): a detach waits only for what engine
		// itself still queues toward the peer.
		switch {
		case !c.detachAsked() || c.fd < 0:
		case c.q != nil && c.q.Len() > 0:
			c.loop.wait(c)
		default:
			c.finishDetach()
		}
		return
	}
	if c.gc.OutboundBuffered() > 0 || c.gc.InboundBuffered() > 0 {
		c.loop.wait(c)
		return
	}
	fd, err := c.gc.Dup()
	if err != nil { // EMFILE: keep reading, try again later
		c.loop.wait(c)
		return
	}
	c.fd = fd
	c.detaching = true
	if c.inTraffic {
		c.closeGnet = true
	} else {
		gc := c.gc
		_ = gc.EventLoop().Close(gc) // synchronous: OnClose -> afterDetach
	}
}

// afterDetach runs when gnet has let go of the socket.
func (c *Conn) afterDetach() {
	if c.detachAsked() {
		c.finishDetach()
		return
	}
	c.rs = parked
	c.eng.stats.parks.Add(1)
	if c.q != nil && c.q.Len() > 0 {
		c.loop.wait(c)
	}
}

// unpark enrolls the parked socket on the same loop again. Bytes written
// meanwhile queue in c.q and go out first when it is back (onReenrolled).
func (c *Conn) unpark() {
	f := os.NewFile(uintptr(c.fd), "")
	nc, err := net.FileConn(f) // dups the fd; ours is closed with f
	_ = f.Close()
	c.fd = -1
	if err != nil {
		c.closeWith(err)
		return
	}
	if nc.RemoteAddr() == nil {
		// The socket reached TCP_CLOSE while parked (the peer sent its last
		// bytes and closed, or reset it). gnet cannot enroll it, so the
		// loop's waiter service reads what is left, and the read says which
		// (0 or ECONNRESET).
		c.fd = dupOf(nc)
		_ = nc.Close()
		if c.fd < 0 {
			c.closeWith(errDetach)
			return
		}
		c.rawRead = true
		c.rs = reading
		c.loop.wait(c)
		return
	}
	c.rs = resuming
	ch, err := c.loop.el.Enroll(gnet.NewContext(context.Background(), c), nc)
	if err != nil {
		_ = nc.Close()
		c.closeWith(err)
		return
	}
	c.eng.stats.unparks.Add(1)
	go func() {
		// Never wait for the result on the loop: the enroll worker waits for it.
		r, ok := <-ch
		if ok && r.Err == nil && r.Conn != nil {
			return
		}
		err := r.Err
		if err == nil {
			err = errDetach
		}
		c.loop.exec(func() {
			if c.rs == resuming && !c.closed {
				c.closeWith(err)
			}
		})
	}()
}

// onReenrolled runs in OnOpen for a conn coming back from parking.
func (c *Conn) onReenrolled(gc gnet.Conn) {
	c.gc = gc
	c.rs = reading
	if c.q != nil && c.q.Len() > 0 {
		_, _ = gc.Write(c.q.B) // gnet copies what the socket does not take
		c.q.Reset()
	}
	c.dropQueue()
	switch {
	case c.detachAsked(): // Detach came while the socket was away
		c.tryPark()
	case c.pauseAgain:
		c.pauseAgain = false
		c.rs = parkWant
		c.tryPark()
	}
}

// flushRaw writes queued bytes to the detached fd; it reports progress.
func (c *Conn) flushRaw() bool {
	if c.fd < 0 || c.q == nil || c.q.Len() == 0 {
		return false
	}
	n, err := unix.Write(c.fd, c.q.B)
	if err != nil {
		if err != unix.EAGAIN {
			c.closeWith(err)
		}
		return false
	}
	rest := copy(c.q.B, c.q.B[n:])
	c.q.B = c.q.B[:rest]
	if rest == 0 {
		c.dropQueue()
	}
	return n > 0
}

// dropQueue returns an empty queue to the pool: idle conns hold no buffers.
func (c *Conn) dropQueue() {
	if c.q != nil && c.q.Len() == 0 {
		putBuf(c.q)
		c.q = nil
	}
}

// readRaw reads a socket that gnet no longer holds, while the handler lets it.
func (c *Conn) readRaw() bool {
	progress := false
	if c.loop.rawScratch == nil {
		c.loop.rawScratch = make([]byte, 64<<10)
	}
	for c.rawRead && c.rs == reading && !c.closed {
		n, err := unix.Read(c.fd, c.loop.rawScratch)
		if err == unix.EAGAIN {
			return progress
		}
		progress = true
		if err != nil {
			c.closeWith(err)
			return true
		}
		if n == 0 {
			c.rs = readEOF
			if c.h != nil && !c.peerDone {
				c.peerDone = true
				c.h.OnReadEOF(c)
			}
			if !c.closed && c.flushThen == flushClose {
				c.serviceFlush()
			}
			return true
		}
		if c.tls != nil {
			c.readTLS(c.loop.rawScratch[:n])
		} else {
			c.deliver(c.loop.rawScratch[:n])
		}
	}
	return progress
}

// dupOf returns a dup of nc's fd, or -1.
func dupOf(nc net.Conn) int {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	_ = rc.Control(func(s uintptr) {
		if d, err := unix.Dup(int(s)); err == nil {
			fd = d
		}
	})
	return fd
}
