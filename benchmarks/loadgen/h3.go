package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/quic-go/masque-go"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/yosida95/uritemplate/v3"

	"github.com/sluice-proxy/sluice/benchmarks/internal/connectudp"
	"github.com/sluice-proxy/sluice/benchmarks/internal/h3connect"
)

// h3Opener multiplexes CONNECT streams over a few QUIC connections, as
// h2Opener does over TLS: one request stream per tunnel (RFC 9114 §4.4),
// the tunnel's bytes in DATA frames.
//
// quic-go's OpenRequestStream blocks while the server's stream limit
// (initial_max_streams_bidi, then MAX_STREAMS) is reached, and quic-go does
// not tell its user what that limit is. So the opener counts the streams of
// each connection against a fixed figure, -h3-streams, and dials another
// connection when every one is full; a CONNECT that waited for a stream
// held by an idle tunnel would wait forever. The figure must not be above
// any server's limit: 100 is quic-go's default MaxIncomingStreams (Caddy),
// sluice's --quic-max-streams is 128.
type h3Opener struct {
	addr      string
	timeout   time.Duration
	streams   int
	datagrams bool // HTTP/3 datagrams on (RFC 9297), for connect-udp flows
	padding   bool // ask for NaïveProxy padding, and pad the first frames
	tlsConf   *tls.Config
	qconf     *quic.Config
	tr        *http3.Transport

	mu    sync.Mutex
	conns []*h3Conn
	next  int
}

type h3Conn struct {
	qc     *quic.Conn
	cc     *http3.ClientConn
	mc     *masque.ClientConn // with datagrams: connect-udp on cc
	active int
}

// newH3Opener dials conns QUIC connections up front so that their
// handshakes are not part of the measurement. Every connection has its own
// UDP socket, as separate clients would. With datagrams the connections
// offer QUIC and HTTP/3 datagrams and start with 1,350-byte packets (what
// masque-go's own Transport does), so that a 1,200-byte payload fits in
// one DATAGRAM frame before path MTU discovery has run.
func newH3Opener(addr string, conns, streams int, timeout time.Duration, datagrams bool) (*h3Opener, error) {
	if conns < 1 {
		conns = 1
	}
	if streams < 1 {
		return nil, fmt.Errorf("-h3-streams %d: at least 1", streams)
	}
	o := &h3Opener{
		addr:      addr,
		timeout:   timeout,
		streams:   streams,
		datagrams: datagrams,
		tlsConf:   insecureTLS(http3.NextProtoH3),
		qconf: &quic.Config{
			HandshakeIdleTimeout: timeout,
			// The server closes a silent connection (sluice after 30 s);
			// an idle test with -hold must not lose its tunnels to that.
			KeepAlivePeriod: 10 * time.Second,
		},
		// No Accept-Encoding on a CONNECT.
		tr: &http3.Transport{DisableCompression: true, EnableDatagrams: datagrams},
	}
	if datagrams {
		o.qconf.EnableDatagrams = true
		o.qconf.InitialPacketSize = 1350
	}
	for i := 0; i < conns; i++ {
		c, err := o.dial(context.Background())
		if err != nil {
			o.Close()
			return nil, err
		}
		o.conns = append(o.conns, c)
	}
	return o, nil
}

// ConnCount is the number of QUIC connections used so far.
func (o *h3Opener) ConnCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.conns)
}

func (o *h3Opener) dial(ctx context.Context) (*h3Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	qc, err := quic.DialAddr(dctx, o.addr, o.tlsConf, o.qconf)
	if err != nil {
		return nil, fmt.Errorf("quic: %w", err)
	}
	if p := qc.ConnectionState().TLS.NegotiatedProtocol; p != http3.NextProtoH3 {
		qc.CloseWithError(0, "")
		return nil, fmt.Errorf("proxy negotiated %q, not h3", p)
	}
	cc := o.tr.NewClientConn(qc)
	// The server's SETTINGS come on its control stream; a server that
	// never sends them is not speaking HTTP/3.
	select {
	case <-cc.ReceivedSettings():
	case <-dctx.Done():
		qc.CloseWithError(0, "")
		return nil, fmt.Errorf("h3: no SETTINGS from proxy: %w", dctx.Err())
	}
	c := &h3Conn{qc: qc, cc: cc}
	if o.datagrams {
		if s := cc.Settings(); !s.EnableDatagrams || !s.EnableExtendedConnect {
			qc.CloseWithError(0, "")
			return nil, fmt.Errorf("h3: proxy offers datagrams %v, extended CONNECT %v; connect-udp needs both", s.EnableDatagrams, s.EnableExtendedConnect)
		}
		c.mc = masque.NewClientConn(cc)
	}
	return c, nil
}

// reserve picks a connection with a free stream slot, dialing a new one
// when all are full (or closed).
func (o *h3Opener) reserve(ctx context.Context) (*h3Conn, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range o.conns {
		c := o.conns[(o.next+i)%len(o.conns)]
		if c.active < o.streams && c.qc.Context().Err() == nil {
			o.next = (o.next + i + 1) % len(o.conns)
			c.active++
			return c, nil
		}
	}
	// Under the lock, as in h2Opener: one new connection serves the next
	// -h3-streams tunnels.
	c, err := o.dial(ctx)
	if err != nil {
		return nil, err
	}
	o.conns = append(o.conns, c)
	c.active++
	return c, nil
}

func (o *h3Opener) release(c *h3Conn) {
	o.mu.Lock()
	c.active--
	o.mu.Unlock()
}

func (o *h3Opener) Open(ctx context.Context, target string) (tunnel, error) {
	c, err := o.reserve(ctx)
	if err != nil {
		return nil, err
	}
	hdr := make(http.Header)
	if o.padding {
		setPaddingRequest(hdr)
	}
	rs, resp, err := h3connect.Open(ctx, c.cc, target, hdr, o.timeout)
	if err != nil {
		o.release(c)
		return nil, err
	}
	s := &h3Stream{o: o, c: c, rs: rs}
	if resp.StatusCode/100 != 2 {
		s.abort()
		return nil, fmt.Errorf("CONNECT refused: %s", resp.Status)
	}
	if o.padding {
		if err := checkPaddingReply(resp.Header); err != nil {
			s.abort()
			return nil, err
		}
		rs.SetDeadline(time.Time{})
		return newPaddedTunnel(s), nil
	}
	rs.SetDeadline(time.Time{})
	return s, nil
}

func (o *h3Opener) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.conns {
		c.qc.CloseWithError(0, "")
	}
	o.conns = nil
	o.tr.Close()
}

// h3Stream is one CONNECT request stream.
type h3Stream struct {
	o  *h3Opener
	c  *h3Conn
	rs *http3.RequestStream

	mu     sync.Mutex
	closed bool
}

func (s *h3Stream) Read(b []byte) (int, error)    { return s.rs.Read(b) }
func (s *h3Stream) Write(b []byte) (int, error)   { return s.rs.Write(b) }
func (s *h3Stream) SetDeadline(t time.Time) error { return s.rs.SetDeadline(t) }

// markClosed reports whether this is the first Close or abort.
func (s *h3Stream) markClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.closed
	s.closed = true
	return first
}

// Close sends FIN (the tunnel's half-close, as END_STREAM in h2), then
// stops reading with STOP_SENDING (H3_NO_ERROR) instead of waiting for the
// server's FIN: the stream then ends on both sides without the tool
// draining it, as closing the response body ends an h2 stream with
// RST_STREAM. A tunnel that is closed counts as free at once; the server
// returns the stream credit a round trip later.
func (s *h3Stream) Close() error {
	if !s.markClosed() {
		return nil
	}
	err := s.rs.Close()
	s.rs.CancelRead(quic.StreamErrorCode(http3.ErrCodeNoError))
	s.o.release(s.c)
	return err
}

// abort resets both directions of a stream whose CONNECT failed.
func (s *h3Stream) abort() {
	if !s.markClosed() {
		return
	}
	h3connect.Abort(s.rs)
	s.o.release(s.c)
}

// h3FlowOpener opens connect-udp flows with masque-go's client, each an
// extended CONNECT request stream on the h3 opener's connections (so up
// to -h3-streams flows share one QUIC connection) whose datagrams are
// QUIC DATAGRAM frames (RFC 9297 section 2.1, context ID 0).
type h3FlowOpener struct {
	*h3Opener
	tmpl *uritemplate.Template
}

func (o *h3FlowOpener) OpenFlow(ctx context.Context, target string) (flow, error) {
	c, err := o.reserve(ctx)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := masque.NewRequest(dctx, o.tmpl, target)
	if err != nil {
		o.release(c)
		return nil, err
	}
	// masque-go waits for the response without a bound of its own (the
	// request context only bounds opening the stream): a proxy that
	// does not answer within -timeout loses the whole connection, which
	// ends the wait.
	watchdog := time.AfterFunc(o.timeout, func() {
		c.qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeRequestCanceled), "no connect-udp answer")
	})
	mc, resp, err := c.mc.Dial(req)
	watchdog.Stop()
	if err != nil {
		o.release(c)
		if resp != nil {
			return nil, fmt.Errorf("connect-udp refused: %s", resp.Status)
		}
		return nil, err
	}
	return &masqueFlow{Masque: connectudp.Masque{Conn: mc}, o: o.h3Opener, c: c}, nil
}

// masqueFlow is masque-go's Conn. Send and Recv are connectudp.Masque's,
// which never uses read deadlines (see there): the flow's reader
// goroutine blocks in Recv until Close, and the dgram loop times
// datagrams out itself.
type masqueFlow struct {
	connectudp.Masque
	o    *h3Opener
	c    *h3Conn
	once sync.Once
	err  error
}

func (f *masqueFlow) Close() error {
	f.once.Do(func() {
		f.err = f.Conn.Close()
		f.o.release(f.c)
	})
	return f.err
}
