package engine

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// readState is where a Conn stands on reading.
type readState uint8

const (
	reading  readState = iota
	parkWant           // PauseRead asked; parked as soon as gnet allows
	parked             // detached from gnet; nobody reads the socket
	resuming           // re-enroll under way
	readEOF            // the peer sent FIN; nothing more to read
)

// Conn is one TCP connection: a client accepted on a listener or an
// upstream dialed for a tunnel. It keeps its identity while engine detaches
// the socket from gnet and enrolls it again (PauseRead/ResumeRead), so the
// layers above hold *Conn, never a gnet.Conn.
type Conn struct {
	// Immutable after construction.
	eng      *Engine
	ln       *listener // nil for upstreams
	remote   netip.AddrPort
	upstream bool

	// Owned by the loop. The one-byte fields sit together, after the
	// upstream flag above: two of these live as long as every tunnel, and
	// the struct fits the 256-byte size class (conn_size_test.go).
	rs         readState
	touched    bool // activity since the last sweep: a flag, so the data path reads no clock
	peerDone   bool // the peer's end of data was reported (TLS close_notify)
	rawRead    bool // the socket cannot go back to gnet: the loop's waiter service reads it
	inTraffic  bool // inside this conn's OnTraffic
	closeGnet  bool // return gnet.Close from the current OnTraffic
	detaching  bool // the next gnet OnClose is ours, not the peer's
	waiting    bool // in loop.waiters
	flushThen  flushAction
	pauseAgain bool // PauseRead came while resuming
	closed     bool
	wshut      bool // SHUT_WR sent
	released   bool // counted out of Engine's active conns
	holdFIN    bool // HoldAtFIN
	loop       *Loop
	gc         gnet.Conn // nil while detached: never keep a stale one (its fd number may be reused)
	h          Handler
	fd         int // our own dup of the socket while detached from gnet, else -1
	q          *byteBuffer
	tls        *tls.Conn
	tr         *tlsTransport
	pend       *byteBuffer // what the handler left unconsumed, held outside gnet (TLS plaintext, raw reads, bytes before a FIN)
	alpn       string
	// firstBytesDue: see FirstBytesDue.
	firstBytesDue time.Duration
	idle          time.Duration
	active        time.Time // when the sweep last saw activity
	dead          time.Time // absolute deadline, zero if none
	drainLow      int       // OnDrained when buffered <= drainLow; -1 = not watching
	onOpen        func()    // upstream: the dial's completion, run in OnOpen
	r             *connRare // nil until one of its parts is needed
}

// connRare holds what only some conns ever need: a hand-off, a close that
// waits for the queue to drain, a drain watch's rate estimate. It is made
// on first use, so the conns of an idle tunnel carry none of it (96 bytes
// each, which took engine.Conn from a 256-byte allocation to a 352-byte one).
type connRare struct {
	detachFn    func(net.Conn)
	detachBytes []byte
	lingerUntil time.Time // flushClose: a deadline that moves while the queue drains, then bounds the wait for the FIN
	lingerBuf   int       // Buffered() when lingerUntil was last set
	lastBuf     int       // Buffered() at the last drain check, for the rate estimate
	lastBufAt   time.Time
}

// rare returns c's rare part, made on first use.
func (c *Conn) rare() *connRare {
	if c.r == nil {
		c.r = &connRare{}
	}
	return c.r
}

// dropRare lets the rare part go once a drain watch ended, unless a detach
// or a flush-close still needs it: a tunnel that paused once does not
// keep it while idle.
func (c *Conn) dropRare() {
	switch {
	case c.r == nil:
	case c.r.detachFn == nil && c.flushThen != flushClose:
		c.r = nil
	default:
		c.r.lastBuf = 0 // the next watch starts its rate estimate afresh
	}
}

// detachAsked reports whether Detach was called and is still to be done.
func (c *Conn) detachAsked() bool { return c.r != nil && c.r.detachFn != nil }

// flushAction is what happens once the bytes queued toward the peer are out.
type flushAction uint8

const (
	flushNone     flushAction = iota
	flushShutdown             // SHUT_WR, keep reading until the peer's FIN
	flushClose                // SHUT_WR, then close at the peer's FIN or the linger timeout
)

func newConn(e *Engine, ln *listener, upstream bool) *Conn {
	return &Conn{eng: e, ln: ln, upstream: upstream, fd: -1, drainLow: -1}
}

// SetHandler replaces the handler; the next event goes to h.
func (c *Conn) SetHandler(h Handler) { c.h = h }

// Handler returns the current handler.
func (c *Conn) Handler() Handler { return c.h }

// RemoteAddr is the peer's address. Safe from any goroutine.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// Loop is the event loop c belongs to. Safe from any goroutine.
func (c *Conn) Loop() *Loop { return c.loop }

// ALPN is the protocol negotiated by TLS ("h2", "http/1.1"), or "".
func (c *Conn) ALPN() string { return c.alpn }

// IsTLS reports whether c carries TLS.
func (c *Conn) IsTLS() bool { return c.tls != nil }

// Closed reports whether c is closed.
func (c *Conn) Closed() bool { return c.closed }

// CanWrite reports whether bytes written now can still reach the peer.
func (c *Conn) CanWrite() bool {
	return !c.closed && !c.wshut && (c.gc != nil || c.fd >= 0 || c.rs == resuming)
}

// Write queues p toward the peer and never blocks. p is not retained: gnet
// copies what it cannot write at once, and so does engine while detached.
func (c *Conn) Write(p []byte) {
	if !c.CanWrite() || len(p) == 0 {
		return
	}
	if c.tls != nil {
		c.writeTLS(p)
		return
	}
	c.rawWrite(p)
}

// rawWrite sends bytes as they are (ciphertext for TLS conns). While the
// socket is away from gnet, engine writes it itself and queues the rest; while
// it is being enrolled again, everything queues and goes out first on return.
func (c *Conn) rawWrite(p []byte) {
	if c.gc != nil {
		_, _ = c.gc.Write(p) // on error gnet closes c and OnClose tells
		return
	}
	if c.fd >= 0 && (c.q == nil || c.q.Len() == 0) {
		n, err := unix.Write(c.fd, p)
		if err != nil && err != unix.EAGAIN {
			c.fail(err)
			return
		}
		if n > 0 {
			p = p[n:]
		}
		if len(p) == 0 {
			return
		}
	}
	if c.q == nil {
		c.q = getBuf()
	}
	_, _ = c.q.Write(p)
	if c.fd >= 0 {
		c.loop.wait(c)
	}
}

// Buffered is the number of bytes written to c that have not reached the
// kernel yet (ciphertext for TLS conns).
func (c *Conn) Buffered() int {
	n := 0
	if c.gc != nil {
		n = c.gc.OutboundBuffered()
	}
	if c.q != nil {
		n += c.q.Len()
	}
	return n
}

// TakeUnread removes and returns (as a copy) the bytes read from c that
// the handler's OnData left unconsumed. Call it on c's loop, outside
// OnData.
func (c *Conn) TakeUnread() []byte {
	var b []byte
	if c.pend != nil {
		b = append(b, c.pend.B...)
		putBuf(c.pend)
		c.pend = nil
	}
	if c.gc != nil && c.tls == nil {
		if in, _ := c.gc.Next(-1); len(in) > 0 {
			b = append(b, in...)
		}
	}
	return b
}

// WatchDrain asks for one OnDrained once Buffered() <= low.
func (c *Conn) WatchDrain(low int) {
	if c.closed {
		return
	}
	c.drainLow = low
	c.loop.wait(c)
}

// SetIdleTimeout calls OnTimeout after d without reads; 0 turns it off.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	c.idle = d
	c.active = time.Now()
	c.touched = false
}

// Touch counts as read activity for the idle timeout (a tunnel touches its
// client when the upstream moves bytes).
func (c *Conn) Touch() { c.touched = true }

// SetDeadline calls OnTimeout at t, to within a few milliseconds (the
// loop's ticker wakes for it); the zero time turns it off.
func (c *Conn) SetDeadline(t time.Time) {
	c.dead = t
	if c.loop == nil {
		return
	}
	if t.IsZero() {
		delete(c.loop.deadlines, c)
		return
	}
	c.loop.deadlines[c] = struct{}{}
	c.loop.wakeAt(t)
}

// PauseRead stops reading from the socket until ResumeRead. Bytes already
// read are still delivered. gnet cannot stop reading a conn it holds, so
// engine detaches the socket (keeping a dup) as soon as its own outbound
// buffer is empty, and enrolls it again on resume.
func (c *Conn) PauseRead() {
	switch c.rs {
	case reading:
		if c.rawRead {
			c.rs = parked
			return
		}
		c.rs = parkWant
		if !c.inTraffic {
			c.tryPark()
		}
	case resuming:
		c.pauseAgain = true
	}
}

// ResumeRead undoes PauseRead.
func (c *Conn) ResumeRead() {
	switch c.rs {
	case parkWant:
		c.rs = reading
	case parked:
		if c.rawRead {
			c.rs = reading
			c.loop.wait(c)
			return
		}
		c.unpark()
	case resuming:
		c.pauseAgain = false
	}
}

// CloseWrite sends FIN once every queued byte is out, and keeps reading.
func (c *Conn) CloseWrite() {
	if c.closed || c.wshut {
		return
	}
	if c.flushThen < flushShutdown {
		c.flushThen = flushShutdown
	}
	c.serviceFlush()
}

// CloseAfterFlush closes c once every queued byte is out. It sends FIN
// first and waits for the peer's FIN (or the linger timeout), because a
// close with unread input sends RST, and an RST can make the peer's kernel
// drop bytes it has not handed to the application yet.
func (c *Conn) CloseAfterFlush() {
	if c.closed {
		return
	}
	c.flushThen = flushClose
	r := c.rare()
	r.lingerUntil = c.loop.now.Add(c.eng.cfg.Linger)
	r.lingerBuf = c.Buffered()
	c.serviceFlush()
}

// HoldAtFIN keeps c open for writing after its peer's FIN, as
// Config.HalfClose does for every conn, when HalfClose is off: an HTTP/1.1
// request that came with a FIN still gets its answer. A CONNECT tunnel
// turns it off again, so that without half-close its client's FIN ends it
// (nginx's proxy_half_close off).
func (c *Conn) HoldAtFIN(on bool) { c.holdFIN = on }

// Close closes c now; queued bytes are dropped.
func (c *Conn) Close() { c.closeWith(nil) }

// Reset closes c now with a TCP reset (SO_LINGER 0): the peer reads an
// error, where a FIN could pass for the end of a body that only the close
// delimits. Queued bytes are dropped.
func (c *Conn) Reset() {
	if c.closed {
		return
	}
	fd := c.fd
	if fd < 0 && c.gc != nil {
		fd = c.gc.Fd()
	}
	if fd >= 0 {
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	c.closeWith(nil)
}

// Exec runs fn on c's loop. Safe from any goroutine; fn is dropped if c is
// closed by then.
func (c *Conn) Exec(fn func()) {
	c.loop.exec(func() {
		if !c.closed {
			fn()
		}
	})
}

func (c *Conn) fail(err error) { c.closeWith(err) }

// closeWith ends c and tells the handler once.
func (c *Conn) closeWith(err error) {
	if c.closed {
		return
	}
	c.closed = true
	c.loop.unwait(c)
	delete(c.loop.conns, c)
	delete(c.loop.deadlines, c)
	if c.gc != nil {
		gc := c.gc
		c.gc = nil
		if c.inTraffic {
			c.closeGnet = true
		} else {
			_ = gc.EventLoop().Close(gc) // synchronous; its OnClose sees c.closed and returns
		}
	}
	c.releaseFDs()
	c.releaseBuffers()
	c.eng.connDone(c)
	if c.h != nil {
		c.h.OnClose(c, err)
	}
}

func (c *Conn) releaseFDs() {
	if c.fd >= 0 {
		_ = unix.Close(c.fd)
		c.fd = -1
	}
}

func (c *Conn) releaseBuffers() {
	if c.q != nil {
		putBuf(c.q)
		c.q = nil
	}
	if c.pend != nil {
		putBuf(c.pend)
		c.pend = nil
	}
}

// shutdownWrite sends FIN on whichever fd is current.
func (c *Conn) shutdownWrite() {
	if c.wshut {
		return
	}
	c.wshut = true
	if c.tls != nil && c.gc != nil {
		_ = c.tls.CloseWrite() // close_notify before the FIN, as TLS wants
	}
	fd := c.fd
	if c.gc != nil {
		fd = c.gc.Fd()
	}
	if fd >= 0 {
		_ = unix.Shutdown(fd, unix.SHUT_WR)
	}
}

// serviceFlush carries out flushThen when nothing is queued any more.
// It reports whether c still needs the loop's attention for it.
func (c *Conn) serviceFlush() bool {
	if c.flushThen == flushNone || c.closed {
		return false
	}
	if c.rs == resuming || c.Buffered() > 0 { // no fd to shut down while it is being enrolled again
		c.loop.wait(c)
		return true
	}
	c.shutdownWrite()
	if c.flushThen == flushClose {
		c.rare().lingerUntil = c.loop.now.Add(c.eng.cfg.Linger) // the wait for the peer's FIN starts now
		if c.rs == readEOF || c.rs == parked || c.gc == nil && c.fd < 0 {
			c.closeWith(nil)
			return false
		}
		return false // the peer's FIN closes it; the loop's sweep enforces the linger
	}
	c.flushThen = flushNone
	return false
}

// onGnetClose handles gnet's OnClose for c's current gnet.Conn.
func (c *Conn) onGnetClose(gc gnet.Conn, err error) {
	if c.closed || gc != c.gc {
		return
	}
	if c.detaching {
		c.detaching = false
		c.gc = nil
		c.afterDetach()
		return
	}
	c.gc = nil
	eof := err == nil || errors.Is(err, io.EOF)
	if eof && !readZero(err) {
		// gnet did not read a 0 here: it closes a conn whose poll event
		// has EPOLLERR or EPOLLHUP but neither EPOLLIN nor EPOLLOUT
		// without reading, and says io.EOF. A reset socket can poll that
		// way: Linux's tcp_reset sets the error and TCP_CLOSE before the
		// shutdown bits that make the socket readable, and an epoll_wait
		// on another CPU can come in between. The error is still pending
		// on the socket (gnet closes its fd after OnClose).
		if serr := pendingError(gc.Fd()); serr != nil {
			err, eof = serr, false
		}
	}
	if !eof {
		c.closeWith(err)
		return
	}
	halfClose := (c.eng.cfg.HalfClose || c.holdFIN) && !c.wshut
	// gnet writes what it still holds for this conn only until the first
	// EAGAIN and drops the rest; a backlog here may be lost, so say so.
	if gc.OutboundBuffered() > 0 && halfClose {
		c.closeWith(errEOFBacklog)
		return
	}
	c.rs = readEOF
	// True half-close: gnet closes its fd once OnClose returns, so keep a
	// dup of it now, and write on it what is left to send. The dup is paid
	// only by conns whose peer half-closed, not by every conn from accept.
	if halfClose {
		if fd, err := gc.Dup(); err == nil { // EMFILE: this conn just lacks true half-close
			c.fd = fd
			c.keepUnread(gc)
			if c.h != nil && !c.peerDone {
				c.peerDone = true
				c.h.OnReadEOF(c)
			}
			if !c.closed && c.flushThen == flushClose {
				c.serviceFlush()
			}
			return
		}
	}
	c.closeWith(io.EOF)
}

// keepUnread moves what the handler left unconsumed in gnet's buffer,
// which goes with gc, to c.pend, where TakeUnread and the next delivery
// find it.
func (c *Conn) keepUnread(gc gnet.Conn) {
	if c.tls != nil || c.h == nil {
		return // TLS plaintext is in c.pend already; what gnet holds is a partial record
	}
	if in, _ := gc.Next(-1); len(in) > 0 {
		if c.pend == nil {
			c.pend = getBuf()
		}
		_, _ = c.pend.Write(in)
	}
}

var errEOFBacklog = errors.New("engine: peer closed while data toward it was still queued")

// readZero reports whether err is gnet's report of a read that returned 0:
// the peer's FIN, after everything it sent.
func readZero(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && se.Syscall == "read"
}

// pendingError takes the socket's pending error (SO_ERROR), if any: the
// ECONNRESET of a reset that nothing has read yet.
func pendingError(fd int) error {
	if fd < 0 {
		return nil
	}
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil || n == 0 {
		return nil
	}
	return os.NewSyscallError("read", unix.Errno(n))
}
