package main

// HTTP/2 clients for the end-to-end tests: x/net/http2 client conns to
// the proxy (TLS with ALPN h2, or h2c with prior knowledge) and CONNECT
// streams over them; bounded reads of stream bodies; and rawH2, a client
// that writes frames itself, for what an x/net client will not send and
// for counting the connection window exactly.

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Over starts an HTTP/2 client conn over c.
func h2Over(t *testing.T, c net.Conn) *http2.ClientConn {
	t.Helper()
	cc, err := (&http2.Transport{}).NewClientConn(c)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// h2ClientConn opens an HTTP/2 conn to the proxy: TLS with ALPN h2, or h2c
// with prior knowledge on the plain listener. The socket is closed at
// cleanup.
func h2ClientConn(t *testing.T, p *proxy, useTLS bool) *http2.ClientConn {
	t.Helper()
	_, cc := dialH2(t, p.addr(useTLS), useTLS, nil)
	return cc
}

// dialH2 is h2ClientConn to addr that also returns the TCP socket (for
// tests that cut it or size its buffers: tune, if set, runs before the
// handshake).
func dialH2(t *testing.T, addr string, useTLS bool, tune func(*net.TCPConn)) (*net.TCPConn, *http2.ClientConn) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	raw := nc.(*net.TCPConn)
	t.Cleanup(func() { _ = raw.Close() })
	if tune != nil {
		tune(raw)
	}
	var c net.Conn = raw
	if useTLS {
		tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		if got := tc.ConnectionState().NegotiatedProtocol; got != "h2" {
			t.Fatalf("ALPN = %q; want h2", got)
		}
		c = tc
	}
	return raw, h2Over(t, c)
}

// h2From opens an HTTP/2 conn over TLS (ALPN h2) to the proxy from the
// loopback address src, with dialFrom's deadline.
func h2From(t *testing.T, p *proxy, src string) *http2.ClientConn {
	t.Helper()
	c := dialFrom(t, p.tls, true, src, "h2")
	if got := c.(*tls.Conn).ConnectionState().NegotiatedProtocol; got != "h2" {
		t.Fatalf("ALPN = %q; want h2", got)
	}
	return h2Over(t, c)
}

// h2Connect opens a CONNECT stream to target with the header fields hdr
// (nil for none); the returned writer feeds the stream and the response
// body reads it.
func h2Connect(cc *http2.ClientConn, target string, hdr http.Header) (*http.Response, *io.PipeWriter, error) {
	pr, pw := io.Pipe()
	if hdr == nil {
		hdr = http.Header{}
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Host: target}, Host: target, Header: hdr, Body: pr}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		pw.Close()
		return nil, nil, err
	}
	return resp, pw, nil
}

// h2Status sends a CONNECT for target over cc, reads the response head,
// closes the stream and returns the response (its body already drained).
func h2Status(t *testing.T, cc *http2.ClientConn, target string, hdr http.Header) *http.Response {
	t.Helper()
	resp, pw, err := h2Connect(cc, target, hdr)
	if err != nil {
		t.Fatalf("h2 CONNECT %s: %v", target, err)
	}
	pw.Close()
	if resp.StatusCode != 200 {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	return resp
}

// h2Echo opens a CONNECT stream to an echo origin and checks one round trip.
func h2Echo(t *testing.T, cc *http2.ClientConn, target string, hdr http.Header) {
	t.Helper()
	resp, pw, err := h2Connect(cc, target, hdr)
	if err != nil {
		t.Fatalf("h2 CONNECT %s: %v", target, err)
	}
	defer resp.Body.Close()
	defer pw.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("h2 CONNECT %s: status %d; want 200", target, resp.StatusCode)
	}
	msg := []byte("h2 ping " + target)
	go func() { _, _ = pw.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != string(msg) {
		t.Fatalf("h2 echo through %s: got %q (%v); want %q", target, got, err, msg)
	}
}

// h2Answer is a CONNECT's response over HTTP/2 with the body read whole.
type h2Answer struct {
	status int
	header http.Header
	body   string
}

// h2Ask sends a CONNECT for target over cc and returns the answer, its
// date field removed, with the body read to its end (bounded).
func h2Ask(t *testing.T, cc *http2.ClientConn, target string, hdr http.Header) h2Answer {
	t.Helper()
	resp, pw, err := h2Connect(cc, target, hdr)
	if err != nil {
		t.Fatalf("h2 CONNECT %s: %v", target, err)
	}
	defer pw.Close()
	body := make([]byte, 1<<16)
	n, err := readAllTimeout(resp.Body, body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("h2 CONNECT %s: body: %v", target, err)
	}
	h := resp.Header.Clone()
	h.Del("Date")
	return h2Answer{resp.StatusCode, h, string(body[:n])}
}

// readWithin runs read on another goroutine and gives up after waitLimit,
// for bodies without a deadline of their own (h2 streams).
func readWithin(read func() (int, error)) (int, error) {
	type res struct {
		n   int
		err error
	}
	ch := make(chan res, 1)
	go func() {
		n, err := read()
		ch <- res{n, err}
	}()
	select {
	case x := <-ch:
		return x.n, x.err
	case <-time.After(waitLimit):
		return 0, os.ErrDeadlineExceeded
	}
}

// readFullTimeout is io.ReadFull bounded by waitLimit, for bodies without
// a deadline of their own (h2 streams).
func readFullTimeout(r interface{ Read([]byte) (int, error) }, buf []byte) (int, error) {
	return readWithin(func() (int, error) {
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var k int
			k, err = r.Read(buf[n:])
			n += k
		}
		if n == len(buf) {
			err = nil
		}
		return n, err
	})
}

// readAllTimeout reads r to EOF into buf, bounded by waitLimit.
func readAllTimeout(r io.Reader, buf []byte) (int, error) {
	return readWithin(func() (int, error) {
		n := 0
		for {
			k, err := r.Read(buf[n:])
			n += k
			if err != nil || n == len(buf) {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				return n, err
			}
		}
	})
}

// rawH2 is an h2c client (prior knowledge) that writes its own frames and
// tracks its connection send window from the server's WINDOW_UPDATEs, the
// response status and any RST_STREAM of each stream, and PING ACKs.
type rawH2 struct {
	t   *testing.T
	nc  net.Conn
	fr  *http2.Framer
	wmu sync.Mutex

	mu      sync.Mutex
	cond    *sync.Cond
	connWin int64                    // our connection send window
	headers map[uint32]string        // :status of each stream's response
	resets  map[uint32]http2.ErrCode // RST_STREAM the server sent, by stream
	pings   int
	readErr error
	gotInit bool // the server's SETTINGS came
}

// dialRawH2 connects to addr (a plain listener), sends the preface and
// SETTINGS, and returns once the server's SETTINGS and first connection
// WINDOW_UPDATE came. The conn has a 30 s deadline and is closed at
// cleanup.
func dialRawH2(t *testing.T, addr string) *rawH2 {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := &rawH2{t: t, nc: nc, fr: http2.NewFramer(nc, nc), connWin: 65535, headers: map[uint32]string{}, resets: map[uint32]http2.ErrCode{}}
	c.cond = sync.NewCond(&c.mu)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := nc.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	c.write(func() error { return c.fr.WriteSettings() })
	go c.read()
	c.waitFor("the server's SETTINGS", func() bool { return c.gotInit && c.connWin > 65535 })
	return c
}

func (c *rawH2) write(fn func() error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := fn(); err != nil {
		c.t.Errorf("write: %v", err)
	}
}

func (c *rawH2) read() {
	for {
		f, err := c.fr.ReadFrame()
		c.mu.Lock()
		if err != nil {
			c.readErr = err
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.gotInit = true
				c.write(func() error { return c.fr.WriteSettingsAck() })
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				c.connWin += int64(f.Increment)
			}
		case *http2.MetaHeadersFrame:
			c.headers[f.StreamID] = f.PseudoValue("status")
		case *http2.RSTStreamFrame:
			c.resets[f.StreamID] = f.ErrCode
		case *http2.PingFrame:
			if f.IsAck() {
				c.pings++
			}
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// waitFor waits (bounded) until ok, which runs with c.mu held.
func (c *rawH2) waitFor(what string, ok func() bool) {
	c.t.Helper()
	stop := time.AfterFunc(waitLimit, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer stop.Stop()
	deadline := time.Now().Add(waitLimit)
	c.mu.Lock()
	defer c.mu.Unlock()
	for !ok() {
		if c.readErr != nil {
			c.t.Fatalf("waiting for %s: read: %v", what, c.readErr)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no %s within %v", what, waitLimit)
		}
		c.cond.Wait()
	}
}

// connect opens a CONNECT stream to authority with extra header fields.
func (c *rawH2) connect(id uint32, authority string, extra ...hpack.HeaderField) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	_ = enc.WriteField(hpack.HeaderField{Name: ":method", Value: "CONNECT"})
	_ = enc.WriteField(hpack.HeaderField{Name: ":authority", Value: authority})
	for _, f := range extra {
		_ = enc.WriteField(f)
	}
	c.write(func() error {
		return c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf.Bytes(), EndHeaders: true})
	})
}

// send writes n bytes of DATA on stream id (END_STREAM on the last frame
// when end), within the windows the server granted.
func (c *rawH2) send(id uint32, n int, end bool) {
	c.t.Helper()
	chunk := make([]byte, 16384)
	for n > 0 {
		k := min(n, len(chunk))
		c.waitFor("connection window", func() bool { return c.connWin >= int64(k) })
		c.mu.Lock()
		c.connWin -= int64(k)
		c.mu.Unlock()
		n -= k
		last := n == 0 && end
		c.write(func() error { return c.fr.WriteData(id, last, chunk[:k]) })
	}
}

// sync sends a PING and waits for its ACK: the server has processed every
// frame written before it, and we have read every frame it wrote before.
func (c *rawH2) sync() {
	c.t.Helper()
	c.mu.Lock()
	want := c.pings + 1
	c.mu.Unlock()
	c.write(func() error { return c.fr.WritePing(false, [8]byte{1}) })
	c.waitFor("PING ACK", func() bool { return c.pings >= want })
}

func (c *rawH2) window() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connWin
}
