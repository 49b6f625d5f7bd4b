package main

// Review tests: HTTP/2 connection-window credit that the CONNECT adapter
// (h2/protocol.go, h2/side.go) never gives back. The client here speaks raw
// frames so it can count the connection window exactly.

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawH2 is an h2c client (prior knowledge) that tracks its connection send
// window from the server's WINDOW_UPDATEs.
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

const (
	h2ConnWindow = 1 << 20 // h2.Config default ConnWindowSize
	// After every stream has ended and been answered, at most half the
	// connection window may still be waiting to be announced (the
	// WINDOW_UPDATE batching threshold); anything below means credit lost.
	h2MinSettledWindow = h2ConnWindow / 2
)

// A CONNECT whose password is checked off the loop (bcrypt) keeps the DATA
// that arrives meanwhile in an authWait. When the verdict is a refusal
// (407 here; also 429, 403 after a good password, and the probe-resistance
// hand-off to the site), h2/protocol.go admitted() returns without
// st.Consumed for aw.buf, and the stream keeps the *authWait as its user
// data, so DATA arriving after the answer is appended and never consumed
// either. When the client ends the stream normally the stream closes as
// "ended" and ServerConn does not refund: the connection window shrinks for
// good, and a few such streams stall every tunnel of the connection.
func TestReviewH2RefusedSlowAuthReturnsConnCredit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	authPath := filepath.Join(dir, "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "right-pass", "$2y$")+"\n")
	p := startOpenProxy(t, "--auth-file", authPath)
	c := dialRawH2(t, p.plain)

	const perStream = 200_000
	ids := []uint32{1, 3, 5}
	for _, id := range ids {
		c.connect(id, "127.0.0.1:9", hpack.HeaderField{Name: "proxy-authorization", Value: basic("bob", "wrong-pass")})
		c.send(id, perStream, true)
	}
	for _, id := range ids {
		c.waitFor("response on stream", func() bool { return c.headers[id] != "" })
		if got := c.headers[id]; got != "407" {
			t.Fatalf("stream %d: status %s, want 407", id, got)
		}
	}
	c.sync()
	if w := c.window(); w < h2MinSettledWindow {
		t.Fatalf("connection send window %d after %d bytes on refused streams, all answered: want >= %d; %d bytes of credit were never returned",
			w, len(ids)*perStream, h2MinSettledWindow, h2ConnWindow-w)
	}
}

// heldDNS is a UDP DNS server that keeps every query unanswered until
// release, then answers NXDOMAIN (to those and to later ones).
func heldDNS(t *testing.T) (addr string, release func()) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	type query struct {
		b    []byte
		from net.Addr
	}
	var mu sync.Mutex
	var held []query
	released := false
	done := make(chan struct{})
	t.Cleanup(func() { _ = pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := query{append([]byte(nil), buf[:k]...), from}
			mu.Lock()
			if !released {
				held = append(held, q)
				mu.Unlock()
				continue
			}
			mu.Unlock()
			if r := nxdomainFor(q.b); r != nil {
				_, _ = pc.WriteTo(r, q.from)
			}
		}
	}()
	return pc.LocalAddr().String(), func() {
		mu.Lock()
		released = true
		qs := held
		held = nil
		mu.Unlock()
		for _, q := range qs {
			if r := nxdomainFor(q.b); r != nil {
				_, _ = pc.WriteTo(r, q.from)
			}
		}
	}
}

// A CONNECT stream whose early bytes pass the high watermark while the
// upstream is still being dialed is paused (h2/side.go PauseRead): its
// credit is owed (sd.owed) until ResumeRead. When the dial then fails (502
// here; the same holds when the upstream ends the tunnel while the client
// is paused: Tunnel.OnClose -> side.CloseAfterFlush), side.finish never
// returns sd.owed. The client had ended its stream normally, so ServerConn
// does not refund it either: the connection window shrinks for good.
func TestReviewH2PausedStreamEndReturnsOwedCredit(t *testing.T) {
	t.Parallel()
	dns, release := heldDNS(t)
	p := startOpenProxy(t, "--resolver", dns, "--buffer-size", "4096")
	c := dialRawH2(t, p.plain)

	const perStream = 200_000
	ids := []uint32{1, 3, 5}
	for _, id := range ids {
		c.connect(id, "held.invalid:80")
		c.send(id, perStream, true)
	}
	c.sync() // every DATA frame reached its stream while the dials wait
	release()
	for _, id := range ids {
		c.waitFor("response on stream", func() bool { return c.headers[id] != "" })
		if got := c.headers[id]; !strings.HasPrefix(got, "5") {
			t.Fatalf("stream %d: status %s, want a 5xx dial failure", id, got)
		}
	}
	c.sync()
	if w := c.window(); w < h2MinSettledWindow {
		t.Fatalf("connection send window %d after %d bytes on streams that all ended: want >= %d; %d bytes of credit were never returned",
			w, len(ids)*perStream, h2MinSettledWindow, h2ConnWindow-w)
	}
}
