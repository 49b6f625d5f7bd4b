package engine

// Handler receives the events of one Conn. All methods run on the Conn's
// event loop, never concurrently for Conns of the same loop.
type Handler interface {
	// OnData delivers bytes read from the peer. b is borrowed for the call.
	// It returns how many bytes it consumed; the rest is offered again,
	// ahead of new bytes, at the next call.
	OnData(c *Conn, b []byte) (consumed int)
	// OnReadEOF reports that the peer sent FIN. When c.CanWrite() is true the
	// write side still works (true half-close); otherwise OnClose follows.
	OnReadEOF(c *Conn)
	// OnDrained reports that the bytes queued toward the peer fell to the
	// level asked for with WatchDrain.
	OnDrained(c *Conn)
	// OnTimeout reports that the deadline or the idle timeout passed.
	OnTimeout(c *Conn)
	// OnClose runs exactly once, when c is gone. err is nil for a local close.
	OnClose(c *Conn, err error)
}

// Drainer is implemented by handlers that act when the server starts to
// drain (HTTP/2 sends GOAWAY; an HTTP/1.1 conn with no request yet
// closes). Tunnels do not implement it: they run until they end or the
// drain timeout cuts them.
type Drainer interface {
	OnDrain(c *Conn)
}
