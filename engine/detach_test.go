package engine_test

import (
	"net"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// Detach while the conn is being enrolled again after a pause (ResumeRead
// just called; gnet's OnOpen not yet run) must still hand the socket over.
// h1 does this when a slow password check paused the client (more than
// maxHeld bytes came meanwhile) and the verdict sends the conn to the site
// (probe resistance): the Exec calls ResumeRead, then replays the held
// bytes, then toSite -> Detach. Detach's tryPark returns at once because
// c.gc is nil, and onReenrolled never looks at detachFn: the hand-over
// waits for the client's next bytes (which h1 then drops, being done), and
// a client that waits for its answer hangs with its conn held forever.
func TestReviewDetachWhileResumingHandsOver(t *testing.T) {
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
