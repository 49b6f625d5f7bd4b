package engine_test

import (
	"net"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// TestDetachWhileResumingHandsOver: a Detach in the same loop callback
// as the ResumeRead of a paused conn, while the socket is being enrolled
// again, hands the socket over without waiting for more client bytes;
// the handed-over conn reads the held prefix, then what the client sends.
// h1 does this when the verdict of a slow password check, which paused
// the client, sends the conn to the site (probe resistance).
// Regression: e51673e, fixed in 9580d13
func TestDetachWhileResumingHandsOver(t *testing.T) {
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
	got := make(chan net.Conn, 1)
	onLoop(t, c, func() {
		c.ResumeRead()
		c.Detach([]byte("held"), func(nc net.Conn) { got <- nc })
	})
	select {
	case nc := <-got:
		if nc == nil {
			t.Fatal("Detach gave no conn")
		}
		defer nc.Close()
		// The handed-over conn works: the prefix, then what the client sends.
		if _, err := cli.Write([]byte("!")); err != nil {
			t.Fatal(err)
		}
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 5)
		n := 0
		for n < len(buf) {
			k, err := nc.Read(buf[n:])
			if err != nil {
				t.Fatalf("read handed-over conn: %v (got %q)", err, buf[:n])
			}
			n += k
		}
		if string(buf) != "held!" {
			t.Fatalf("handed-over conn read %q, want %q", buf, "held!")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Detach during re-enroll: the socket was not handed over within 10 s (the client sent nothing more)")
	}
}
