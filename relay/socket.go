package relay

import "github.com/sluice-proxy/sluice/engine"

// Socket is c as a tunnel End; the end becomes c's engine handler. Use it
// for a client socket once its request has been read (HTTP/1.1 CONNECT,
// SNI); upstream sockets come from Loop.Dial already as Ends.
func Socket(c *engine.Conn) *SocketEnd {
	s := &SocketEnd{}
	s.Attach(c)
	return s
}

// SocketEnd adapts an engine.Conn, whose methods already are an End's, and
// turns its handler events into Events. Until it is bound (an upstream
// whose tunnel ended during the dial) its events go nowhere. A front end
// may embed it in its per-request state (which is then the End) rather
// than allocate it apart.
type SocketEnd struct {
	c  *engine.Conn
	ev Events // a socket being dialed: the Dialed that hears how it went
}

// Dialed implements engine.DialHandler for an upstream being dialed.
func (s *SocketEnd) Dialed(c *engine.Conn, info engine.DialInfo, err error) {
	d, _ := s.ev.(Dialed)
	if d == nil {
		return
	}
	if err != nil {
		d.Dialed(nil, info, err)
		return
	}
	s.c = c
	d.Dialed(s, info, nil)
}

// Attach makes s the End of c, and c's engine handler.
func (s *SocketEnd) Attach(c *engine.Conn) {
	s.c, s.ev = c, Nowhere{}
	c.SetHandler(s)
}

// socketEnd is the unexported name relay's code uses.
type socketEnd = SocketEnd

// sock is how the tunnel finds the socket of an End that is one, also
// when a front end embeds it.
func (s *SocketEnd) sock() *SocketEnd { return s }

// socketOf returns the socket behind e, if e is a socket.
func socketOf(e End) *SocketEnd {
	if s, ok := e.(interface{ sock() *SocketEnd }); ok {
		return s.sock()
	}
	return nil
}

// Nowhere takes the events of an end nobody listens to: one not bound yet,
// or one its user let go of (a pooled origin conn).
type Nowhere struct{}

func (Nowhere) Data([]byte)  {}
func (Nowhere) EOF()         {}
func (Nowhere) Drained()     {}
func (Nowhere) Closed(error) {}

func (s *SocketEnd) Bind(ev Events)     { s.ev = ev }
func (s *SocketEnd) Write(p []byte)     { s.c.Write(p) }
func (s *SocketEnd) Buffered() int      { return s.c.Buffered() }
func (s *SocketEnd) PauseRead()         { s.c.PauseRead() }
func (s *SocketEnd) ResumeRead()        { s.c.ResumeRead() }
func (s *SocketEnd) WatchDrain(low int) { s.c.WatchDrain(low) }
func (s *SocketEnd) CloseWrite()        { s.c.CloseWrite() }
func (s *SocketEnd) CloseAfterFlush()   { s.c.CloseAfterFlush() }
func (s *SocketEnd) Close()             { s.c.Close() }
func (s *SocketEnd) inject(p []byte)    { s.ev.Data(p) }

// bare reports whether the end is a plain TCP socket, which splice(2)
// can move without user space seeing the bytes.
func (s *SocketEnd) bare() bool { return !s.c.IsTLS() }

// OnData implements engine.Handler.
func (s *SocketEnd) OnData(_ *engine.Conn, b []byte) int {
	s.ev.Data(b)
	return len(b)
}

// OnReadEOF implements engine.Handler.
func (s *SocketEnd) OnReadEOF(*engine.Conn) { s.ev.EOF() }

// OnDrained implements engine.Handler.
func (s *SocketEnd) OnDrained(*engine.Conn) { s.ev.Drained() }

// OnTimeout implements engine.Handler: a tunnel keeps its own idle timer,
// so its sockets carry none.
func (s *SocketEnd) OnTimeout(*engine.Conn) {}

// OnClose implements engine.Handler.
func (s *SocketEnd) OnClose(_ *engine.Conn, err error) { s.ev.Closed(err) }

// Conn is the socket.
func (s *SocketEnd) Conn() *engine.Conn { return s.c }
