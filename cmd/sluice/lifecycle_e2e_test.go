package main

// End-to-end tests of how an open tunnel ends without a shutdown: the idle
// timeout, and the bounded wait for a client that stops reading after the
// upstream ended.

import (
	"net"
	"testing"
	"time"
)

// TestE2ELifecycleIdleTimeout: --idle-timeout 1s closes a silent tunnel and
// logs idle_timeout; a tunnel with a byte every 300 ms for 2 s stays open,
// on both listeners.
func TestE2ELifecycleIdleTimeout(t *testing.T) {
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

// TestE2ELifecycleStalledClientCutAfterUpstreamEOF: when the upstream ends
// while bytes toward the client are still queued in the proxy, and the
// client stops reading but keeps its socket open, the proxy still ends the
// tunnel (at the idle timeout or the linger after close) and logs it, rather
// than holding the client conn, its limit slots and a drain for as long as
// the client likes.
// Regression: cd45c2b, fixed in 9580d13
func TestE2ELifecycleStalledClientCutAfterUpstreamEOF(t *testing.T) {
	t.Parallel()
	wrote := make(chan error, 1)
	ln := funcOrigin(t, func(c net.Conn) {
		_, err := c.Write(make([]byte, 16<<20))
		wrote <- err
	})
	target := ln.Addr().String()
	// A high watermark above the response: the proxy reads all of it, so
	// the origin finishes and closes, and the bytes wait on the proxy.
	p := startOpenProxy(t, "--buffer-size", "67108864", "--idle-timeout", "1s")
	c := openTunnel(t, p, false, target)
	defer c.Close()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatalf("origin write: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("the origin could not write its response")
	}
	// The client reads nothing more and keeps the conn open; the proxy
	// must still end the tunnel (idle timeout, or linger) and log it.
	l := p.waitLog(target)
	t.Logf("tunnel ended: reason %v", l["reason"])
}
