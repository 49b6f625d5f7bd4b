package h1

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

// maxCarry is how many bytes a client may send past the request being
// forwarded (pipelined requests) before its conn stops being read until
// that response is out.
const maxCarry = 64 << 10

// exchange is one forwarded request on a client conn that may carry
// several (keep-alive): its relay tunnel's client End (the conn, through
// a reqBody stage), the Front that answers on it, and the Loop the tunnel
// dials from, which takes an idle origin connection from the loop's pool
// when it may. The client conn's handler stays the [conn], which hands
// the exchange its events while it lasts.
type exchange struct {
	h    *conn
	c    *engine.Conn
	ev   relay.Events // the reqBody stage over x
	t    *relay.Tunnel
	loop relay.Loop // the client's

	body   *bodyCutter
	origin *originEnd
	method string
	head   []byte  // the rewritten request head, kept for a retry on a fresh dial; nil: the request may not go on a pooled conn
	site   []byte  // the request head, kept only with probe resistance
	key    poolKey // where the origin conn was dialed, once direct
	target engine.DialTarget

	reqClose   bool // the client asked to close after this response
	http10     bool // the client spoke HTTP/1.0: keep-alive must be said
	direct     bool // dialed to the target itself (not through a parent): the conn may be pooled
	reused     bool // the origin conn came from the pool
	sentFIN    bool // the client's FIN was passed to the origin: that conn cannot carry another request
	keepOrigin bool // the final response let its conn carry another exchange
	closeAfter bool // the client conn ends after this response (said in its head)
	tPaused    bool // the tunnel paused the client (backpressure)
	pPaused    bool // paused because the client pipelined more than maxCarry
}

// forward opens the tunnel of an absolute-form request; b is everything
// read so far, the head is b[:n].
func (h *conn) forward(c *engine.Conn, req *Request, b []byte, n int) {
	s := h.s
	r := relay.Request{
		Proto: relay.ProtoH1, Kind: relay.KindTCP, Client: c.RemoteAddr(), Method: req.Method, Target: req.Target,
		Authorization: req.ProxyAuthorization,
	}
	head, host, port, err := AppendForwardRequest(nil, req, ForwardOptions{Via: s.Via})
	if err != nil {
		if !s.Policy.MaySite() {
			relay.Refuse(relay.OnLoop(c.Loop()), s.Relay, r, 400, relay.ReasonBadRequest)
			h.closing = true
			s.fail(c, 400)
			return
		}
		// An https:// target, say: a 400 before the gate would tell a
		// prober a proxy is here, where a web server serves the path.
		// The gate speaks first; a user then gets the 400.
		r.Bad = relay.ReasonBadRequest
	}
	x := &exchange{
		h: h, c: c, loop: relay.OnLoop(c.Loop()), body: newBodyCutter(req), method: req.Method,
		reqClose: req.Close, http10: req.ProtoMinor == 0,
	}
	if x.body.done && idempotent(req.Method) {
		// No body and idempotent: it may go on a pooled conn, and be sent
		// again on a fresh one.
		x.head = head
	}
	if s.Policy.MaySite() {
		x.site = append([]byte(nil), b[:n]...) // for the site, should the gate hide the proxy
	}
	r.Use, r.Host, r.Port, r.Head, r.Rest = relay.UseForward, host, port, head, b[n:]
	r.Upstream = x.wrapOrigin
	h.x = x
	t := s.Policy.Open(x, s.Relay, relay.Stage(x, (*reqBody)(x)), x, r)
	if h.x == x {
		x.t = t
		if h.eof && len(h.carry) == 0 {
			// The client's FIN came with pipelined requests; this is the
			// last of them, so the origin hears it.
			x.ev.EOF()
		}
	}
}

// idempotent reports whether a request with method may be sent twice
// (RFC 9110 section 9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// wrapOrigin puts the response framing over the connected origin.
func (x *exchange) wrapOrigin(up relay.End) relay.End {
	o := &originEnd{x: x, inner: up}
	o.fr.Reset(x.method)
	x.origin = o
	up.Bind(o)
	return o
}

// responseHead says how the response head it is given goes to the
// client, and for a final one decides what becomes of both conns after
// it.
func (x *exchange) responseHead(r *Response, final bool, mode BodyMode) ForwardOptions {
	o := ForwardOptions{Via: x.h.s.Via}
	if !final {
		return o
	}
	if x.t != nil {
		x.t.Rec.Status = r.Code
	}
	framed := mode != BodyClose && r.Code != 101
	x.keepOrigin = framed && r.KeepsAlive()
	// An HTTP/1.0 client reads a chunked body decoded, to the close.
	// A FIN after pipelined requests ends the conn after the last of them.
	x.closeAfter = !x.keepOrigin || x.reqClose || x.h.eof && len(x.h.carry) == 0 || x.h.closing || x.h.draining ||
		x.http10 && mode == BodyChunked
	o.Dechunk = x.http10 && mode == BodyChunked && r.OnlyChunked()
	switch {
	case x.closeAfter:
		o.Connection = "close"
	case x.http10:
		o.Connection = "keep-alive"
	}
	return o
}

// responseDone runs once the final response's last byte went toward the
// client; extra says the origin sent bytes past it. The tunnel ends as
// done, the origin conn goes to the pool or is closed, and the client
// conn reads its next request or ends.
func (x *exchange) responseDone(extra bool) {
	h := x.h
	reqDone := x.body.done
	keepOrigin := x.keepOrigin && !extra && x.direct && reqDone && !x.sentFIN
	keepClient := !x.closeAfter && reqDone && !h.closing && !h.draining // after a FIN, next serves what came before it
	if x.t == nil || !x.t.Release() {
		return // the tunnel is ending on its own: it closes both ends
	}
	h.x = nil
	up := x.origin.inner
	x.origin.inner = nil
	if sock, ok := up.(*relay.SocketEnd); !keepOrigin || !ok || !h.s.pool(x.c.Loop()).put(x.key, sock) {
		up.Bind(relay.Nowhere{})
		up.Close()
	}
	if x.tPaused || x.pPaused {
		x.c.ResumeRead()
	}
	if keepClient {
		h.next(x.c)
		return
	}
	h.closing = true
	h.carry = nil
	x.c.CloseAfterFlush()
}

// Dial implements relay.Loop: without a parent proxy the one dial is to the
// request's own target, and it takes an idle connection from the pool when
// the request may go on one. Through a parent the dial is the parent's,
// whose socket carries a CONNECT tunnel and is never pooled, whatever
// address the request names.
func (x *exchange) Dial(t engine.DialTarget, d relay.Dialed) func() {
	if x.h.s.Policy.Parent == nil {
		x.direct, x.target, x.key = true, t, poolKey{host: t.Host, port: t.Port}
		if x.head != nil {
			if up, addr := x.h.s.pool(x.c.Loop()).take(x.key, t.Check); up != nil {
				x.reused = true
				d.Dialed(up, engine.DialInfo{Addr: addr, Reused: true}, nil)
				return func() {}
			}
		}
	}
	return x.loop.Dial(t, d)
}

func (x *exchange) Exec(fn func()) bool { return x.loop.Exec(fn) }
func (x *exchange) DialUDP(t engine.DialTarget, d relay.Dialed) func() {
	return x.loop.DialUDP(t, d)
}
func (x *exchange) Lookup(host string, timeout time.Duration, done func([]netip.Addr, time.Duration, error)) func() {
	return x.loop.Lookup(host, timeout, done)
}
func (x *exchange) Idle(it *engine.Idle, d time.Duration, ih engine.IdleHandler) {
	x.loop.Idle(it, d, ih)
}
func (x *exchange) Meters() *relay.Meters { return x.loop.Meters() }

// The client End.

func (x *exchange) Bind(ev relay.Events) { x.ev = ev }
func (x *exchange) Write(p []byte)       { x.c.Write(p) }
func (x *exchange) Buffered() int        { return x.c.Buffered() }
func (x *exchange) WatchDrain(low int)   { x.c.WatchDrain(low) }
func (x *exchange) PauseRead()           { x.tPaused = true; x.c.PauseRead() }
func (x *exchange) ResumeRead() {
	x.tPaused = false
	if !x.pPaused {
		x.c.ResumeRead()
	}
}
func (x *exchange) CloseWrite()      { x.h.closing = true; x.c.CloseWrite() }
func (x *exchange) CloseAfterFlush() { x.h.closing = true; x.c.CloseAfterFlush() }
func (x *exchange) Close()           { x.h.closing = true; x.c.Close() }

// Abort implements relay.Aborter: the origin's response broke off or broke
// its framing after bytes of it went out. A reset, not a FIN, so that a
// client whose body only the close ends (HTTP/1.0, decoded) cannot take
// what it got for all of it.
func (x *exchange) Abort(error) { x.h.closing = true; x.c.Reset() }

// Reply implements relay.Front: the origin's response is the answer to a
// forwarded request, so only a refusal or a failure is written here.
func (x *exchange) Reply(status int) {
	if status != 200 {
		x.h.closing = true
		x.h.s.fail(x.c, status)
	}
}

// Site implements relay.Front.
func (x *exchange) Site(early []byte) {
	h := x.h
	h.closing = true
	b := append(append(x.site, early...), h.carry...)
	h.carry = nil
	h.site(x.c, b)
}

// reqBody is the client end of a forwarded request's tunnel seen as a
// relay codec: it passes exactly the request's body; what the client
// sends after it (its next, pipelined, requests) waits in the client
// conn's carry, never reaching this request's origin.
type reqBody exchange

// Encode is the origin's answer toward the client, as it is.
func (r *reqBody) Encode(dst, p []byte) []byte { return append(dst, p...) }

func (r *reqBody) Decode(b []byte) ([]byte, int, error) {
	x := (*exchange)(r)
	if x.body.done {
		x.stash(b)
		return nil, len(b), nil
	}
	n, err := x.body.cut(b)
	if err != nil {
		return nil, 0, &relay.StageError{Status: 400, Reason: relay.ReasonBadBody, Err: err}
	}
	return b[:n], n, nil
}

func (r *reqBody) EncodeDone() bool { return true }
func (r *reqBody) DecodeDone() bool { return false }

// stash keeps bytes the client sent past the request, pausing the client
// once they are more than maxCarry.
func (x *exchange) stash(b []byte) {
	h := x.h
	if h.closing {
		return
	}
	h.carry = append(h.carry, b...)
	if len(h.carry) > maxCarry && !x.pPaused {
		x.pPaused = true
		x.c.PauseRead()
	}
}
