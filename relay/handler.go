package relay

import (
	"errors"
	"io"

	"github.com/sluice-proxy/sluice/engine"
)

// The tunnel is the engine.Handler of its upstream socket, and of its client
// socket when the client is HTTP/1.1.

// OnData implements engine.Handler.
func (t *Tunnel) OnData(c *engine.Conn, b []byte) int {
	if c == t.up {
		t.toClient(b)
		return len(b)
	}
	return t.FromClient(b)
}

// OnReadEOF implements engine.Handler.
func (t *Tunnel) OnReadEOF(c *engine.Conn) {
	if c == t.up {
		// Only a socket read outside gnet reports EOF this way; end it as
		// gnet would: its OnClose then ends the client after its flush.
		t.up.CloseAfterFlush()
		return
	}
	t.ClientEOF()
}

// OnDrained implements engine.Handler.
func (t *Tunnel) OnDrained(c *engine.Conn) {
	if c == t.up {
		t.client.ResumeRead()
		return
	}
	t.ClientDrained()
}

// OnTimeout implements engine.Handler: only the upstream carries the idle
// timer (client traffic touches it), so this is the tunnel's idle timeout.
func (t *Tunnel) OnTimeout(c *engine.Conn) {
	t.abort(ReasonIdle)
}

// OnClose implements engine.Handler.
func (t *Tunnel) OnClose(c *engine.Conn, err error) {
	if c != t.up {
		t.ClientClosed(err)
		return
	}
	if t.upDone {
		return
	}
	t.upDone = true
	if err == nil || errors.Is(err, io.EOF) {
		if t.Rec.Reason == "" {
			t.Rec.Reason = ReasonUpstreamEOF
		}
		if !t.clientDone {
			t.client.CloseAfterFlush() // every byte already read reaches the client first
		}
	} else {
		if t.Rec.Reason == "" {
			t.Rec.Reason = ReasonUpstreamError
		}
		if !t.clientDone {
			t.client.Close()
		}
	}
	t.maybeEnd()
}
