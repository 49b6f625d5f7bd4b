package h2

import (
	"time"

	"golang.org/x/net/http2/hpack"
)

// ClientPreface is what every HTTP/2 client sends first
// (RFC 9113 section 3.4).
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// ServerConn is the server side of one HTTP/2 connection, without I/O: Feed
// it what the client sent, write out what Output holds, and call
// ResetOutput once that is written. Stream events go to the Handler.
//
// A ServerConn is not safe for concurrent use: it belongs to the goroutine
// (event loop) that owns its socket.
type ServerConn struct {
	// Immutable after construction.
	cfg             Config
	h               Handler
	streamThreshold int64 // stream credit batched before a WINDOW_UPDATE
	connThreshold   int64 // same for the connection window
	epoch           time.Time

	// Owned by the connection's goroutine.
	fr      Framer
	out     []byte
	dec     *headerDecoder
	enc     *hpack.Encoder
	encBuf  appendWriter
	streams map[uint32]*Stream
	hb      headerBlock

	prefaceLen    int  // bytes of the client preface received so far
	prefaceBad    bool // one of them was wrong (ProfileGo judges all 24 at once)
	sawSettings   bool // the client's first frame, SETTINGS, arrived
	settingsAcked bool // the client acknowledged our SETTINGS
	pingOut       bool // our PING awaits its ACK
	pingSeq       uint64

	maxClientID   uint32 // highest stream id the client used to open a stream
	lastProcessed uint32 // highest stream id handed to the Handler (GOAWAY)
	// goLast is the last stream id of our GOAWAY under ProfileGo, kept as
	// Go's server keeps it: the highest stream whose HEADERS got past its
	// framer, raised to the stream of a frame that failed the connection.
	goLast     uint32
	settingsIn int // ProfileGo: SETTINGS ACKs received, to refuse a second

	recent    [16]closedStream
	recentPos int

	inflow            inflow  // connection receive window
	sendFlow          outflow // connection send window
	peerInitialWindow int64
	peerMaxFrameSize  uint32

	resets        resetGuard
	flood         floodGuard
	control       tokenBucket // PING and SETTINGS from the client
	newStreams    int         // streams opened in this Feed call
	queuedControl int         // control frames appended since ResetOutput

	goAwaySent bool
	peerGoAway bool
	failed     bool
	failErr    error
}

// closedHow records how a recently closed stream ended, to answer late
// frames for it the way RFC 9113 section 5.1 asks.
type closedHow uint8

const (
	closedEnded closedHow = iota + 1 // END_STREAM both ways
	closedByPeer
	closedByUs // we sent RST_STREAM: late frames are ignored (section 5.4.2)
)

type closedStream struct {
	id  uint32
	how closedHow
}

// blockKind says what the field block being decoded is for.
type blockKind uint8

const (
	blockRequest  blockKind = iota + 1 // opens a new stream
	blockTrailers                      // ends an open stream
	blockDiscard                       // decoded only to keep HPACK in step
)

// headerBlock is the state of a HEADERS + CONTINUATION sequence in progress.
type headerBlock struct {
	active    bool
	streamID  uint32
	kind      blockKind
	endStream bool
	conts     int
	st        *Stream // for trailers and stream errors on an open stream
	errCode   ErrCode // the stream error to send once the block is decoded
	hasErr    bool
}

// growConnWindow sends the WINDOW_UPDATE of the server preface.
func (c *ServerConn) growConnWindow() {
	if inc := c.cfg.ConnWindowSize - defaultInitialWindowSize; inc > 0 {
		c.out = AppendWindowUpdate(c.out, 0, inc)
	}
}

// PrefaceDone reports whether the client's preface has come in whole.
func (c *ServerConn) PrefaceDone() bool { return c.prefaceLen == len(ClientPreface) }

// NewServerConn returns a connection that expects the client preface first.
// Our SETTINGS, and a WINDOW_UPDATE that grows the connection window to
// cfg.ConnWindowSize, are already in Output: the server preface may go out
// before the client's arrives (RFC 9113 section 3.4). Under ProfileGo the
// WINDOW_UPDATE waits for the client's preface, as on Go's server, whose
// serve loop sends it once the preface is read (never after a bad one).
func NewServerConn(cfg Config, h Handler) *ServerConn {
	cfg = cfg.withDefaults()
	c := &ServerConn{
		cfg:               cfg,
		h:                 h,
		streamThreshold:   max(int64(cfg.InitialWindowSize)/2, 1),
		connThreshold:     max(int64(cfg.ConnWindowSize)/2, 1),
		epoch:             cfg.Now(),
		streams:           make(map[uint32]*Stream),
		peerInitialWindow: defaultInitialWindowSize,
		peerMaxFrameSize:  DefaultMaxFrameSize,
	}
	c.fr.MaxReadFrameSize = cfg.MaxFrameSize
	c.control.tokens = float64(cfg.ControlFrameBurst)
	c.dec = newHeaderDecoder(&c.cfg)
	c.enc = hpack.NewEncoder(&c.encBuf)
	c.sendFlow.avail = defaultInitialWindowSize
	c.inflow.avail = int64(cfg.ConnWindowSize)

	c.out = AppendSettings(c.out, prefaceSettings(&cfg))
	if cfg.Profile != ProfileGo {
		c.growConnWindow()
	}
	return c
}

// prefaceSettings is the SETTINGS of our connection preface, by profile.
func prefaceSettings(cfg *Config) []Setting {
	if cfg.Profile == ProfileGo {
		return []Setting{
			{SettingMaxFrameSize, cfg.MaxFrameSize},
			{SettingMaxConcurrentStreams, cfg.MaxConcurrentStreams},
			{SettingMaxHeaderListSize, cfg.MaxHeaderListSize},
			{SettingHeaderTableSize, cfg.HeaderTableSize},
			{SettingInitialWindowSize, cfg.InitialWindowSize},
		}
	}
	return []Setting{
		{SettingMaxConcurrentStreams, cfg.MaxConcurrentStreams},
		{SettingInitialWindowSize, cfg.InitialWindowSize},
		{SettingMaxFrameSize, cfg.MaxFrameSize},
		{SettingMaxHeaderListSize, cfg.MaxHeaderListSize},
		{SettingHeaderTableSize, cfg.HeaderTableSize},
		{SettingEnableConnectProtocol, 1},
		{SettingNoRFC7540Priorities, 1},
	}
}

// Output returns the bytes waiting to be written to the socket. The slice is
// valid until the next call of any other method.
func (c *ServerConn) Output() []byte { return c.out }

// ResetOutput declares Output written. The buffer is kept for reuse, and the
// count of queued control frames starts over.
func (c *ServerConn) ResetOutput() {
	c.out = c.out[:0]
	c.queuedControl = 0
}

// SetOutputBuffer hands the connection an empty buffer to append into, for
// a caller that pools its buffers; b[:0] is used. Call it only while Output
// is empty.
func (c *ServerConn) SetOutputBuffer(b []byte) { c.out = b[:0] }

// TakeOutput returns the pending bytes and gives up the buffer that holds
// them: the caller owns it from now on (to write it out and return it to its
// pool). The connection allocates, or gets from SetOutputBuffer, a new one
// when it next has something to send. Like ResetOutput, it resets the count
// of queued control frames.
func (c *ServerConn) TakeOutput() []byte {
	b := c.out
	c.out = nil
	c.queuedControl = 0
	return b
}

// ReleaseBuffers drops the scratch buffers an idle connection keeps between
// bursts (the header encoding buffer, and the output buffer if it is
// empty), so that an idle connection holds as little memory as possible.
func (c *ServerConn) ReleaseBuffers() {
	if len(c.out) == 0 {
		c.out = nil
	}
	c.encBuf.b = nil
	if !c.hb.active {
		c.dec.fields = nil
	}
}

// Idle reports whether no stream is open.
func (c *ServerConn) Idle() bool { return len(c.streams) == 0 }

// NumStreams returns the number of open streams.
func (c *ServerConn) NumStreams() int { return len(c.streams) }

// Closed reports whether the connection is finished: it failed, or a GOAWAY
// went either way and the last stream is done. Write out Output, then
// close the socket.
func (c *ServerConn) Closed() bool {
	return c.failed || ((c.goAwaySent || c.peerGoAway) && len(c.streams) == 0 && !c.hb.active)
}

// SendWindow returns the connection's send window: when it is 0 no stream
// can send, whatever its own window says.
func (c *ServerConn) SendWindow() int { return int(max(c.sendFlow.avail, 0)) }

// SettingsAcked reports whether the client acknowledged our SETTINGS; a
// caller may fail a connection with SETTINGS_TIMEOUT if it never does
// (RFC 9113 section 6.5.3).
func (c *ServerConn) SettingsAcked() bool { return c.settingsAcked }

// Err returns the connection error that failed the connection, or nil.
func (c *ServerConn) Err() error { return c.failErr }

// GoAway starts a graceful close: a GOAWAY carrying the last stream id
// handed to the Handler goes out, streams the client opens afterwards are
// refused, and Closed turns true once the open streams finish. Calls after
// the first do nothing.
func (c *ServerConn) GoAway(code ErrCode, debug string) {
	if c.goAwaySent || c.failed {
		return
	}
	c.goAwaySent = true
	if c.goProfile() {
		c.out = AppendGoAway(c.out, c.goLast, code, nil)
		return
	}
	c.out = AppendGoAway(c.out, c.lastProcessed, code, []byte(debug))
}

// goProfile reports whether the connection behaves as Go's net/http
// server does where a prober can tell: GOAWAY without debug data and with
// Go's last stream id, a bad client preface closed without GOAWAY, and the
// other cases noted where they are handled.
func (c *ServerConn) goProfile() bool { return c.cfg.Profile == ProfileGo }

// GoAwayNotice announces a coming shutdown without refusing anything yet:
// a GOAWAY NO_ERROR with the largest stream id (RFC 9113 section 6.8
// suggests this first step so streams in flight are not lost). Follow it,
// about a round trip later, with GoAway, which names the real last stream.
func (c *ServerConn) GoAwayNotice() {
	if c.goAwaySent || c.failed {
		return
	}
	c.out = AppendGoAway(c.out, maxStreamID, ErrCodeNo, nil)
}

// Abort tears the connection down without writing anything, for when the
// socket is already gone: every open stream gets OnReset(code).
func (c *ServerConn) Abort(code ErrCode) { c.hangUp(ConnError{Code: code, Reason: "aborted"}, code) }

// hangUp fails the connection without a GOAWAY, as Abort does and as Go's
// server hangs up on a bad preface or a client without SETTINGS: the open
// streams get OnReset(code), and Feed reports err from now on.
func (c *ServerConn) hangUp(err ConnError, code ErrCode) error {
	if !c.failed {
		c.failed, c.failErr = true, err
		c.resetAll(code)
	}
	return c.failErr
}

// Feed consumes bytes received from the client, starting with the client
// preface, handles every complete frame in them, and appends what to send
// to Output. It returns how many bytes it consumed: a trailing partial frame
// is left for the caller to keep and pass again with more bytes. A non-nil
// error means the connection must be closed once Output is written (the
// GOAWAY is already in it); the error is a ConnError, or ErrClosed after
// the connection failed.
func (c *ServerConn) Feed(in []byte) (int, error) {
	if c.failed {
		return 0, ErrClosed
	}
	c.newStreams = 0
	n := 0
	if c.prefaceLen < len(ClientPreface) {
		m := min(len(in), len(ClientPreface)-c.prefaceLen)
		c.prefaceBad = c.prefaceBad || string(in[:m]) != ClientPreface[c.prefaceLen:c.prefaceLen+m]
		c.prefaceLen += m
		n = m
		bad := ConnError{Code: ErrCodeProtocol, Reason: "invalid client preface"}
		switch {
		case c.prefaceBad && !c.goProfile():
			return 0, c.fail(bad)
		case c.prefaceBad && !c.PrefaceDone():
			return n, nil // Go's server reads all 24 bytes before it judges them
		case c.prefaceBad:
			return 0, c.hangUp(bad, ErrCodeProtocol)
		case c.PrefaceDone() && c.goProfile():
			c.growConnWindow()
		}
	}
	// Every turn consumes a whole frame of at least 9 bytes or stops.
	for n < len(in) {
		f, m, err := c.fr.Parse(in[n:])
		if err == ErrNeedMore {
			break
		}
		if err != nil && c.goProfile() {
			if err = goParseError(in[n:], err); m == 0 {
				if _, ok := err.(StreamError); ok {
					m = frameLen(in[n:]) // the frame is whole, or Parse would want more
				}
			}
		}
		n += m
		if err == nil {
			if err = c.processFrame(f); err != nil {
				c.raiseGoLast(f.Header().StreamID, err)
			}
		} else if se, ok := err.(StreamError); ok {
			c.flood.total += int64(m)
			if c.hb.active || !c.sawSettings {
				err = connError(ErrCodeProtocol, "unexpected frame")
			} else {
				err = c.streamErr(se)
			}
		}
		if err != nil {
			return n, c.fail(err)
		}
		if c.failed {
			return n, c.failErr
		}
	}
	return n, nil
}

// fail ends the connection with a GOAWAY for err and tears every stream
// down. It returns the ConnError Feed reports.
func (c *ServerConn) fail(err error) error {
	if c.failed {
		return c.failErr
	}
	ce, ok := err.(ConnError)
	if !ok {
		ce = ConnError{Code: ErrCodeInternal, Reason: err.Error()}
	}
	c.failed = true
	c.failErr = ce
	if c.goProfile() {
		c.out = AppendGoAway(c.out, c.goLast, ce.Code, nil)
	} else {
		c.out = AppendGoAway(c.out, c.lastProcessed, ce.Code, []byte(ce.Reason))
	}
	c.resetAll(ce.Code)
	return ce
}

// raiseGoLast moves goLast to the stream of a frame that failed the
// connection, as Go's server does for a frame its framer passed; the
// frame-order errors are its framer's, and do not move it.
func (c *ServerConn) raiseGoLast(id uint32, err error) {
	ce, ok := err.(ConnError)
	if !ok || ce.Reason == reasonInsideBlock || ce.Reason == reasonLoneContinuation {
		return
	}
	c.goLast = max(c.goLast, id)
}

func (c *ServerConn) resetAll(code ErrCode) {
	for _, st := range c.streams {
		c.closeStream(st, closedByUs)
		c.h.OnReset(st, code)
	}
}

// now is the connection-relative clock reading for the rapid reset rule.
func (c *ServerConn) now() time.Duration { return c.cfg.Now().Sub(c.epoch) }

// queueControl makes room for one more control frame, or fails a peer that
// makes us queue too many without reading them (RFC 9113 section 10.5). It
// reports whether the frame may be appended.
func (c *ServerConn) queueControl() bool {
	if c.failed {
		return false
	}
	if c.queuedControl >= c.cfg.MaxQueuedControlFrames {
		c.fail(connError(ErrCodeEnhanceYourCalm, "too many queued control frames"))
		return false
	}
	c.queuedControl++
	return true
}

// rateControl spends a token of the PING/SETTINGS rate limit.
func (c *ServerConn) rateControl() error {
	if !c.control.take(c.now(), c.cfg.ControlFrameRate, c.cfg.ControlFrameBurst) {
		return connError(ErrCodeEnhanceYourCalm, "PING/SETTINGS rate")
	}
	return nil
}

// giveConn returns n bytes of connection-window credit.
func (c *ServerConn) giveConn(n int) {
	if inc := c.inflow.give(n, c.connThreshold); inc > 0 {
		c.out = AppendWindowUpdate(c.out, 0, inc)
	}
}

// writeHeaderBlock encodes :status (unless 0, for trailers) and fields, and
// cuts the block into HEADERS and CONTINUATION frames.
func (c *ServerConn) writeHeaderBlock(id uint32, status int, fields []hpack.HeaderField, endStream bool) {
	c.encBuf.b = c.encBuf.b[:0]
	if status != 0 {
		c.enc.WriteField(hpack.HeaderField{Name: ":status", Value: statusValue(status)})
	}
	for _, f := range fields {
		if isConnectionSpecific(f.Name) {
			continue
		}
		c.enc.WriteField(f)
	}
	block := c.encBuf.b
	c.flood.payload += int64(len(block))
	max := int(c.peerMaxFrameSize)
	first := true
	for first || len(block) > 0 {
		chunk := min(len(block), max)
		frag := block[:chunk]
		block = block[chunk:]
		if first {
			c.out = AppendHeaders(c.out, HeadersParam{StreamID: id, BlockFragment: frag, EndStream: endStream, EndHeaders: len(block) == 0})
			first = false
		} else {
			c.out = AppendContinuation(c.out, id, len(block) == 0, frag)
		}
	}
}

// newStream registers an opened stream.
func (c *ServerConn) newStream(id uint32, req *Request) *Stream {
	st := &Stream{
		c:             c,
		id:            id,
		contentLength: req.ContentLength,
		openedAt:      c.now(),
	}
	st.in.avail = int64(c.cfg.InitialWindowSize)
	if !c.settingsAcked && st.in.avail < defaultInitialWindowSize {
		// The client may not have applied our smaller window yet.
		st.in.avail = defaultInitialWindowSize
	}
	st.out.avail = c.peerInitialWindow
	c.streams[id] = st
	c.resets.streams++
	if id > c.lastProcessed {
		c.lastProcessed = id
	}
	return st
}

// maybeClose closes st once END_STREAM went both ways.
func (c *ServerConn) maybeClose(st *Stream) {
	if !st.dead && st.remoteClosed && st.localClosed {
		c.closeStream(st, closedEnded)
	}
}

// closeStream removes st from the connection and remembers how it ended.
func (c *ServerConn) closeStream(st *Stream, how closedHow) {
	if st.dead {
		return
	}
	st.dead = true
	delete(c.streams, st.id)
	c.remember(st.id, how)
	if how != closedEnded && st.unconsumed > 0 && !c.cfg.EagerConnWindow {
		// Nobody will pass these bytes on now; free their connection credit.
		n := st.unconsumed
		st.unconsumed = 0
		if !c.failed {
			c.giveConn(int(n))
		}
	}
}

func (c *ServerConn) remember(id uint32, how closedHow) {
	c.recent[c.recentPos] = closedStream{id: id, how: how}
	c.recentPos = (c.recentPos + 1) % len(c.recent)
}

func (c *ServerConn) recentlyClosed(id uint32) closedHow {
	for _, r := range c.recent {
		if r.id == id {
			return r.how
		}
	}
	return 0
}

// resetStream sends RST_STREAM for an open stream and closes it; notify
// says whether the Handler hears of it.
func (c *ServerConn) resetStream(st *Stream, code ErrCode, notify bool) {
	c.closeStream(st, closedByUs)
	if !c.queueControl() {
		return
	}
	c.out = AppendRSTStream(c.out, st.id, code)
	if notify {
		c.h.OnReset(st, code)
	}
	c.notePremature(c.isPremature(st))
}

// refuse sends RST_STREAM for a stream that never opened and ignores the
// frames still in flight for it.
func (c *ServerConn) refuse(id uint32, code ErrCode) {
	c.remember(id, closedByUs)
	c.resetUnopened(id, code)
}

// resetUnopened sends RST_STREAM for a stream id that is not open; it
// counts as a stream refused at opening for the rapid reset rule.
func (c *ServerConn) resetUnopened(id uint32, code ErrCode) {
	if !c.queueControl() {
		return
	}
	c.out = AppendRSTStream(c.out, id, code)
	c.resets.streams++
	c.notePremature(true)
}

// isPremature says whether a reset of st counts against the rapid reset
// rule: it came before we answered (so the reset saved the client nothing
// but cost us the work of opening, such as an upstream dial) and within
// PrematureResetLifetime. Tunnels that were answered and then closed with
// RST_STREAM, as browsers do, are not an attack.
func (c *ServerConn) isPremature(st *Stream) bool {
	return !st.wroteHeaders && c.now()-st.openedAt < c.cfg.PrematureResetLifetime
}

// notePremature feeds the rapid reset rule and fails the connection when it
// trips.
func (c *ServerConn) notePremature(premature bool) {
	if c.resets.note(premature, &c.cfg) {
		c.fail(connError(ErrCodeEnhanceYourCalm, "too many early resets"))
	}
}

// streamErr answers a stream error: reset the stream if it is open, else
// just send RST_STREAM.
func (c *ServerConn) streamErr(se StreamError) error {
	if st := c.streams[se.StreamID]; st != nil {
		c.resetStream(st, se.Code, true)
		return nil
	}
	c.resetUnopened(se.StreamID, se.Code)
	return nil
}

// idle reports whether id names a stream in the idle state: never opened by
// the client, and not implicitly closed by a higher id (RFC 9113
// section 5.1.1). Even ids belong to the server, which opens none.
func (c *ServerConn) idle(id uint32) bool {
	return id%2 == 0 || id > c.maxClientID
}
