package engine_test

// ctlHandler and startCtlEngine: an engine with one listener whose
// handler hands each conn to the test, so a test can drive a conn's
// state from its loop (onLoop) and watch the socket from outside.

import (
	"testing"
	"time"

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
	eng, addr := serve(t, engine.Config{Workers: 1}, engine.ListenerSpec{Open: func(c *engine.Conn) engine.Handler {
		h.conns <- c
		return h
	}})
	return eng, addr, h
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
