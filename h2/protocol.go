package h2

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/padding"
	"github.com/sluice-proxy/sluice/relay"
)

// Server is the HTTP/2 front end: a ServerConn per client socket (TLS with
// ALPN h2, or h2c with prior knowledge), each CONNECT stream a relay tunnel
// whose upstream is enrolled on the socket's loop, every other request the
// web site.
type Server struct {
	Config Config
	Policy *relay.Policy
	Relay  *relay.Config
	Site   http.Handler
	// IdleTimeout is how long a conn may be silent: with no streams it then
	// gets GOAWAY; with streams, a PING, and it is closed when no ACK comes
	// within PingTimeout (0: never pinged).
	IdleTimeout time.Duration
	PingTimeout time.Duration
	// SettingsTimeout closes a conn whose client has not acknowledged our
	// SETTINGS this long after it opened (SETTINGS_TIMEOUT); 0: no limit.
	SettingsTimeout time.Duration
	// UDP matches connect-udp requests; nil turns connect-udp off.
	UDP *relay.UDPTemplate
	// Padding grants NaïveProxy padding to CONNECT streams that ask.
	Padding bool
}

// Open is the engine.ListenerSpec.Open (or the h1 preface hand-off) for an
// HTTP/2 conn.
func (s *Server) Open(c *engine.Conn) engine.Handler {
	h := &conn{s: s, c: c}
	h.sc = NewServerConn(s.Config, (*streamEvents)(h))
	h.queuedFlush = func() {
		h.flushQueued = false
		h.writeOut()
	}
	h.writeOut()
	if s.IdleTimeout > 0 {
		c.SetIdleTimeout(s.IdleTimeout)
	}
	switch {
	case s.Config.Profile == ProfileGo:
		// Go's server waits goPrefaceWait for the client's preface, then
		// goFirstSettings for its first frame, and not at all for the
		// ACK of its SETTINGS.
		h.wait(waitPreface, goPrefaceWait)
	case s.SettingsTimeout > 0:
		h.wait(waitSettings, s.SettingsTimeout)
	}
	return h
}

// goPrefaceWait is how long Go's server gives a client for the 24 bytes of its
// preface, and goFirstSettings how long then for its first SETTINGS frame,
// before it closes the conn without a GOAWAY.
const (
	goPrefaceWait   = 10 * time.Second
	goFirstSettings = 2 * time.Second
)

// conn drives one ServerConn from engine events. Owned by the conn's loop.
type conn struct {
	s        *Server
	c        *engine.Conn
	sc       *ServerConn
	watchers map[*side]struct{} // stream sides waiting for the socket to drain
	loop     relay.Loop         // the tunnels', made with the first CONNECT
	closeErr error              // engine.ErrShutdown when the drain cut the socket, for the streams' tunnels
	gone     bool
	draining bool    // the notice GOAWAY went out; the final one follows
	waitFor  waiting // what the conn's deadline is for

	feeding     bool    // inside Feed: OnData writes the frames out once it returns
	run         dataRun // DATA gathered during Feed, delivered when it returns
	flushQueued bool    // a write at the end of this loop pass is queued
	queuedFlush func()  // that write, made once
}

var errConnGone = errors.New("h2: connection closed")

// waiting is what a conn's deadline is set for.
type waiting uint8

const (
	waitNone     waiting = iota
	waitSettings         // the client's ACK of our SETTINGS (ProfileGo: its first SETTINGS)
	waitPreface          // the client's preface (ProfileGo)
	waitPing             // the ACK of our PING
)

// wait sets the conn's deadline for w, d from now; waitNone clears it.
func (h *conn) wait(w waiting, d time.Duration) {
	h.waitFor = w
	if w == waitNone {
		h.c.SetDeadline(time.Time{})
		return
	}
	h.c.SetDeadline(time.Now().Add(d))
}

// flush has the ServerConn's pending frames written: by OnData once Feed
// returns when they come from the client's own bytes, else at the end of
// this pass of the event loop. Frames that several streams make in one
// pass (upstream reads, dial results) then share one TLS record and one
// write instead of paying for one each.
func (h *conn) flush() {
	if h.feeding || h.flushQueued {
		return
	}
	if len(h.sc.Output()) == 0 && (h.gone || !h.sc.Closed()) {
		return
	}
	h.flushQueued = true
	h.c.Exec(h.queuedFlush)
}

// flushNow writes the pending frames at once, unless OnData or a queued
// end-of-pass write is about to.
func (h *conn) flushNow() {
	if !h.feeding && !h.flushQueued {
		h.writeOut()
	}
}

// writeOut moves the ServerConn's pending frames to the socket now.
func (h *conn) writeOut() {
	if out := h.sc.Output(); len(out) > 0 {
		h.c.Write(out)
		h.sc.ResetOutput()
	}
	if h.sc.Closed() && !h.gone {
		h.gone = true
		h.c.CloseAfterFlush()
	}
}

func (h *conn) OnData(c *engine.Conn, b []byte) int {
	h.feeding = true
	n, err := h.sc.Feed(b)
	h.flushRun()
	h.feeding = false
	h.writeOut()
	if err != nil {
		return len(b)
	}
	if h.waitFor == waitPreface && h.sc.PrefaceDone() {
		h.wait(waitSettings, goFirstSettings)
	}
	if h.waitFor == waitSettings && h.sc.settingsDone() || h.waitFor == waitPing && !h.sc.PingOutstanding() {
		h.wait(waitNone, 0)
	}
	// A peer that makes us queue answers (PING, SETTINGS) while it does not
	// read would grow the socket buffer without a window to stop it. The
	// socket also holds the streams' tunnel bytes, each stream up to its
	// high watermark before its upstream pauses (a conn-level
	// WINDOW_UPDATE may release them all at once), so those are allowed
	// beyond the cap.
	high, _, hardCap := h.s.Relay.Limits()
	if c.Buffered() > hardCap+h.sc.NumStreams()*high {
		h.sc.Abort(ErrCodeEnhanceYourCalm)
		h.writeOut()
		c.Close()
		return len(b)
	}
	return n
}

func (h *conn) OnReadEOF(c *engine.Conn) { h.teardown() }

func (h *conn) OnDrained(c *engine.Conn) {
	for sd := range h.watchers {
		sd.checkDrained()
	}
}

// drainNotice is how long the first, announcing GOAWAY precedes the one
// that names the last stream: streams the client opened before it saw the
// notice still arrive and are served (RFC 9113 section 6.8).
const drainNotice = time.Second

// OnDrain implements engine.Drainer: GOAWAY in two steps; the conn closes
// once its open streams have ended.
func (h *conn) OnDrain(c *engine.Conn) {
	h.draining = true
	h.sc.GoAwayNotice()
	h.writeOut()
	c.SetDeadline(time.Now().Add(drainNotice))
}

// OnTimeout sends a drain's final GOAWAY, or closes a conn that has had no
// stream for the idle timeout.
func (h *conn) OnTimeout(c *engine.Conn) {
	if h.draining {
		h.sc.GoAway(ErrCodeNo, "shutting down")
		h.writeOut()
		return
	}
	switch w := h.waitFor; {
	case w == waitPreface, w == waitSettings && !h.sc.settingsDone(), w == waitPing && h.sc.PingOutstanding():
		h.sc.TimedOut() // a peer that went silent, or never spoke HTTP/2 properly
		h.writeOut()
		return
	case w != waitNone:
		h.wait(waitNone, 0)
		return
	}
	if !h.sc.Idle() && h.s.PingTimeout > 0 {
		// Streams, and nothing heard for the idle timeout: is anyone there?
		h.sc.Ping()
		h.writeOut()
		h.wait(waitPing, h.s.PingTimeout)
		return
	}
	if h.sc.Idle() {
		h.sc.GoAway(ErrCodeNo, "idle")
		h.writeOut()
		if !h.gone {
			h.gone = true
			c.CloseAfterFlush()
		}
	}
}

func (h *conn) OnClose(c *engine.Conn, err error) {
	h.gone = true
	if errors.Is(err, engine.ErrShutdown) {
		h.closeErr = err
	}
	h.teardown()
}

// teardown ends every stream when the socket is gone.
func (h *conn) teardown() {
	if !h.sc.Closed() {
		h.sc.Abort(ErrCodeCancel) // resets every stream: OnReset ends their tunnels
	}
	if !h.c.Closed() {
		h.c.Close()
	}
}

// watchSocket asks for OnDrained once the socket's buffer is at low.
func (h *conn) watchSocket(sd *side, low int) {
	if h.watchers == nil {
		h.watchers = make(map[*side]struct{})
	}
	h.watchers[sd] = struct{}{}
	h.c.WatchDrain(low)
}

// streamEvents is the conn seen as the ServerConn's Handler (its method
// names clash with engine.Handler's).
type streamEvents conn

func (e *streamEvents) OnRequest(st *Stream, req *Request) {
	h := (*conn)(e)
	switch {
	case req.Reject != "":
		// ProfileGo: what Go's server answers connection-specific fields with.
		h.serveSiteWith(st, req, goReject(req.Reject))
	case req.Method == http.MethodConnect && req.Protocol == "":
		h.connect(st, req)
	case req.Method == http.MethodConnect && req.Protocol == "connect-udp" && h.s.UDP != nil:
		h.connectUDP(st, req)
	case req.Method == http.MethodConnect && req.Protocol == "connect-udp":
		h.serveSite(st, req) // --udp off: the site answers, as for any request it does not know
	case req.Method == http.MethodConnect:
		// Extended CONNECT for a protocol this server does not serve.
		st.WriteHeaders(http.StatusNotImplemented, nil, true)
	default:
		h.serveSite(st, req)
	}
}

// connect opens the tunnel of a CONNECT stream, padded if it asks.
func (h *conn) connect(st *Stream, req *Request) {
	sd := h.newSide(st, req)
	r := relay.Request{
		Proto: relay.ProtoH2, Kind: relay.KindTCP, Use: relay.UseConnect, Client: h.c.RemoteAddr(), Method: req.Method,
		Target: req.Authority, Authorization: fieldValue(req, "proxy-authorization"),
	}
	pad, err := relay.NegotiatePadding(paddingOffer(req), h.s.Padding)
	if err != nil {
		r.Bad = relay.ReasonBadRequest
	}
	sd.pad = pad
	h.open(pad.Wrap(sd), sd, r, req)
}

// paddingOffer is what the request's fields say of padding.
func paddingOffer(req *Request) padding.Offer {
	var o padding.Offer
	for _, f := range req.Header {
		switch f.Name {
		case padding.HeaderPadding:
			o.Padding = true
		case padding.HeaderTypeRequest:
			if o.HasTypeRequest {
				o.TypeRequest += ", " + f.Value // a list split over field lines
			} else {
				o.HasTypeRequest, o.TypeRequest = true, f.Value
			}
		}
	}
	return o
}

// connectUDP opens the datagram flow of an extended CONNECT for
// connect-udp (RFC 9298 over RFC 8441): the target is in the path, and the
// datagrams travel as capsules in DATA frames.
func (h *conn) connectUDP(st *Stream, req *Request) {
	r := relay.Request{
		Proto: relay.ProtoH2, Kind: relay.KindUDP, Use: relay.UseConnect, Client: h.c.RemoteAddr(), Method: req.Method,
		Target: req.Path, Authorization: fieldValue(req, "proxy-authorization"),
	}
	sd := h.newSide(st, req)
	sd.udp = true
	if host, port, ok := h.s.UDP.Match(req.Path); ok {
		r.Host, r.Port = host, port
		r.Target = net.JoinHostPort(host, strconv.Itoa(int(port)))
	} else {
		r.Bad = relay.ReasonBadRequest
	}
	h.open(relay.Stage(sd, relay.Capsules()), sd, r, req)
}

// newSide makes the side of a CONNECT stream, its user data from now on.
func (h *conn) newSide(st *Stream, req *Request) *side {
	sd := &side{h: h, st: st, watchLow: -1}
	if h.s.Policy.MaySite() {
		sd.req = req // for the site, should the gate hide the proxy
	}
	st.SetUserData(sd)
	return sd
}

// open hands a CONNECT stream's request to the admission path.
func (h *conn) open(end relay.End, sd *side, r relay.Request, req *Request) {
	if h.loop == nil {
		h.loop = relay.OnLoop(h.c.Loop())
	}
	h.s.Policy.Open(h.loop, h.s.Relay, end, sd, r)
	if req.EndStream {
		sd.fromClient(nil, true)
	}
}

func fieldValue(req *Request, name string) string {
	for _, f := range req.Header {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func (e *streamEvents) OnData(st *Stream, p []byte, endStream bool) {
	h := (*conn)(e)
	switch u := st.UserData().(type) {
	case *side:
		if h.feeding && !endStream && !u.done && len(p) > 0 {
			h.addToRun(u, p)
			return
		}
		h.flushRun()
		u.fromClient(p, endStream)
	case *siteReq:
		u.body(p, endStream)
	default:
		st.Consumed(len(p))
	}
}

func (e *streamEvents) OnReset(st *Stream, code ErrCode) {
	(*conn)(e).flushRun() // bytes that came before the reset still go
	switch u := st.UserData().(type) {
	case *side:
		if err := (*conn)(e).closeErr; err != nil {
			u.finish(err) // the socket went, and with it every stream
			return
		}
		u.finish(errReset{code})
	case *siteReq:
		u.cancel()
	}
}

func (e *streamEvents) OnWindow(st *Stream) {
	switch u := st.UserData().(type) {
	case *side:
		u.flushPending()
	case *siteReq:
		u.flushPending()
	}
}

// errReset is a client's RST_STREAM as a tunnel close reason.
type errReset struct{ code ErrCode }

func (e errReset) Error() string { return "h2: stream reset: " + e.code.String() }
