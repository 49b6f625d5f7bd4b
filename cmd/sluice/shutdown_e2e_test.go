package main

// End-to-end tests of shutdown: the graceful drain over HTTP/1.1 and HTTP/2,
// the drain deadline, and a shutdown right after TLS handshakes.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// waitRefused polls until a dial to addr is refused. A dial that still
// succeeds (the listener not closed yet) is closed at once; one reset while
// the listener closes (its backlog is reset) is polled past too.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	var last error
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if errors.Is(err, syscall.ECONNREFUSED) {
			return
		}
		if err == nil {
			_ = c.Close()
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("%s not refusing connections %v into the drain (last dial: %v)", addr, waitLimit, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestE2EShutdownGracefulDrain: during shutdown new conns are refused on
// both listeners, an open tunnel keeps moving bytes until its client closes
// it, and shutdown then returns nil; the tunnels are logged as closed by
// their clients, not by the shutdown.
func TestE2EShutdownGracefulDrain(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	plainTun := openTunnel(t, p, false, echo.addr())
	tlsTun := openTunnel(t, p, true, echo.addr())
	for _, c := range []net.Conn{plainTun, tlsTun} {
		if err := pingPong(c, 'a'); err != nil {
			t.Fatal(err)
		}
	}

	p.stopped = true
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		done <- p.s.shutdown(ctx)
	}()
	waitRefused(t, p.plain)
	waitRefused(t, p.tls)

	for i, c := range []net.Conn{plainTun, tlsTun} {
		for j := 0; j < 3; j++ {
			if err := pingPong(c, byte('b'+j)); err != nil {
				t.Fatalf("tunnel %d stopped moving bytes during the drain: %v", i, err)
			}
		}
	}
	select {
	case err := <-done:
		t.Fatalf("shutdown returned %v with two tunnels still open", err)
	default:
	}
	_ = plainTun.Close()
	if err := pingPong(tlsTun, 'z'); err != nil {
		t.Fatalf("the TLS tunnel broke when the other closed: %v", err)
	}
	_ = tlsTun.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown returned %v after every tunnel closed (active=%d)", err, p.s.eng.ActiveConns())
		}
	case <-time.After(waitLimit):
		t.Fatalf("shutdown did not return")
	}
	lines := p.readLog()
	if len(lines) != 2 {
		t.Fatalf("want 2 access-log lines after the drain, got %v", lines)
	}
	for _, l := range lines {
		if l.num("status") != 200 || l.str("reason") == "shutdown" {
			t.Errorf("tunnel closed by its client during a drain logged as %v", l)
		}
	}
}

// TestE2EShutdownDrainTimeoutCuts: a tunnel still open when the drain
// deadline passes is cut, shutdown reports the deadline, and the client sees
// the conn end.
func TestE2EShutdownDrainTimeoutCuts(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	c := openTunnel(t, p, false, echo.addr())
	if err := pingPong(c, 'a'); err != nil {
		t.Fatal(err)
	}
	p.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := p.s.shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown with a tunnel open past the deadline = %v, want DeadlineExceeded", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("tunnel still delivers after the drain deadline")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("tunnel left open after shutdown returned")
	}
	if l := p.waitLog(echo.addr()); l.str("reason") != "shutdown" {
		t.Errorf("a tunnel cut by the drain timeout is logged %v; want reason shutdown", l)
	}
}

// TestE2EShutdownH2GracefulDrain: in a graceful drain an HTTP/2 conn gets
// GOAWAY and takes no new stream, its open tunnel keeps moving bytes until
// it ends, and shutdown returns once it has.
func TestE2EShutdownH2GracefulDrain(t *testing.T) {
	echo := startEcho(t)
	p := startOpenProxy(t)
	cc := h2ClientConn(t, p, true)
	resp, pw, err := h2Connect(cc, echo.addr(), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	roundTrip := func(msg string) {
		t.Helper()
		if _, err := pw.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q: got %q, %v", msg, buf, err)
		}
	}
	roundTrip("before")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- p.s.shutdown(ctx)
	}()
	p.stopped = true
	deadline := time.Now().Add(waitLimit)
	for cc.CanTakeNewRequest() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if cc.CanTakeNewRequest() {
		t.Fatal("no GOAWAY: the client conn still takes new requests after shutdown began")
	}
	roundTrip("during the drain")
	select {
	case err := <-done:
		t.Fatalf("shutdown returned (%v) while a tunnel was open", err)
	default:
	}
	pw.Close() // END_STREAM: the echo origin closes, the tunnel ends
	_, _ = io.ReadAll(resp.Body)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("shutdown did not return after the last tunnel ended")
	}
}

// TestE2EShutdownAfterTLSAccepts: TLS conns that complete their handshake
// and close are all counted closed, and a shutdown then returns nil, with
// no data race between the handshakes and the listener's teardown (the
// race detector checks that under -race). It starts its own proxy, so it
// holds in any test order.
// Regression: 18ca491, fixed in 817dfad
func TestE2EShutdownAfterTLSAccepts(t *testing.T) {
	p := startOpenProxy(t)
	for i := 0; i < 4; i++ {
		c := dialProxy(t, p.tls, true)
		_ = c.Close()
	}
	deadline := time.Now().Add(waitLimit)
	for p.s.eng.ActiveConns() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("closed TLS conns still counted open: %d", p.s.eng.ActiveConns())
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.s.shutdown(ctx); err != nil {
		t.Fatalf("shutdown with no conns open: %v", err)
	}
}

// TestE2EShutdownH2TwoGoAways: the drain as a raw client sees it: a first
// GOAWAY naming the largest stream id (streams in flight still come), a
// second one naming the last stream served; a stream opened after it gets
// REFUSED_STREAM while the open tunnel still echoes, and shutdown returns
// nil once that tunnel ends.
func TestE2EShutdownH2TwoGoAways(t *testing.T) {
	echo := startEcho(t)
	p := startOpenProxy(t)
	c := dialSilentH2(t, p.plain)
	c.until(t, "the server's SETTINGS", func(f http2.Frame) bool {
		s, ok := f.(*http2.SettingsFrame)
		return ok && !s.IsAck()
	})
	if err := c.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	connect := func(id uint32) {
		t.Helper()
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		_ = enc.WriteField(hpack.HeaderField{Name: ":method", Value: "CONNECT"})
		_ = enc.WriteField(hpack.HeaderField{Name: ":authority", Value: echo.addr()})
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	echoes := func(msg string) {
		t.Helper()
		if err := c.fr.WriteData(1, false, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		d := c.until(t, "the echo of "+msg, func(f http2.Frame) bool {
			d, ok := f.(*http2.DataFrame)
			return ok && d.StreamID == 1
		}).(*http2.DataFrame)
		if string(d.Data()) != msg {
			t.Fatalf("echo %q; want %q", d.Data(), msg)
		}
	}
	connect(1)
	c.until(t, "the 200 of stream 1", func(f http2.Frame) bool {
		h, ok := f.(*http2.MetaHeadersFrame)
		return ok && h.StreamID == 1 && h.PseudoValue("status") == "200"
	})
	echoes("before")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- p.s.shutdown(ctx)
	}()
	p.stopped = true
	first := c.until(t, "the first GOAWAY", goAwayWith(http2.ErrCodeNo)).(*http2.GoAwayFrame)
	if first.LastStreamID != 1<<31-1 {
		t.Errorf("first GOAWAY names stream %d; want 2^31-1", first.LastStreamID)
	}
	second := c.until(t, "the second GOAWAY", goAwayWith(http2.ErrCodeNo)).(*http2.GoAwayFrame)
	if second.LastStreamID != 1 {
		t.Errorf("second GOAWAY names stream %d; want 1, the last one served", second.LastStreamID)
	}
	connect(3)
	rst := c.until(t, "RST_STREAM for stream 3", func(f http2.Frame) bool {
		r, ok := f.(*http2.RSTStreamFrame)
		return ok && r.StreamID == 3
	}).(*http2.RSTStreamFrame)
	if rst.ErrCode != http2.ErrCodeRefusedStream {
		t.Errorf("stream 3 after the drain's GOAWAY: %v; want REFUSED_STREAM", rst.ErrCode)
	}
	echoes("during the drain")
	select {
	case err := <-done:
		t.Fatalf("shutdown returned (%v) while a tunnel was open", err)
	default:
	}
	if err := c.fr.WriteData(1, true, nil); err != nil { // END_STREAM: the echo origin closes
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("shutdown did not return after the last tunnel ended")
	}
}
