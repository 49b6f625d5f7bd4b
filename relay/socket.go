package relay

import "github.com/sluice-proxy/sluice/engine"

// Socket is c as a tunnel End; the end becomes c's engine handler. Use it
// for a client socket once its request has been read (HTTP/1.1 CONNECT,
// SNI); upstream sockets come from Loop.Dial already as Ends.
func Socket(c *engine.Conn) End {
	s := &socketEnd{c: c, ev: nowhere{}}
	c.SetHandler(s)
	return s
}

// socketEnd adapts an engine.Conn, whose methods already are an End's, and
// turns its handler events into Events. Until it is bound (an upstream
// whose tunnel ended during the dial) its events go nowhere.
type socketEnd struct {
	c  *engine.Conn
	ev Events
}

// nowhere takes the events of an unbound end.
type nowhere struct{}

func (nowhere) Data([]byte)  {}
func (nowhere) EOF()         {}
func (nowhere) Drained()     {}
func (nowhere) Closed(error) {}

func (s *socketEnd) Bind(ev Events)     { s.ev = ev }
func (s *socketEnd) Write(p []byte)     { s.c.Write(p) }
func (s *socketEnd) Buffered() int      { return s.c.Buffered() }
func (s *socketEnd) PauseRead()         { s.c.PauseRead() }
func (s *socketEnd) ResumeRead()        { s.c.ResumeRead() }
func (s *socketEnd) WatchDrain(low int) { s.c.WatchDrain(low) }
func (s *socketEnd) CloseWrite()        { s.c.CloseWrite() }
func (s *socketEnd) CloseAfterFlush()   { s.c.CloseAfterFlush() }
func (s *socketEnd) Close()             { s.c.Close() }
func (s *socketEnd) inject(p []byte)    { s.ev.Data(p) }

// bare reports whether the end is a plain TCP socket, which splice(2)
// can move without user space seeing the bytes.
func (s *socketEnd) bare() bool { return !s.c.IsTLS() }

// OnData implements engine.Handler.
func (s *socketEnd) OnData(_ *engine.Conn, b []byte) int {
	s.ev.Data(b)
	return len(b)
}

// OnReadEOF implements engine.Handler.
func (s *socketEnd) OnReadEOF(*engine.Conn) { s.ev.EOF() }

// OnDrained implements engine.Handler.
func (s *socketEnd) OnDrained(*engine.Conn) { s.ev.Drained() }

// OnTimeout implements engine.Handler: a tunnel keeps its own idle timer,
// so its sockets carry none.
func (s *socketEnd) OnTimeout(*engine.Conn) {}

// OnClose implements engine.Handler.
func (s *socketEnd) OnClose(_ *engine.Conn, err error) { s.ev.Closed(err) }
