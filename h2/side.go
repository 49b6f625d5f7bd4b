package h2

import (
	"errors"
	"net/http"

	"github.com/sluice-proxy/sluice/relay"
	"golang.org/x/net/http2/hpack"
)

var errLocalReset = errors.New("h2: stream reset by the proxy")

var capsuleProtocol = []hpack.HeaderField{{Name: "capsule-protocol", Value: "?1"}}

// side is a CONNECT stream as the client End of its tunnel, and as the
// Front that answers its request. Backpressure toward the client is the
// stream's send window plus the socket's buffer; toward the upstream it is
// the receive window, whose credit is withheld while the tunnel has the
// client paused.
type side struct {
	// Static after construction.
	h   *conn
	st  *Stream
	req *Request

	// Owned by the conn's loop.
	ev       relay.Events
	q        sendQueue
	paused   bool
	owed     int  // received bytes whose credit waits for ResumeRead
	watchLow int  // Drained once Buffered() <= watchLow; -1 = off
	done     bool // the tunnel was told the stream ended
	udp      bool // a connect-udp flow: its 200 says capsule-protocol
	pad      relay.Pad
}

// Bind implements relay.End.
func (sd *side) Bind(ev relay.Events) { sd.ev = ev }

// Write implements relay.End. Tunnel data goes out at once unless a write
// is already queued for the end of this loop pass (then it rides along):
// deferring all of it made the echo p99 over a thousand streams 40% worse.
func (sd *side) Write(p []byte) {
	if sd.done {
		return
	}
	sd.q.write(sd.st, p, false)
	sd.h.flushNow()
}

// Buffered implements relay.End: bytes waiting for window plus the
// socket's backlog, which every stream of the conn shares. The backlog
// counts up to just past the high watermark: enough to pause this
// stream's upstream while the socket is behind, but the other streams'
// bytes in it must not push this tunnel past its hard cap (eight streams
// at their watermark would end every one of them).
func (sd *side) Buffered() int {
	high, _, _ := sd.h.s.Relay.Limits()
	return sd.q.len() + min(sd.h.c.Buffered(), high+1)
}

// PauseRead implements relay.End.
func (sd *side) PauseRead() { sd.paused = true }

// ResumeRead implements relay.End: the credit held back goes out now.
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

// WatchDrain implements relay.End.
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
		if !sd.done {
			sd.ev.Drained()
		}
		return
	}
	if sd.h.c.Buffered() > 0 {
		sd.h.watchSocket(sd, sd.watchLow)
	}
}

// CloseWrite implements relay.End: END_STREAM after the queued bytes.
func (sd *side) CloseWrite() {
	sd.q.write(sd.st, nil, true)
	sd.h.flush()
}

// CloseAfterFlush implements relay.End: the upstream is done, so is the
// stream once its last bytes and END_STREAM are out.
func (sd *side) CloseAfterFlush() {
	sd.CloseWrite()
	sd.finish(nil)
}

// Close implements relay.End: RST_STREAM CONNECT_ERROR (RFC 9113 8.5).
func (sd *side) Close() {
	if !sd.st.Dead() {
		sd.st.Reset(ErrCodeConnect)
		sd.h.flush()
	}
	sd.finish(errLocalReset)
}

// Abort implements relay.Aborter: the stream's bytes were malformed for
// the codec over it (a capsule): RST_STREAM PROTOCOL_ERROR, as RFC 9297
// section 3.3 says.
func (sd *side) Abort(error) {
	if !sd.st.Dead() {
		sd.st.Reset(ErrCodeProtocol)
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
	if sd.ev != nil {
		sd.ev.Closed(err)
	}
}

func (sd *side) fromClient(p []byte, end bool) {
	if sd.done {
		sd.st.Consumed(len(p))
		sd.h.flush()
		return
	}
	if len(p) > 0 {
		sd.ev.Data(p)
		if sd.paused {
			sd.owed += len(p)
		} else {
			sd.st.Consumed(len(p))
		}
	}
	if end && !sd.done {
		sd.ev.EOF()
	}
	sd.h.flush()
}

func (sd *side) flushPending() {
	sd.q.flush(sd.st)
	sd.h.flush()
	sd.checkDrained()
}

// Reply implements relay.Front: 200 opens the stream's tunnel, any other
// status ends the stream with it.
func (sd *side) Reply(status int) {
	if sd.done {
		return
	}
	if status == http.StatusOK {
		var fields []hpack.HeaderField
		if sd.udp {
			fields = capsuleProtocol // RFC 9297 section 3.4
		}
		sd.pad.ReplyFields(func(name, value string) {
			// Never indexed: a random value each time would only churn
			// the client's HPACK table.
			fields = append(fields, hpack.HeaderField{Name: name, Value: value, Sensitive: true})
		})
		sd.st.WriteHeaders(status, fields, false)
		sd.h.flush()
		return
	}
	var fields []hpack.HeaderField
	if status == http.StatusProxyAuthRequired {
		fields = []hpack.HeaderField{{Name: "proxy-authenticate", Value: sd.h.s.Policy.Gate.Challenge()}}
	}
	sd.st.WriteHeaders(status, fields, true)
	sd.finish(nil)
	sd.h.flush()
}

// Site implements relay.Front: the stream is the site's request now; what
// the client sent after its CONNECT is dropped, its credit returned.
func (sd *side) Site(early []byte) {
	sd.done = true
	delete(sd.h.watchers, sd)
	sd.returnOwed()
	sd.h.serveSite(sd.st, sd.req)
	sd.h.flush()
}
