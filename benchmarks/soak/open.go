package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http2"

	"github.com/sluice-proxy/sluice/benchmarks/internal/h3connect"
	"github.com/sluice-proxy/sluice/benchmarks/internal/httphead"
)

// stream is one tunnel's byte stream, whatever carries it.
type stream interface {
	Read(b []byte) (int, error)
	Write(b []byte) (int, error)
	// CloseWrite half-closes: FIN, TLS close_notify, END_STREAM, QUIC FIN.
	CloseWrite() error
	// Reset aborts both ways at once: RST (SO_LINGER 0), RST_STREAM,
	// RESET_STREAM and STOP_SENDING. It unblocks Read and Write.
	Reset()
	// Leave is the client going away while it still has bytes to read:
	// close(2) (which resets a socket with unread bytes), closing an h2
	// response body early, cancelling an h3 stream. It unblocks Read and
	// Write.
	Leave()
	// Close ends a stream whose directions are both done.
	Close() error
}

// vanisher is a stream or flow whose client can disappear without a
// word (see vanish.go): h1 and h1tls, udp-h1, and h3 and udp-h3 on a
// connection of their own.
type vanisher interface {
	Vanish() error
}

// statusError is a CONNECT answered with something other than 2xx.
type statusError struct {
	code int
	line string
}

func (e *statusError) Error() string { return fmt.Sprintf("CONNECT answered %d (%s)", e.code, e.line) }

func insecureTLS(alpn ...string) *tls.Config {
	// The proxy's certificate is self-signed: the soak tests the proxy,
	// not PKI.
	return &tls.Config{InsecureSkipVerify: true, NextProtos: alpn}
}

// ---- HTTP/1.1 CONNECT, over TCP or inside TLS ----

type h1Opener struct {
	addr    string
	tls     *tls.Config // nil: plain TCP
	timeout time.Duration
}

func (o *h1Opener) open(ctx context.Context, target string) (stream, error) {
	c, raw, err := o.dial(ctx)
	if err != nil {
		return nil, err
	}
	code, line, rest, err := roundTrip(c, httphead.ConnectRequest(target))
	if err != nil {
		return nil, err
	}
	if code/100 != 2 {
		c.Close()
		return nil, &statusError{code: code, line: line}
	}
	c.SetDeadline(time.Time{})
	return &tcpStream{Prefixed: httphead.Prefixed{Conn: c, Rest: rest}, raw: raw}, nil
}

// dial connects (and shakes hands) with every step bounded by the
// opener's timeout; the deadline stays set for the request that follows.
func (o *h1Opener) dial(ctx context.Context) (net.Conn, *net.TCPConn, error) {
	d := net.Dialer{Timeout: o.timeout}
	nc, err := d.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		return nil, nil, err
	}
	raw := nc.(*net.TCPConn)
	raw.SetDeadline(time.Now().Add(o.timeout))
	if o.tls == nil {
		return raw, raw, nil
	}
	tc := tls.Client(raw, o.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	return tc, raw, nil
}

// roundTrip writes a request head and reads the response head (see
// readHead); on an error c is closed.
func roundTrip(c net.Conn, req string) (int, string, []byte, error) {
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return 0, "", nil, err
	}
	code, line, rest, err := readHead(c)
	if err != nil {
		c.Close()
		return 0, "", nil, fmt.Errorf("response: %w", err)
	}
	return code, line, rest, nil
}

// readHead reads a response head (httphead: no bufio.Reader left
// between the tunnel and the socket) and returns the status code, the
// status line and the bytes that followed the head.
func readHead(c net.Conn) (int, string, []byte, error) {
	head, rest, err := httphead.Read(c, 2048)
	if err != nil {
		return 0, "", nil, err
	}
	line, field, ok := httphead.StatusLine(head)
	if !ok {
		return 0, "", nil, fmt.Errorf("bad status line %q", line)
	}
	code, err := strconv.Atoi(string(field))
	if err != nil || code < 100 || code > 999 {
		return 0, "", nil, fmt.Errorf("bad status line %q", line)
	}
	return code, string(line), rest, nil
}

// tcpStream is an HTTP/1.1 tunnel: the connection itself (the TLS conn,
// or raw), whose Read delivers the bytes that came with the response
// head first.
type tcpStream struct {
	httphead.Prefixed
	raw *net.TCPConn
}

func (s *tcpStream) Write(b []byte) (int, error) { return s.Conn.Write(b) }

func (s *tcpStream) CloseWrite() error {
	if tc, ok := s.Conn.(*tls.Conn); ok {
		return tc.CloseWrite()
	}
	return s.raw.CloseWrite()
}

func (s *tcpStream) Reset() {
	s.raw.SetLinger(0)
	s.raw.Close()
}

// Vanish closes the socket without a FIN or an RST (see vanish.go).
func (s *tcpStream) Vanish() error { return tcpRepairClose(s.raw) }

func (s *tcpStream) Leave()       { s.Conn.Close() }
func (s *tcpStream) Close() error { return s.Conn.Close() }

// ---- HTTP/2 CONNECT streams over TLS ----

type h2Conn struct {
	cc *http2.ClientConn
}

func (c *h2Conn) usable() bool {
	st := c.cc.State()
	return !st.Closed && !st.Closing
}

func (c *h2Conn) close() { c.cc.Close() }

// newH2Pool dials TLS connections with ALPN h2 to addr, each carrying at
// most perConn streams (or the server's SETTINGS_MAX_CONCURRENT_STREAMS).
func newH2Pool(addr string, perConn, reuse int, timeout time.Duration) *pool[*h2Conn] {
	tr := &http2.Transport{}
	conf := insecureTLS("h2")
	return &pool[*h2Conn]{reuse: reuse, dial: func(ctx context.Context) (*h2Conn, int, error) {
		d := net.Dialer{Timeout: timeout}
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, 0, err
		}
		nc.SetDeadline(time.Now().Add(timeout))
		tc := tls.Client(nc, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, 0, fmt.Errorf("tls: %w", err)
		}
		nc.SetDeadline(time.Time{})
		if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
			tc.Close()
			return nil, 0, fmt.Errorf("proxy negotiated %q, not h2", p)
		}
		cc, err := tr.NewClientConn(tc)
		if err != nil {
			tc.Close()
			return nil, 0, err
		}
		// The limit is known once the server's SETTINGS arrived.
		limit := time.Now().Add(timeout)
		for {
			if m := cc.State().MaxConcurrentStreams; m > 0 {
				return &h2Conn{cc: cc}, min(int(m), perConn), nil
			}
			if time.Now().After(limit) {
				cc.Close()
				return nil, 0, errors.New("h2: no SETTINGS from the proxy")
			}
			time.Sleep(time.Millisecond)
		}
	}}
}

// h2Open sends a CONNECT (or, with protocol set, an extended CONNECT to
// u) on a pooled connection and waits for the answer, at most timeout.
func h2Open(ctx context.Context, p *pool[*h2Conn], target, u, protocol string, timeout time.Duration) (*h2Stream, error) {
	sl, err := p.get(ctx)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	req := &http.Request{
		Method: http.MethodConnect, Header: make(http.Header), Body: pr,
		Proto: "HTTP/2.0", ProtoMajor: 2,
	}
	if protocol == "" {
		req.URL, req.Host = &url.URL{Host: target}, target
	} else {
		pu, err := url.Parse(u)
		if err != nil {
			cancel()
			p.put(sl)
			return nil, err
		}
		req.URL, req.Host = pu, pu.Host
		req.Header.Set(":protocol", protocol)
		req.Header.Set("Capsule-Protocol", "?1")
	}
	s := &h2Stream{p: p, sl: sl, pw: pw, cancel: cancel}
	timer := time.AfterFunc(timeout, cancel)
	resp, err := sl.c.cc.RoundTrip(req.WithContext(sctx))
	late := !timer.Stop()
	if err != nil {
		s.Reset()
		if late {
			return nil, fmt.Errorf("h2: no answer within %v: %w", timeout, err)
		}
		return nil, err
	}
	s.body = resp.Body
	if late {
		s.Reset()
		return nil, fmt.Errorf("h2: no answer within %v", timeout)
	}
	if resp.StatusCode/100 != 2 {
		s.Reset()
		return nil, &statusError{code: resp.StatusCode, line: resp.Status}
	}
	return s, nil
}

// h2Stream: the request body pipe carries bytes up, the response body
// carries them down.
type h2Stream struct {
	p      *pool[*h2Conn]
	sl     *slot[*h2Conn]
	pw     *io.PipeWriter
	body   io.ReadCloser
	cancel context.CancelFunc
	once   sync.Once
}

var errAborted = errors.New("soak: stream aborted")

func (s *h2Stream) Read(b []byte) (int, error)  { return s.body.Read(b) }
func (s *h2Stream) Write(b []byte) (int, error) { return s.pw.Write(b) }
func (s *h2Stream) CloseWrite() error           { return s.pw.Close() }

func (s *h2Stream) release() { s.once.Do(func() { s.p.put(s.sl) }) }

// Reset cancels the request: RST_STREAM (CANCEL).
func (s *h2Stream) Reset() {
	s.cancel()
	s.pw.CloseWithError(errAborted)
	if s.body != nil {
		s.body.Close()
	}
	s.release()
}

// Leave closes the response body before its end, which resets the stream.
func (s *h2Stream) Leave() {
	if s.body != nil {
		s.body.Close()
	}
	s.pw.CloseWithError(errAborted)
	s.cancel()
	s.release()
}

func (s *h2Stream) Close() error {
	s.pw.Close()
	if s.body != nil {
		s.body.Close()
	}
	s.cancel()
	s.release()
	return nil
}

// ---- HTTP/3 CONNECT streams over QUIC ----

type h3Conn struct {
	qc *quic.Conn
	cc *http3.ClientConn
	// With a transport of its own (a dedicated connection), vanish can
	// take the UDP socket away under quic-go.
	tr *quic.Transport
	uc *net.UDPConn
}

func (c *h3Conn) usable() bool { return c.qc.Context().Err() == nil }
func (c *h3Conn) close() {
	c.qc.CloseWithError(0, "")
	if c.tr != nil {
		c.tr.Close()
		c.uc.Close()
	}
}

// vanish closes the connection's UDP socket first, so that quic-go can
// send nothing more (no CONNECTION_CLOSE), then tears the connection
// down locally (Transport.Close destroys its connections silently).
func (c *h3Conn) vanish() error {
	if c.tr == nil {
		return errors.New("h3: vanish needs a connection of its own")
	}
	c.uc.Close()
	return c.tr.Close()
}

// dialH3 opens one QUIC connection (its own UDP socket, as a separate
// client would) and waits for the server's SETTINGS. With datagrams the
// connection offers QUIC and HTTP/3 datagrams and starts with 1,350-byte
// packets, so that a 1,200-byte datagram fits before path MTU discovery.
// With own, the socket is the tool's (see vanish).
func dialH3(ctx context.Context, addr string, datagrams, own bool, timeout time.Duration) (*h3Conn, error) {
	qconf := &quic.Config{HandshakeIdleTimeout: timeout, KeepAlivePeriod: 10 * time.Second}
	if datagrams {
		qconf.EnableDatagrams = true
		qconf.InitialPacketSize = 1350
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := &h3Conn{}
	var err error
	if own {
		ua, rerr := net.ResolveUDPAddr("udp", addr)
		if rerr != nil {
			return nil, rerr
		}
		if c.uc, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			return nil, err
		}
		c.tr = &quic.Transport{Conn: c.uc}
		c.qc, err = c.tr.Dial(dctx, ua, insecureTLS(http3.NextProtoH3), qconf)
		if err != nil {
			c.tr.Close()
			c.uc.Close()
		}
	} else {
		c.qc, err = quic.DialAddr(dctx, addr, insecureTLS(http3.NextProtoH3), qconf)
	}
	if err != nil {
		return nil, fmt.Errorf("quic: %w", err)
	}
	tr := &http3.Transport{DisableCompression: true, EnableDatagrams: datagrams}
	c.cc = tr.NewClientConn(c.qc)
	select {
	case <-c.cc.ReceivedSettings():
	case <-dctx.Done():
		c.close()
		return nil, fmt.Errorf("h3: no SETTINGS from the proxy: %w", dctx.Err())
	}
	if datagrams {
		if st := c.cc.Settings(); !st.EnableDatagrams || !st.EnableExtendedConnect {
			c.close()
			return nil, fmt.Errorf("h3: proxy offers datagrams %v, extended CONNECT %v", st.EnableDatagrams, st.EnableExtendedConnect)
		}
	}
	return c, nil
}

// newH3Pool: quic-go does not tell its user the server's stream limit and
// OpenRequestStream blocks while it is used up, so the pool counts
// perConn streams per connection (below sluice's --quic-max-streams 128).
func newH3Pool(addr string, datagrams bool, perConn, reuse int, timeout time.Duration) *pool[*h3Conn] {
	return &pool[*h3Conn]{reuse: reuse, dial: func(ctx context.Context) (*h3Conn, int, error) {
		c, err := dialH3(ctx, addr, datagrams, false, timeout)
		return c, perConn, err
	}}
}

// h3Open sends a CONNECT on a pooled connection, or with dedicated on a
// connection of its own (which the stream's vanish can take away).
func h3Open(ctx context.Context, p *pool[*h3Conn], addr, target string, dedicated bool, timeout time.Duration) (*h3Stream, error) {
	var c *h3Conn
	var release func()
	if dedicated {
		var err error
		if c, err = dialH3(ctx, addr, false, true, timeout); err != nil {
			return nil, err
		}
		release = c.close
	} else {
		sl, err := p.get(ctx)
		if err != nil {
			return nil, err
		}
		c, release = sl.c, func() { p.put(sl) }
	}
	rs, resp, err := h3connect.Open(ctx, c.cc, target, nil, timeout)
	if err != nil {
		release()
		return nil, err
	}
	s := &h3Stream{c: c, dedicated: dedicated, release: release, rs: rs}
	if resp.StatusCode/100 != 2 {
		s.Reset()
		return nil, &statusError{code: resp.StatusCode, line: resp.Status}
	}
	rs.SetDeadline(time.Time{})
	return s, nil
}

// h3Stream is one CONNECT request stream (RFC 9114 section 4.4).
type h3Stream struct {
	c         *h3Conn
	dedicated bool
	release   func()
	rs        *http3.RequestStream
	once      sync.Once

	mu     sync.Mutex
	finned bool // CloseWrite or Close sent FIN
}

func (s *h3Stream) Read(b []byte) (int, error)  { return s.rs.Read(b) }
func (s *h3Stream) Write(b []byte) (int, error) { return s.rs.Write(b) }

func (s *h3Stream) fin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finned {
		return nil
	}
	s.finned = true
	err := s.rs.Close()
	if err != nil {
		// quic-go's Close says only "close called for canceled stream";
		// a write tells why (it sends nothing on a canceled stream).
		if _, werr := s.rs.Write([]byte{0}); werr != nil {
			err = fmt.Errorf("%w (%w)", err, werr)
		}
	}
	return err
}

// stoppedAfterAnswer says whether a FIN failed because the proxy sent
// STOP_SENDING with H3_NO_ERROR: what a server does once the response is
// complete and it needs no more of the request.
func stoppedAfterAnswer(err error) bool {
	var se *quic.StreamError
	return errors.As(err, &se) && se.Remote && se.ErrorCode == quic.StreamErrorCode(http3.ErrCodeNoError)
}

func (s *h3Stream) CloseWrite() error { return s.fin() }

func (s *h3Stream) done() { s.once.Do(s.release) }

func (s *h3Stream) Reset() {
	h3connect.Abort(s.rs)
	s.done()
}

// Leave: a QUIC client that goes away mid-stream cancels it both ways.
func (s *h3Stream) Leave() { s.Reset() }

// Vanish takes the stream's connection away without a word (see vanish.go).
func (s *h3Stream) Vanish() error {
	if !s.dedicated {
		return errors.New("h3: vanish needs a connection of its own")
	}
	err := s.c.vanish()
	s.done()
	return err
}

// Close sends FIN (if not sent) and STOP_SENDING (H3_NO_ERROR, a no-op
// once the server's FIN was read).
func (s *h3Stream) Close() error {
	err := s.fin()
	s.rs.CancelRead(quic.StreamErrorCode(http3.ErrCodeNoError))
	s.done()
	return err
}
