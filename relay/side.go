package relay

// Side is one end of a tunnel as the relay drives it. *engine.Conn is a
// Side; HTTP/2 and HTTP/3 front ends adapt their streams to it. All methods
// run on the tunnel's loop.
type Side interface {
	// Write queues p toward this end; p is borrowed.
	Write(p []byte)
	// Buffered is how many bytes written are still queued in user space.
	Buffered() int
	// PauseRead and ResumeRead stop and restart delivery of this end's bytes.
	PauseRead()
	ResumeRead()
	// WatchDrain asks for one drained event once Buffered() <= low.
	WatchDrain(low int)
	// CloseWrite ends the direction toward this end once flushed (FIN,
	// END_STREAM) and keeps reading.
	CloseWrite()
	// CloseAfterFlush ends this end once everything queued is out.
	CloseAfterFlush()
	// Close ends this end now (RST for a stream).
	Close()
}
