package h2

import "errors"

// tunnel is what a CONNECT stream feeds (a *relay.Tunnel).
type tunnel interface {
	FromClient(b []byte) int
	ClientEOF()
	ClientDrained()
	ClientClosed(err error)
}

var errLocalReset = errors.New("h2: stream reset by the proxy")

// side is a CONNECT stream as the relay's client Side. Backpressure toward
// the client is the stream's send window plus the socket's buffer; toward
// the upstream it is the receive window, whose credit is withheld while the
// relay has the client paused.
type side struct {
	h  *conn
	st *Stream
	t  tunnel

	q        sendQueue
	paused   bool
	owed     int  // received bytes whose credit waits for ResumeRead
	eof      bool // the client sent END_STREAM
	watchLow int  // ClientDrained once Buffered() <= watchLow; -1 = off
	done     bool // the tunnel was told the client side ended
}

// Write implements relay.Side. Tunnel data goes out at once unless a
// write is already queued for the end of this loop pass (then it rides
// along): deferring all of it made the echo p99 over a thousand streams
// 40% worse.
func (sd *side) Write(p []byte) {
	if sd.done {
		return
	}
	sd.q.write(sd.st, p, false)
	sd.h.flushNow()
}

// Buffered implements relay.Side: bytes waiting for window plus the
// socket's backlog, which every stream of the conn shares.
func (sd *side) Buffered() int { return sd.q.len() + sd.h.c.Buffered() }

// PauseRead implements relay.Side.
func (sd *side) PauseRead() { sd.paused = true }

// ResumeRead implements relay.Side: the credit held back goes out now.
func (sd *side) ResumeRead() {
	sd.paused = false
	sd.returnOwed()
}

// returnOwed hands back the credit of bytes received while paused.
func (sd *side) returnOwed() {
	if sd.owed > 0 {
		sd.st.Consumed(sd.owed)
		sd.owed = 0
		sd.h.flush()
	}
}

// WatchDrain implements relay.Side.
func (sd *side) WatchDrain(low int) {
	sd.watchLow = low
	sd.checkDrained()
}

func (sd *side) checkDrained() {
	if sd.watchLow < 0 {
		return
	}
	if sd.Buffered() <= sd.watchLow {
		sd.watchLow = -1
		delete(sd.h.watchers, sd)
		sd.t.ClientDrained()
		return
	}
	if sd.h.c.Buffered() > 0 {
		sd.h.watchSocket(sd, sd.watchLow)
	}
}

// CloseWrite implements relay.Side: END_STREAM after the queued bytes.
func (sd *side) CloseWrite() {
	sd.q.write(sd.st, nil, true)
	sd.h.flush()
}

// CloseAfterFlush implements relay.Side: the upstream is done, so is the
// stream once its last bytes and END_STREAM are out.
func (sd *side) CloseAfterFlush() {
	sd.CloseWrite()
	sd.finish(nil)
}

// Close implements relay.Side: RST_STREAM CONNECT_ERROR (RFC 9113 8.5).
func (sd *side) Close() {
	if !sd.st.Dead() {
		sd.st.Reset(ErrCodeConnect)
		sd.h.flush()
	}
	sd.finish(errLocalReset)
}

// finish tells the tunnel once that the client side is over.
func (sd *side) finish(err error) {
	if sd.done {
		return
	}
	sd.done = true
	delete(sd.h.watchers, sd)
	sd.returnOwed() // the connection window needs it back
	if sd.t != nil {
		sd.t.ClientClosed(err)
	}
}

func (sd *side) fromClient(p []byte, end bool) {
	if sd.done {
		sd.st.Consumed(len(p))
		sd.h.flush()
		return
	}
	if len(p) > 0 {
		sd.t.FromClient(p)
		if sd.paused {
			sd.owed += len(p)
		} else {
			sd.st.Consumed(len(p))
		}
	}
	if end {
		sd.eof = true
		sd.t.ClientEOF()
	}
	sd.h.flush()
}

func (sd *side) flushPending() {
	sd.q.flush(sd.st)
	sd.h.flush()
	sd.checkDrained()
}
