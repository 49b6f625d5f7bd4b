package main

import (
	"net"
	"testing"
	"time"
)

// When the upstream ends while bytes toward the client are still queued,
// the tunnel waits for them to drain (Tunnel.OnClose -> client
// CloseAfterFlush). If the client stops reading and keeps its socket open,
// nothing ever bounds that wait: the upstream, which carried the idle
// timer, is gone; the linger deadline set by CloseAfterFlush is only
// enforced once the FIN went out (loop.sweep checks c.wshut), and the FIN
// waits for the queue to drain. The tunnel never ends: no access-log line,
// its per-IP/per-user slot and its client conn are held for as long as the
// client likes, and a drain waits for it until its deadline.
func TestReviewStalledClientAfterUpstreamEOFIsCut(t *testing.T) {
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
