package h2

import (
	"strconv"
	"time"

	"golang.org/x/net/http2/hpack"
)

// Handler receives a connection's stream events. Its methods run inside
// ServerConn.Feed (and OnWindow/OnReset also inside the Stream and
// ServerConn methods that cause them), on the connection's goroutine; they
// may call any Stream or ServerConn method.
type Handler interface {
	// OnRequest reports a complete, validated request header block that
	// opened st. The Request may be kept.
	OnRequest(st *Stream, req *Request)
	// OnData delivers request body or tunnel bytes. p is borrowed for the
	// call only. The flow-control credit for p is not returned to the peer
	// until st.Consumed is called for it. endStream with an empty p is how
	// trailers, or an empty END_STREAM DATA frame, end the stream.
	OnData(st *Stream, p []byte, endStream bool)
	// OnReset reports that st ended abnormally: the peer reset it, a
	// protocol error made us reset it, or the connection is being torn
	// down. st is dead afterwards. It is not called for st.Reset.
	OnReset(st *Stream, code ErrCode)
	// OnWindow reports that the send window of st, or of the connection,
	// grew after a WriteData call came up short: st may send more.
	OnWindow(st *Stream)
}

// Stream is one HTTP/2 stream of a ServerConn (RFC 9113 section 5.1). It is
// owned by its connection's goroutine, like the connection.
type Stream struct {
	c  *ServerConn
	id uint32

	remoteClosed bool // END_STREAM received: half-closed (remote)
	localClosed  bool // END_STREAM sent: half-closed (local)
	// resetAfterEnd: once END_STREAM went out, a client side still open
	// gets RST_STREAM NO_ERROR (ProfileGo site streams).
	resetAfterEnd bool
	wroteHeaders  bool // a final (non-1xx) response header block went out
	dead          bool // closed and removed from the connection
	blocked       bool // WriteData came up short; OnWindow is owed

	in            inflow
	out           outflow
	unconsumed    int64 // delivered by OnData, not yet passed to Consumed
	contentLength int64 // -1 if the request had none
	received      int64 // DATA bytes received, for content-length
	openedAt      time.Duration

	user any
}

// ID returns the stream identifier.
func (st *Stream) ID() uint32 { return st.id }

// SetUserData hangs the caller's state on the stream.
func (st *Stream) SetUserData(v any) { st.user = v }

// UserData returns what SetUserData stored.
func (st *Stream) UserData() any { return st.user }

// Dead reports whether the stream is closed: after it no callback comes for
// st and writes take nothing.
func (st *Stream) Dead() bool { return st.dead }

// SendWindow returns how many bytes WriteData would take now: the smaller of
// the stream's and the connection's send windows, never negative.
func (st *Stream) SendWindow() int {
	if st.dead || st.localClosed || st.c.failed {
		return 0
	}
	w := min(st.out.avail, st.c.sendFlow.avail)
	if w < 0 {
		return 0
	}
	return int(w)
}

// WriteHeaders appends a response header block (HEADERS, plus CONTINUATION
// frames if it outgrows the peer's SETTINGS_MAX_FRAME_SIZE). status 1xx
// sends an interim response; once a final response went out, a further call
// sends trailers (status is ignored) and only with endStream. Field names
// must be lowercase; connection-specific fields are dropped since HTTP/2
// forbids them (RFC 9113 section 8.2.2). On a dead or locally closed stream
// it does nothing.
func (st *Stream) WriteHeaders(status int, fields []hpack.HeaderField, endStream bool) {
	c := st.c
	if st.dead || st.localClosed || c.failed {
		return
	}
	if st.wroteHeaders {
		if !endStream {
			return
		}
		status = 0
	} else if status >= 200 {
		st.wroteHeaders = true
	} else if endStream {
		// An interim response cannot end a stream.
		return
	}
	c.writeHeaderBlock(st.id, status, fields, endStream)
	if endStream {
		st.endLocal()
	}
}

// endLocal closes the stream for sending; one marked resetAfterEnd whose
// client has not ended its side gets RST_STREAM NO_ERROR, as Go's server
// sends once its handler is done (RFC 9113 section 8.1 allows it).
func (st *Stream) endLocal() {
	st.localClosed = true
	c := st.c
	if st.resetAfterEnd && !st.remoteClosed && !st.dead {
		// Remembered as ended, not as reset: what the client sends
		// later gets STREAM_CLOSED, as from Go's server once its
		// RST_STREAM went out.
		c.closeStream(st, closedEnded)
		if c.queueControl() {
			c.out = AppendRSTStream(c.out, st.id, ErrCodeNo)
		}
		return
	}
	c.maybeClose(st)
}

// WriteData frames up to min(len(p), SendWindow()) bytes of p as DATA
// frames no larger than the peer's SETTINGS_MAX_FRAME_SIZE and returns how
// many it took; the caller keeps the rest and retries on OnWindow. With end,
// the last frame carries END_STREAM if all of p was taken; an empty p with
// end sends an empty DATA with END_STREAM. It takes nothing before
// WriteHeaders sent a final response, or once the stream is dead or closed
// for sending. The bytes are copied into the output buffer.
func (st *Stream) WriteData(p []byte, end bool) int {
	c := st.c
	if st.dead || st.localClosed || !st.wroteHeaders || c.failed {
		return 0
	}
	n := len(p)
	if w := st.SendWindow(); n > w {
		n = w
		st.blocked = true
	}
	if n == 0 && (len(p) > 0 || !end) {
		return 0
	}
	endStream := end && n == len(p)
	max := int(c.peerMaxFrameSize)
	for off := 0; ; {
		chunk := min(n-off, max)
		last := off+chunk == n
		c.out = AppendData(c.out, st.id, endStream && last, p[off:off+chunk])
		off += chunk
		if last {
			break
		}
	}
	st.out.avail -= int64(n)
	c.sendFlow.avail -= int64(n)
	c.flood.payload += int64(n)
	if endStream {
		st.endLocal()
	}
	return n
}

// Consumed returns n bytes of received DATA as flow-control credit: call it
// once those bytes have left for the upstream. WINDOW_UPDATEs go out in
// batches, when the returned credit reaches half the window. Credit is
// clamped to what OnData delivered. After a stream ended normally keep
// calling it for the bytes still passed on, or the connection window
// shrinks for good; after a reset (either side) the connection credit of
// bytes never consumed comes back by itself.
func (st *Stream) Consumed(n int) {
	if n <= 0 {
		return
	}
	if int64(n) > st.unconsumed {
		n = int(st.unconsumed)
	}
	if n == 0 {
		return
	}
	st.unconsumed -= int64(n)
	c := st.c
	if c.failed {
		return
	}
	if !st.dead && !st.remoteClosed {
		if inc := st.in.give(n, c.streamThreshold); inc > 0 {
			c.out = AppendWindowUpdate(c.out, st.id, inc)
		}
	}
	if !c.cfg.EagerConnWindow {
		c.giveConn(n)
	}
}

// Reset ends the stream with RST_STREAM code. No callback follows for st.
// A reset before the response counts against the rapid reset rule; if it
// trips it, the connection fails: the other streams get OnReset and Closed
// turns true.
func (st *Stream) Reset(code ErrCode) {
	if st.dead || st.c.failed {
		return
	}
	st.c.resetStream(st, code, false)
}

// statusValue spares the common codes an allocation.
func statusValue(code int) string {
	switch code {
	case 200:
		return "200"
	case 400:
		return "400"
	case 403:
		return "403"
	case 404:
		return "404"
	case 407:
		return "407"
	case 431:
		return "431"
	case 502:
		return "502"
	case 503:
		return "503"
	case 504:
		return "504"
	}
	return strconv.Itoa(code)
}
