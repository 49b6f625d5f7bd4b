package h2

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
	"golang.org/x/net/http2/hpack"
)

// Server is the HTTP/2 front end: a ServerConn per client socket (TLS with
// ALPN h2, or h2c with prior knowledge), each CONNECT stream a relay tunnel
// whose upstream is enrolled on the socket's loop, every other request the
// web site.
type Server struct {
	Config      Config
	Policy      *relay.Policy
	Relay       *relay.Config
	Site        http.Handler
	IdleTimeout time.Duration // a conn with no streams for this long gets GOAWAY
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
	return h
}

// conn drives one ServerConn from engine events. Owned by the conn's loop.
type conn struct {
	s        *Server
	c        *engine.Conn
	sc       *ServerConn
	watchers map[*side]struct{} // stream sides waiting for the socket to drain
	gone     bool
	draining bool // the notice GOAWAY went out; the final one follows

	feeding     bool   // inside Feed: OnData writes the frames out once it returns
	flushQueued bool   // a write at the end of this loop pass is queued
	queuedFlush func() // that write, made once
}

var errConnGone = errors.New("h2: connection closed")

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
	h.feeding = false
	h.writeOut()
	if err != nil {
		return len(b)
	}
	// A peer that makes us queue answers (PING, SETTINGS) while it does not
	// read would grow the socket buffer without a window to stop it.
	if c.Buffered() > h.s.Relay.HardCap {
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
	case req.Method == http.MethodConnect && req.Protocol == "":
		h.connect(st, req)
	case req.Method == http.MethodConnect:
		// Extended CONNECT for a protocol this server does not serve.
		st.WriteHeaders(http.StatusNotImplemented, nil, true)
	default:
		h.serveSite(st, req)
	}
}

func (h *conn) record(req *Request) relay.Record {
	return relay.Record{Start: time.Now(), Client: h.c.RemoteAddr(), Proto: "h2", Kind: "tcp", Target: req.Authority, ACL: -1}
}

// authWait holds a CONNECT stream's early bytes while its password is
// checked off the loop; the withheld window credit bounds them.
type authWait struct {
	buf []byte
	eof bool
}

func (h *conn) connect(st *Stream, req *Request) {
	g := h.s.Policy.Gate
	header := fieldValue(req, "proxy-authorization")
	host := authorityHost(req.Authority)
	client := h.c.RemoteAddr().Addr()
	if v, done := g.Authorize(header, client, host); done {
		h.admitted(st, req, v, nil)
		return
	}
	aw := &authWait{}
	st.SetUserData(aw)
	go func() {
		v := g.AuthorizeSlow(header, client, host)
		h.c.Exec(func() {
			if !st.Dead() {
				h.admitted(st, req, v, aw)
				h.flush()
			}
		})
	}()
}

// admitted goes on with a CONNECT stream once the gate has spoken.
func (h *conn) admitted(st *Stream, req *Request, v relay.Verdict, aw *authWait) {
	if aw != nil {
		st.SetUserData(nil) // later DATA of a refused stream is consumed and dropped
		if v.Hide || v.Status != 0 {
			st.Consumed(len(aw.buf)) // the held bytes go nowhere: their credit comes back
		}
	}
	switch {
	case v.Hide:
		h.serveSite(st, req)
		return
	case v.Status == http.StatusProxyAuthRequired:
		st.WriteHeaders(v.Status, []hpack.HeaderField{{Name: "proxy-authenticate", Value: h.s.Policy.Gate.Challenge()}}, true)
		return
	case v.Status != 0:
		st.WriteHeaders(v.Status, nil, true)
		return
	}
	adm := h.s.Policy.Admit(req.Authority, true)
	rec := h.record(req)
	rec.ACL, rec.ACLRule, rec.User = adm.ACL, adm.Rule, v.User
	if adm.Status != 0 {
		h.refuse(st, rec, adm.Status, aw)
		return
	}
	release, ok := h.s.Policy.Gate.Acquire(v.User, h.c.RemoteAddr().Addr())
	if !ok {
		h.refuse(st, rec, http.StatusTooManyRequests, aw)
		return
	}
	sd := &side{h: h, st: st, watchLow: -1}
	st.SetUserData(sd)
	tun := relay.New(h.s.Relay, sd, nil, rec)
	tun.OnEnd = func(*relay.Tunnel) { release() }
	sd.t = tun
	sd.eof = req.EndStream
	if aw != nil {
		if len(aw.buf) > 0 {
			tun.FromClient(aw.buf)
			st.Consumed(len(aw.buf))
		}
		sd.eof = sd.eof || aw.eof
	}
	tun.Connect(h.c, adm.Dial, func(status int, err error) {
		if sd.done {
			return
		}
		if status != 200 {
			st.WriteHeaders(status, nil, true)
			sd.finish(nil)
			h.flush()
			return
		}
		st.WriteHeaders(200, nil, false)
		h.flush()
		if sd.eof {
			sd.t.ClientEOF()
		}
	})
}

// refuse logs and answers a CONNECT that gets no tunnel; bytes held
// during its password check give their credit back.
func (h *conn) refuse(st *Stream, rec relay.Record, status int, aw *authWait) {
	if aw != nil {
		st.Consumed(len(aw.buf))
	}
	rec.Refuse(status, h.s.Relay.AccessLog)
	st.WriteHeaders(status, nil, true)
}

func fieldValue(req *Request, name string) string {
	for _, f := range req.Header {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// authorityHost is the host of host:port (brackets removed), for the probe secret.
func authorityHost(a string) string {
	if host, _, err := net.SplitHostPort(a); err == nil {
		return host
	}
	return a
}

func (e *streamEvents) OnData(st *Stream, p []byte, endStream bool) {
	switch u := st.UserData().(type) {
	case *side:
		u.fromClient(p, endStream)
	case *siteReq:
		u.body(p, endStream)
	case *authWait:
		u.buf = append(u.buf, p...)
		u.eof = u.eof || endStream
	default:
		st.Consumed(len(p))
	}
}

func (e *streamEvents) OnReset(st *Stream, code ErrCode) {
	switch u := st.UserData().(type) {
	case *side:
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
