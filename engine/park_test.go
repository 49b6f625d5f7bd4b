package engine_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// TestCloseWriteWhileResumingSendsFIN: a CloseWrite in the same loop
// callback as the ResumeRead of a paused conn, while the socket is being
// enrolled again, still sends the FIN, and the conn stays open for
// reading. A tunnel does this when its client half-closes right after
// the upstream was resumed.
// Regression: aa93714, fixed in 9580d13
func TestCloseWriteWhileResumingSendsFIN(t *testing.T) {
	eng, addr, h := startCtlEngine(t)
	cli := dial(t, addr)
	var c *engine.Conn
	select {
	case c = <-h.conns:
	case <-time.After(10 * time.Second):
		t.Fatal("no conn opened")
	}
	onLoop(t, c, c.PauseRead)
	deadline := time.Now().Add(10 * time.Second)
	for eng.Stats().Parks == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the conn was never parked")
		}
		time.Sleep(time.Millisecond)
	}
	// One loop callback: the re-enroll cannot complete in between.
	onLoop(t, c, func() {
		c.ResumeRead()
		c.CloseWrite()
	})
	_ = cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, cli)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("no FIN 10 s after CloseWrite (read %d bytes): CloseWrite during re-enroll was lost", n)
		}
		t.Fatalf("read: %v", err)
	}
	// The conn must still be alive for reading after the half-close.
	if _, err := cli.Write([]byte("x")); err != nil {
		t.Fatalf("write after our FIN: %v", err)
	}
}
