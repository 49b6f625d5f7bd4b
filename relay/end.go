package relay

// An End is one end of a tunnel: a TCP socket, an HTTP/2 or HTTP/3 stream,
// and later a UDP socket or an HTTP/3 datagram flow, or a Stage over one of
// them. The tunnel is symmetric: it drives its client end and its upstream
// end through this one contract. Methods run on the tunnel's loop.
type End interface {
	// Bind says where the end reports; the tunnel calls it once, first.
	Bind(ev Events)
	// Write queues p toward the end's peer; p is borrowed.
	Write(p []byte)
	// Buffered is how many bytes written are still queued in user space.
	Buffered() int
	// PauseRead and ResumeRead stop and restart the end's Data events.
	PauseRead()
	ResumeRead()
	// WatchDrain asks for one Drained event once Buffered() <= low.
	WatchDrain(low int)
	// CloseWrite ends the direction toward the end once what is queued is
	// out (FIN, END_STREAM), and keeps reading.
	CloseWrite()
	// CloseAfterFlush ends the end once what is queued is out.
	CloseAfterFlush()
	// Close ends the end now: RST on a socket, RST_STREAM CONNECT_ERROR on
	// an HTTP/2 stream.
	Close()
}

// Events is how an End reports to what it is bound to: the tunnel, or a
// Stage over it. Calls come on the tunnel's loop, one at a time; an End
// driven by other goroutines posts them with Loop.Exec.
type Events interface {
	// Data delivers bytes read from the end; p is borrowed for the call.
	Data(p []byte)
	// EOF says the end's peer sends no more but still reads (half-close).
	EOF()
	// Drained says what was queued toward the end fell to the level
	// WatchDrain asked for.
	Drained()
	// Closed says the end is gone; it comes once. err is nil or io.EOF for
	// an orderly end, after which everything the end sent was delivered.
	Closed(err error)
}

// injector is an End that can replay bytes its front end read before the
// end existed, as if read now (a socket's bytes after the request head).
type injector interface {
	inject(p []byte)
}

// An Aborter is an End that can be cut for a reason: the bytes it sent were
// malformed for the stage over it. HTTP/2 resets such a stream with
// PROTOCOL_ERROR and HTTP/3 with H3_DATAGRAM_ERROR (RFC 9297 section 3.3),
// where a plain Close says CONNECT_ERROR.
type Aborter interface {
	Abort(err error)
}

// abortEnd cuts e, with err when it can say why.
func abortEnd(e End, err error) {
	if a, ok := e.(Aborter); ok {
		a.Abort(err)
		return
	}
	e.Close()
}
