package main

// End-to-end tests of HTTP/2 flow control on CONNECT streams: a slow reader
// on either side holds the other back, and the connection window gets back
// all its credit from streams that are refused or end while paused.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"
)

// TestE2EH2FlowSlowReaderPausesUpstream: when an HTTP/2 client stops reading
// a CONNECT stream, once the stream's window and the proxy's buffer are full
// the proxy stops reading the upstream (its memory for the tunnel stays near
// --buffer-size), and when the client reads again every byte arrives in
// order.
func TestE2EH2FlowSlowReaderPausesUpstream(t *testing.T) {
	data := make([]byte, 32<<20)
	_, _ = rand.Read(data)
	ln := funcOrigin(t, func(c net.Conn) {
		defer c.Close()
		_, _ = c.Write(data)
	})
	p := startOpenProxy(t, "--buffer-size", "262144", "--splice-after", "0")
	cc := h2ClientConn(t, p, true)
	resp, pw, err := h2Connect(cc, ln.Addr().String(), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	defer pw.Close()
	waitParked(t, p) // the client reads nothing yet
	got, err := io.ReadAll(resp.Body)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("got %d of %d bytes (err %v) after reading resumed", len(got), len(data), err)
	}
}

// TestE2EH2FlowFramesWhileBacklogged: a client whose socket has a backlog
// of tunnel data it has not read yet still may send frames (here a PING;
// a browser sends WINDOW_UPDATEs): the connection lives, the PING is
// answered and every byte arrives. The guard against a peer that makes
// the proxy queue answers without reading used to count the tunnels'
// bytes and a cap of 0, so any frame with anything queued ended the
// connection, and with it every download on it.
func TestE2EH2FlowFramesWhileBacklogged(t *testing.T) {
	t.Parallel()
	data := make([]byte, 32<<20)
	_, _ = rand.Read(data)
	ln := funcOrigin(t, func(c net.Conn) {
		defer c.Close()
		_, _ = c.Write(data)
	})
	// A 4 MiB watermark and a client receive buffer of 32 KiB: the kernel
	// takes little, so the proxy holds a backlog of its own.
	p := startOpenProxy(t, "--buffer-size", "4MiB", "--splice-after", "0")
	for _, useTLS := range []bool{true, false} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			_, cc := dialH2(t, p.addr(useTLS), useTLS, func(c *net.TCPConn) { _ = c.SetReadBuffer(32 << 10) })
			resp, pw, err := h2Connect(cc, ln.Addr().String(), nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("CONNECT: %v %v", resp, err)
			}
			defer pw.Close()
			waitParked(t, p) // the client reads nothing yet: data waits in the proxy
			pinged := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
				defer cancel()
				pinged <- cc.Ping(ctx)
			}()
			got, err := io.ReadAll(resp.Body)
			if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
				t.Fatalf("got %d of %d bytes (err %v) after a PING sent while backlogged", len(got), len(data), err)
			}
			if err := <-pinged; err != nil {
				t.Fatalf("the PING sent while backlogged: %v", err)
			}
		})
	}
}

// TestE2EH2FlowSlowUpstreamWithholdsCredit: an upstream that does not read
// makes the proxy stop returning flow-control credit on the CONNECT stream,
// so an HTTP/2 client that keeps sending is held to the windows plus the
// socket buffers, not the whole upload; once the upstream reads, every byte
// arrives.
func TestE2EH2FlowSlowUpstreamWithholdsCredit(t *testing.T) {
	t.Parallel()
	data := make([]byte, 48<<20)
	_, _ = rand.Read(data)
	start := make(chan struct{})
	got := make(chan [32]byte, 1)
	ln := funcOrigin(t, func(c net.Conn) {
		_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
		<-start
		h := sha256.New()
		_, _ = io.CopyN(h, c, int64(len(data)))
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		got <- sum
	})
	p := startOpenProxy(t, "--buffer-size", "262144")
	cc := h2ClientConn(t, p, true)
	resp, pw, err := h2Connect(cc, ln.Addr().String(), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	defer pw.Close()
	var written atomic.Int64
	go func() {
		for off := 0; off < len(data); off += 64 << 10 {
			n, err := pw.Write(data[off : off+64<<10])
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	// Wait until the client is stuck: no progress for half a second.
	last, still := int64(-1), time.Now()
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if w := written.Load(); w != last {
			last, still = w, time.Now()
		} else if time.Since(still) > 500*time.Millisecond {
			break
		}
	}
	t.Logf("accepted from the client while the upstream read nothing: %d bytes", written.Load())
	const bound = 16 << 20 // windows + --buffer-size + socket buffers, with room
	if w := written.Load(); w > bound {
		t.Fatalf("the client got %d bytes accepted while the upstream read nothing; want <= %d: credit was not withheld", w, bound)
	}
	close(start)
	select {
	case sum := <-got:
		if sum != sha256.Sum256(data) {
			t.Fatal("the upstream got other bytes than were sent")
		}
	case <-time.After(waitLimit):
		t.Fatalf("the upstream got no complete upload (%d bytes written)", written.Load())
	}
}

const (
	h2ConnWindow = 1 << 20 // h2.Config default ConnWindowSize
	// After every stream has ended and been answered, at most half the
	// connection window may still be waiting to be announced (the
	// WINDOW_UPDATE batching threshold); anything below means credit lost.
	h2MinSettledWindow = h2ConnWindow / 2
)

// TestE2EH2FlowRefusedSlowAuthReturnsConnCredit: CONNECT streams refused
// (407) after an off-loop password check give back the connection-window
// credit of all their DATA, what came during the check and what came after
// the answer, so once every stream is answered the client's connection send
// window is back to at least half the window. Credit lost this way would,
// after a few such streams, stall every tunnel of the connection.
// Regression: aa93714, fixed in 9580d13
func TestE2EH2FlowRefusedSlowAuthReturnsConnCredit(t *testing.T) {
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

// TestE2EH2FlowPausedStreamEndReturnsOwedCredit: CONNECT streams whose early
// DATA passed the high watermark while the upstream was still being dialed
// (so the proxy paused them and held back their credit) give that credit
// back when they end, here by a failed dial answered 5xx: the connection
// send window settles back to at least half the window.
// Regression: aa93714, fixed in 9580d13
func TestE2EH2FlowPausedStreamEndReturnsOwedCredit(t *testing.T) {
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
