package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// h2Opener multiplexes CONNECT streams over a few TLS connections, the way
// browsers and NaïveProxy talk to an HTTP/2 proxy.
//
// It counts streams per connection itself instead of letting x/net queue a
// request when the server's SETTINGS_MAX_CONCURRENT_STREAMS is reached: a
// queued CONNECT in an idle test would wait forever for a stream that never
// ends. When every connection is full it dials another one.
type h2Opener struct {
	addr    string
	timeout time.Duration
	tr      *http2.Transport
	tlsConf *tls.Config
	padding bool // ask for NaïveProxy padding, and pad the first frames

	mu    sync.Mutex
	conns []*h2Conn
	next  int
}

type h2Conn struct {
	cc     *http2.ClientConn
	active int
	max    int
}

// newH2Opener dials conns connections up front so that their TLS
// handshakes are not part of the measurement.
func newH2Opener(addr string, conns int, timeout time.Duration) (*h2Opener, error) {
	if conns < 1 {
		conns = 1
	}
	o := &h2Opener{
		addr:    addr,
		timeout: timeout,
		tlsConf: insecureTLS("h2"),
		tr:      &http2.Transport{},
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

// ConnCount is the number of TLS connections used so far.
func (o *h2Opener) ConnCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.conns)
}

func (o *h2Opener) dial(ctx context.Context) (*h2Conn, error) {
	tc, err := dialTCP(ctx, o.addr, o.timeout)
	if err != nil {
		return nil, err
	}
	tc.SetDeadline(time.Now().Add(o.timeout))
	tlc := tls.Client(tc, o.tlsConf)
	if err := tlc.HandshakeContext(ctx); err != nil {
		tc.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	tc.SetDeadline(time.Time{})
	if p := tlc.ConnectionState().NegotiatedProtocol; p != "h2" {
		tlc.Close()
		return nil, fmt.Errorf("proxy negotiated %q, not h2", p)
	}
	cc, err := o.tr.NewClientConn(tlc)
	if err != nil {
		tlc.Close()
		return nil, err
	}
	// The stream limit is known only once the server's SETTINGS arrived;
	// until then State reports 0.
	limit := time.Now().Add(o.timeout)
	for {
		if m := cc.State().MaxConcurrentStreams; m > 0 {
			return &h2Conn{cc: cc, max: int(m)}, nil
		}
		if time.Now().After(limit) {
			cc.Close()
			return nil, errors.New("h2: no SETTINGS from proxy")
		}
		time.Sleep(time.Millisecond)
	}
}

// reserve picks a connection with a free stream slot, dialing a new one
// when all are full.
func (o *h2Opener) reserve(ctx context.Context) (*h2Conn, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range o.conns {
		c := o.conns[(o.next+i)%len(o.conns)]
		if c.active < c.max && !c.cc.State().Closing {
			o.next = (o.next + i + 1) % len(o.conns)
			c.active++
			return c, nil
		}
	}
	// Dialing under the lock serialises growth, which is what we want: one
	// new connection serves the next max streams.
	c, err := o.dial(ctx)
	if err != nil {
		return nil, err
	}
	o.conns = append(o.conns, c)
	c.active++
	return c, nil
}

func (o *h2Opener) release(c *h2Conn) {
	o.mu.Lock()
	c.active--
	o.mu.Unlock()
}

func (o *h2Opener) Open(ctx context.Context, target string) (tunnel, error) {
	c, err := o.reserve(ctx)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	req := (&http.Request{
		Method:     http.MethodConnect,
		URL:        &url.URL{Host: target},
		Host:       target,
		Header:     make(http.Header),
		Body:       pr,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
	}).WithContext(sctx)
	if o.padding {
		setPaddingRequest(req.Header)
	}
	s := &h2Stream{o: o, c: c, pw: pw, cancel: cancel}
	s.SetDeadline(time.Now().Add(o.timeout))
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.body = resp.Body
	if resp.StatusCode/100 != 2 {
		s.Close()
		return nil, fmt.Errorf("CONNECT refused: %s", resp.Status)
	}
	s.SetDeadline(time.Time{})
	if o.padding {
		if err := checkPaddingReply(resp.Header); err != nil {
			s.Close()
			return nil, err
		}
		return newPaddedTunnel(s), nil
	}
	return s, nil
}

func (o *h2Opener) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.conns {
		c.cc.Close()
	}
	o.conns = nil
}

// h2Stream is one CONNECT stream: the request body pipe carries bytes up,
// the response body carries them down.
type h2Stream struct {
	o      *h2Opener
	c      *h2Conn
	pw     *io.PipeWriter
	body   io.ReadCloser
	cancel context.CancelFunc

	mu     sync.Mutex
	timer  *time.Timer
	closed bool
}

func (s *h2Stream) Read(b []byte) (int, error)  { return s.body.Read(b) }
func (s *h2Stream) Write(b []byte) (int, error) { return s.pw.Write(b) }

// SetDeadline cancels the stream at t: a cancelled request fails both the
// pending body read and the pipe write, as a socket deadline would.
func (s *h2Stream) SetDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if !t.IsZero() && !s.closed {
		s.timer = time.AfterFunc(time.Until(t), s.cancel)
	}
	return nil
}

// Close ends the request body (END_STREAM) and then the stream.
func (s *h2Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.pw.Close()
	if s.body != nil {
		s.body.Close()
	}
	s.cancel()
	s.o.release(s.c)
	return nil
}
