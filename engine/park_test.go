package engine_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/engine"
)

// ctlHandler hands its conn to the test and otherwise discards input.
type ctlHandler struct {
	conns  chan *engine.Conn
	closed chan error
}

func (h *ctlHandler) OnData(c *engine.Conn, b []byte) int { return len(b) }
func (h *ctlHandler) OnReadEOF(c *engine.Conn)            {}
func (h *ctlHandler) OnDrained(c *engine.Conn)            {}
func (h *ctlHandler) OnTimeout(c *engine.Conn)            {}
func (h *ctlHandler) OnClose(c *engine.Conn, err error)   { h.closed <- err }

func startCtlEngine(t *testing.T) (*engine.Engine, string, *ctlHandler) {
	t.Helper()
	h := &ctlHandler{conns: make(chan *engine.Conn, 4), closed: make(chan error, 4)}
	eng := engine.New(engine.Config{Workers: 1, Log: zerolog.Nop()})
	a, err := eng.Listen(engine.ListenerSpec{Addr: "127.0.0.1:0", Open: func(c *engine.Conn) engine.Handler {
		h.conns <- c
		return h
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(2 * time.Second)
		defer cancel()
		_ = eng.Shutdown(ctx)
	})
	return eng, a.String(), h
}

// onLoop runs fn on c's loop and waits for it.
func onLoop(t *testing.T, c *engine.Conn, fn func()) {
	t.Helper()
	done := make(chan struct{})
	c.Exec(func() { fn(); close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Exec did not run within 10 s")
	}
}

// A CloseWrite that comes while a paused conn is being enrolled again
// (ResumeRead just called, gnet's OnOpen not yet run) must still send the
// FIN. A tunnel does exactly this when the client half-closes right after
// the client drained and the upstream was resumed: Tunnel.ClientEOF calls
// up.CloseWrite. Today serviceFlush sees no fd (c.gc == nil, c.fd == -1),
// shutdownWrite marks wshut without a shutdown(2), and the FIN is never
// sent: the peer waits for EOF forever.
func TestReviewCloseWriteWhileResumingSendsFIN(t *testing.T) {
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
