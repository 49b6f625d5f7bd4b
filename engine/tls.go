package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"time"
)

// tlsTransport is the net.Conn under a server tls.Conn. During the
// handshake it is the accepted socket itself, driven by a goroutine (the
// crypto/tls handshake cannot be resumed step by step). Once the conn is on
// its loop it reads the ciphertext OnTraffic lends it and writes through the
// Conn, and reports "would block" when it has nothing: crypto/tls keeps a
// partial record and tries again on a Temporary net.Error (pinned by
// TestTLSTemporaryErrorIsRetried).
type tlsTransport struct {
	nc  net.Conn // until the switch
	c   *Conn    // after the switch; loop-owned
	in  []byte   // borrowed ciphertext, valid during one OnTraffic
	out []byte   // non-nil during Conn.Write: records gathered for one rawWrite

	inBuf *byteBuffer // the holder of the record buffer lent from tlsInPool, while lent
}

// tlsBatchMax bounds the ciphertext one Conn.Write gathers before it writes
// (and so the loop's tlsOut buffer).
const tlsBatchMax = 128 << 10

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "engine: would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

var errWouldBlock net.Error = wouldBlock{}

func (t *tlsTransport) Read(p []byte) (int, error) {
	if t.c == nil {
		return t.nc.Read(p)
	}
	if len(t.in) == 0 {
		return 0, errWouldBlock
	}
	n := copy(p, t.in)
	t.in = t.in[n:]
	return n, nil
}

func (t *tlsTransport) Write(p []byte) (int, error) {
	if t.c == nil {
		return t.nc.Write(p)
	}
	if t.out != nil {
		// crypto/tls writes each record (16 KB at most) on its own; gather
		// them so one Conn.Write costs one write(2), not one per record.
		if len(t.out) > 0 && len(t.out)+len(p) > tlsBatchMax {
			if !t.c.closed {
				t.c.rawWrite(t.out)
			}
			t.out = t.out[:0]
		}
		t.out = append(t.out, p...)
		return len(p), nil
	}
	t.c.rawWrite(p)
	return len(p), nil
}

// writeTLS encrypts p and writes the records with one rawWrite.
func (c *Conn) writeTLS(p []byte) {
	tr, l := c.tr, c.loop
	buf := l.tlsOut
	l.tlsOut = nil // a nested writeTLS (from a handler run by a failing write) gets its own
	if buf == nil {
		buf = make([]byte, 0, 32<<10)
	}
	tr.out = buf[:0]
	_, _ = c.tls.Write(p) // errors surface as a closed conn
	out := tr.out
	tr.out = nil
	if len(out) > 0 && !c.closed {
		c.rawWrite(out) // gnet copies what the kernel does not take
	}
	if cap(out) <= tlsBatchMax+(16<<10) {
		l.tlsOut = out[:0]
	}
}

func (t *tlsTransport) Close() error {
	if t.c == nil {
		return t.nc.Close()
	}
	return nil
}

// switchTo moves the transport onto c's loop: records go through gnet from
// now on. The handshake's conn (closed by then) and its netFD are no
// longer held by every TLS conn, 128 bytes and more: only its addresses.
func (t *tlsTransport) switchTo(c *Conn) {
	if _, done := t.nc.(loopAddrs); !done {
		t.nc = loopAddrs{la: t.nc.LocalAddr(), ra: t.nc.RemoteAddr()}
	}
	t.c = c
}

func (t *tlsTransport) LocalAddr() net.Addr                { return t.nc.LocalAddr() }
func (t *tlsTransport) RemoteAddr() net.Addr               { return t.nc.RemoteAddr() }
func (t *tlsTransport) SetDeadline(d time.Time) error      { return t.nc.SetDeadline(d) }
func (t *tlsTransport) SetReadDeadline(d time.Time) error  { return t.nc.SetReadDeadline(d) }
func (t *tlsTransport) SetWriteDeadline(d time.Time) error { return t.nc.SetWriteDeadline(d) }

// loopAddrs stands in for the handshake's conn once the loop carries the
// records: the addresses stay; deadlines are the loop's own business.
type loopAddrs struct {
	net.Conn // nil: Read, Write and Close never reach it (t.c is set)
	la, ra   net.Addr
}

func (a loopAddrs) LocalAddr() net.Addr            { return a.la }
func (a loopAddrs) RemoteAddr() net.Addr           { return a.ra }
func (loopAddrs) SetDeadline(time.Time) error      { return nil }
func (loopAddrs) SetReadDeadline(time.Time) error  { return nil }
func (loopAddrs) SetWriteDeadline(time.Time) error { return nil }

// handshake runs one TLS handshake off-loop under the engine's semaphore
// and deadline, then registers the conn with gnet.
func (l *listener) handshake(c *Conn, nc *net.TCPConn) {
	e := l.e
	defer func() { <-e.sem }()
	clock := &rttConn{Conn: nc}
	tr := &tlsTransport{nc: clock}
	tc := tls.Server(tr, l.spec.TLS)
	tr.lendRecordBuf(tc)
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.HandshakeTimeout)
	_ = nc.SetDeadline(time.Now().Add(e.cfg.HandshakeTimeout))
	err := tc.HandshakeContext(ctx)
	cancel() // crypto/tls may still be closing tr from its goroutine: tr.nc stays
	if err != nil {
		e.stats.handshakeErrors.Add(1)
		e.log.Debug().Err(err).Str("client", c.remote.String()).Msg("tls handshake")
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) && rh.Conn != nil && plaintextHTTP(rh.RecordHeader[:], l.spec.GoPlainHTTP) {
			// A client configured for a plain-HTTP proxy on the TLS port:
			// tell it what went wrong, in the words Go's net/http uses.
			_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(nc, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		}
		_ = nc.Close()
		c.abandon()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	tr.reclaimRecordBuf(tc) // unless the client's first records came with its Finished
	c.tls, c.tr = tc, tr
	st := tc.ConnectionState()
	c.alpn = st.NegotiatedProtocol
	if st.Version < tls.VersionTLS13 && !st.DidResume {
		c.firstBytesDue = clock.rtt
	}
	l.register(c, nc)
}

// FirstBytesDue is how much later than the end of its TLS handshake a
// client's first bytes can come at the earliest: a round trip after a TLS
// 1.2 full handshake, whose last flight is the server's Finished; after
// TLS 1.3 or a resumption they come with the client's own Finished, 0.
func (c *Conn) FirstBytesDue() time.Duration { return c.firstBytesDue }

// rttConn times the handshake's round trip: from the server's first
// flight to the client's answer.
type rttConn struct {
	net.Conn
	wrote time.Time
	rtt   time.Duration
}

func (r *rttConn) Write(p []byte) (int, error) {
	if r.wrote.IsZero() {
		r.wrote = time.Now()
	}
	return r.Conn.Write(p)
}

func (r *rttConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if n > 0 && r.rtt == 0 && !r.wrote.IsZero() {
		r.rtt = time.Since(r.wrote)
	}
	return n, err
}

// readTLS decrypts what OnTraffic read (ct, borrowed) and delivers the
// plaintext. crypto/tls copies every byte of ct into its own record buffer
// before it reports would-block, so nothing of ct outlives the call.
// tls.Conn.Read returns one record (16 KB at most) per call; the records
// are gathered (in the loop's scratch buffer, or behind a partial frame)
// and delivered together, so a tunnel writes one upstream chunk per read,
// not one per record. crypto/tls's record buffer is lent for the call and
// taken back after it (tlsbuf.go), so a quiet conn holds none.
func (c *Conn) readTLS(ct []byte) {
	c.tr.in = ct
	c.tr.lendRecordBuf(c.tls)
	// Behind a partial frame the handler left, the plaintext is decrypted
	// in the conn's own buffer, so that neither the frame nor the new bytes
	// are copied to join the other. The room it is given is what this read
	// can bring (its ciphertext, and a record crypto/tls may hold from the
	// last), so a client that sends a byte at a time grows it by no more.
	room := min(len(ct)+maxRecordPlaintext, len(c.loop.scratch))
	for !c.closed {
		buf, off := c.loop.scratch, 0
		behind := c.pend != nil && c.h != nil
		if behind {
			off = c.pend.Len()
			c.pend.B = slices.Grow(c.pend.B, room)
			buf = c.pend.B[:cap(c.pend.B)]
		}
		n := off
		var err error
		for n < len(buf) {
			var k int
			k, err = c.tls.Read(buf[n:])
			n += k
			if err != nil {
				break
			}
		}
		switch {
		case n == off: // nothing new
		case behind:
			c.pend.B = buf[:n]
			c.deliverPend()
		default:
			c.deliver(buf[:n])
		}
		if err == nil {
			continue
		}
		if err == errWouldBlock { // the usual end, without errors.As (its target escapes: an alloc per read)
			break
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Temporary() {
			break
		}
		if errors.Is(err, io.EOF) {
			c.tlsEOF()
			break
		}
		c.closeWith(err)
		break
	}
	c.tr.in = nil
	c.tr.reclaimRecordBuf(c.tls)
}

// maxRecordPlaintext is the most plaintext one TLS record carries.
const maxRecordPlaintext = 16 << 10

// deliver hands plaintext read outside gnet's buffers (TLS, raw reads) to the
// handler, keeping what it does not consume for the next call.
func (c *Conn) deliver(b []byte) {
	if c.h == nil {
		return
	}
	if c.pend != nil && c.pend.Len() > 0 {
		_, _ = c.pend.Write(b)
		c.deliverPend()
		return
	}
	n := c.h.OnData(c, b)
	if n < len(b) && !c.closed {
		if c.pend == nil {
			c.pend = getBuf()
		}
		_, _ = c.pend.Write(b[n:])
	}
}

// deliverPend hands the handler c.pend, a partial frame it left with new
// bytes behind it, and keeps what it leaves. c.h is set.
func (c *Conn) deliverPend() {
	n := c.h.OnData(c, c.pend.B)
	if c.pend == nil { // closed meanwhile
		return
	}
	rest := copy(c.pend.B, c.pend.B[n:])
	c.pend.B = c.pend.B[:rest]
	if rest == 0 { // idle conns hold no buffers
		putBuf(c.pend)
		c.pend = nil
	}
}

// tlsEOF handles close_notify: the end of the peer's data (RFC 8446
// section 6.1), so a half-close like a TCP FIN, while the socket stays open
// for our answer. The handler hears of it once; the FIN that may follow
// adds nothing.
func (c *Conn) tlsEOF() {
	if c.peerDone {
		return
	}
	c.peerDone = true
	if c.h != nil {
		c.h.OnReadEOF(c)
	}
	if !c.closed && c.flushThen == flushClose {
		c.serviceFlush()
	}
}

// plaintextHTTP reports whether the first five bytes of a would-be TLS
// record are the start of an HTTP/1.x request; goOnly keeps to the ones
// Go's net/http recognizes.
func plaintextHTTP(hdr []byte, goOnly bool) bool {
	switch string(hdr) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	case "CONNE", "DELET", "PATCH", "GET h", "TRACE":
		return !goOnly
	}
	return false
}
