package main

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// pingPong sends one byte through an echo tunnel and reads it back.
func pingPong(c net.Conn, b byte) error {
	if _, err := c.Write([]byte{b}); err != nil {
		return err
	}
	got := make([]byte, 1)
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if got[0] != b {
		return errors.New("echo returned a different byte")
	}
	return nil
}

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

// TestE2EGracefulDrain: during shutdown new conns are refused on both
// listeners, an open tunnel keeps moving bytes until its client closes it,
// and shutdown then returns nil.
func TestE2EGracefulDrain(t *testing.T) {
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

// TestE2EDrainTimeoutCuts: a tunnel still open when the drain deadline
// passes is cut, shutdown reports the deadline, and the client sees the
// conn end.
func TestE2EDrainTimeoutCuts(t *testing.T) {
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
}

// TestE2EIdleTimeout: --idle-timeout 1s closes a silent tunnel and logs
// idle_timeout; a tunnel with a byte every 300 ms for 2 s stays open.
func TestE2EIdleTimeout(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t, "--idle-timeout", "1s")

	t.Run("silent", func(t *testing.T) {
		t.Parallel()
		c := openTunnel(t, p, false, echo.addr())
		local := c.LocalAddr().String()
		_ = c.SetReadDeadline(time.Now().Add(waitLimit))
		n, err := c.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("silent tunnel still open after %v with --idle-timeout 1s", waitLimit)
		}
		if n != 0 || err == nil {
			t.Fatalf("read %d bytes, %v; want the conn closed", n, err)
		}
		// Find this tunnel's line by its client address.
		deadline := time.Now().Add(waitLimit)
		for {
			for _, l := range p.readLog() {
				if l.str("client") == local {
					if l.str("reason") != "idle_timeout" {
						t.Fatalf("idle tunnel logged with reason %q: %v", l.str("reason"), l)
					}
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no access-log line for the idle tunnel: %v", p.readLog())
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("chatty", func(t *testing.T) {
		t.Parallel()
		for _, useTLS := range []bool{false, true} {
			c := openTunnel(t, p, useTLS, echo.addr())
			end := time.Now().Add(2 * time.Second)
			i := 0
			for time.Now().Before(end) {
				if err := pingPong(c, byte('a'+i%26)); err != nil {
					t.Fatalf("%s: tunnel with traffic every 300ms closed after %d round trips: %v", listenerName(useTLS), i, err)
				}
				i++
				time.Sleep(300 * time.Millisecond) // pacing the traffic, not synchronization
			}
			if err := pingPong(c, '!'); err != nil {
				t.Fatalf("%s: tunnel closed: %v", listenerName(useTLS), err)
			}
			_ = c.Close()
		}
	})
}

// TestE2EMaxConns: with --max-conns 2 and two conns held, a third is closed
// at once without an answer; after one closes, a new conn is served.
func TestE2EMaxConns(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t, "--max-conns", "2")
	first := openTunnel(t, p, false, echo.addr())
	second := openTunnel(t, p, true, echo.addr())
	if got := p.s.eng.ActiveConns(); got != 2 {
		t.Fatalf("active conns %d, want 2", got)
	}

	for _, useTLS := range []bool{false, true} {
		raw, err := net.DialTimeout("tcp", p.addr(useTLS), 5*time.Second)
		if errors.Is(err, syscall.ECONNRESET) {
			continue // the proxy's reset won the race with connect's return
		}
		if err != nil {
			t.Fatalf("dial: %v", err) // the kernel completes the handshake; the proxy closes it
		}
		_ = raw.SetDeadline(time.Now().Add(waitLimit))
		_, _ = io.WriteString(raw, connectReq(echo.addr())) // may fail once the reset arrives
		b, err := io.ReadAll(raw)
		_ = raw.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%s: third conn not closed within %v", listenerName(useTLS), waitLimit)
		}
		if len(b) > 0 {
			t.Fatalf("%s: third conn got %q", listenerName(useTLS), b)
		}
	}
	if st := p.s.eng.Stats(); st.Rejected != 2 {
		t.Errorf("rejected %d conns, want 2", st.Rejected)
	}
	// The held tunnels are unaffected.
	for _, c := range []net.Conn{first, second} {
		if err := pingPong(c, 'x'); err != nil {
			t.Fatalf("held tunnel broken: %v", err)
		}
	}

	_ = first.Close()
	deadline := time.Now().Add(waitLimit)
	for p.s.eng.ActiveConns() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("closing a tunnel did not free its slot: active=%d", p.s.eng.ActiveConns())
		}
		time.Sleep(10 * time.Millisecond)
	}
	third := openTunnel(t, p, false, echo.addr())
	if err := pingPong(third, 'y'); err != nil {
		t.Fatal(err)
	}
	_ = third.Close()
	_ = second.Close()
}
