package h1

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

// Server is the HTTP/1.1 front end: it parses request heads on the event
// loop and turns CONNECT into tunnels, absolute-form requests into
// forwarded requests (several per conn, HTTP/1.1 keep-alive, each its own
// tunnel, over origin conns kept in a per-loop pool), and everything else
// into the web site.
type Server struct {
	Limits        Limits
	Policy        *relay.Policy
	Relay         *relay.Config
	HeaderTimeout time.Duration // from accept to the end of the request head
	Site          http.Handler
	// H2 takes a conn that opened with the HTTP/2 preface (h2c with prior
	// knowledge); nil refuses it as a bad request.
	H2 func(c *engine.Conn) engine.Handler
	// UDP matches connect-udp requests (GET with Upgrade: connect-udp);
	// nil turns connect-udp off.
	UDP *relay.UDPTemplate
	// ConnectResponse is the head a CONNECT's success is answered with
	// (from ParseConnectResponse); nil sends "200 Connection established".
	ConnectResponse []byte
	// Via is the pseudonym added to the Via field of forwarded requests
	// and responses ("sluice"); "" adds none.
	Via string
	// KeepAliveTimeout is how long a client conn may wait idle between
	// forwarded requests; 0 is DefaultKeepAlive.
	KeepAliveTimeout time.Duration
	// OriginIdleTimeout is how long an origin conn waits in its loop's
	// pool for the next request to its target; 0 is DefaultOriginIdle.
	OriginIdleTimeout time.Duration
	// GoReads makes a plain conn read as Go's net/http server with h2c
	// reads one (--camouflage go): nothing is parsed before its h2c peek
	// is complete, and the site reads the same bytes in the same steps.
	GoReads bool
	// ALPNGrace is how long a conn that chose h2 by ALPN may take to send
	// a whole HTTP/1.1 request head before it is HTTP/2 and gets the
	// SETTINGS Go's server sends at once (--camouflage go; a round trip
	// more after a TLS 1.2 full handshake). A head that came in time is
	// served as HTTP/1.1 as far as the proxy serves it; what would go to
	// the site (a request without credentials under probe resistance, or
	// no proxy request) goes to HTTP/2 instead. 0: wait for the client's
	// first bytes, and serve any HTTP/1.1 request.
	ALPNGrace time.Duration

	site  siteServer
	pools sync.Map // *engine.Loop -> *originPool
}

// DefaultKeepAlive is how long an idle client conn waits for its next
// request by default (nginx's keepalive_timeout).
const DefaultKeepAlive = 75 * time.Second

// Close stops the site server.
func (s *Server) Close() { s.site.close() }

// Open is the engine.ListenerSpec.Open for HTTP/1.1 conns.
func (s *Server) Open(c *engine.Conn) engine.Handler {
	if s.HeaderTimeout > 0 {
		c.SetDeadline(time.Now().Add(s.HeaderTimeout))
	}
	c.HoldAtFIN(true) // HTTP answers a request the client's FIN followed; a tunnel lets go
	return &conn{s: s}
}

// OpenALPNH2 opens a conn whose client chose h2 by ALPN: it goes to H2
// unless its first bytes are an HTTP/1.x request line (see
// [SniffRequestLine]), which is then served here.
func (s *Server) OpenALPNH2(c *engine.Conn) engine.Handler {
	h := s.Open(c).(*conn)
	h.alpnH2 = true
	if s.ALPNGrace > 0 {
		// After a TLS 1.2 full handshake the client's first bytes are a
		// round trip away (half as much again for jitter); after TLS 1.3
		// they come with its Finished.
		h.alpnWait = true
		c.SetDeadline(time.Now().Add(s.ALPNGrace + c.FirstBytesDue()*3/2))
	}
	return h
}

var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// conn is one HTTP/1.1 client conn while it reads request heads: until a
// request is dispatched to HTTP/2, to the site, to a CONNECT tunnel (which
// then becomes the conn's handler) or to an error answer, and for as long
// as it forwards absolute-form requests, one exchange at a time.
type conn struct {
	s      *Server
	hp     HeadParser // remembers how far the head was checked: a byte-at-a-time client costs linear time
	x      *exchange  // the forwarded request in flight
	carry  []byte     // bytes read past the request in flight (pipelined requests), parsed once it is done
	served int        // forwarded requests answered on this conn
	done   bool       // the request was dispatched
	alpnH2 bool       // ALPN said h2: HTTP/2 unless the first bytes say otherwise
	// alpnWait: within ALPNGrace, before the first bytes said HTTP/1.1.
	// h2Fallback: they did, within it; what is not a proxy user's request
	// goes to HTTP/2, which refuses it as Go's server does.
	alpnWait, h2Fallback bool
	// Between forwarded requests.
	idle     bool // waiting for the next request head: the keep-alive timeout runs
	eof      bool // the client sent FIN
	closing  bool // the conn ends: what the client sends is dropped
	draining bool // the server drains: the conn ends after this response
}

func (h *conn) OnData(c *engine.Conn, b []byte) int {
	if x := h.x; x != nil {
		x.ev.Data(b)
		return len(b)
	}
	if h.done || h.closing {
		return len(b)
	}
	if h.idle {
		// The next head starts: from here it has the header timeout.
		h.idle = false
		if h.s.HeaderTimeout > 0 {
			c.SetDeadline(time.Now().Add(h.s.HeaderTimeout))
		}
	}
	if len(h.carry) > 0 {
		b2 := append(h.carry, b...)
		h.carry = nil
		if h.serve(c, b2) == 0 {
			h.carry = b2
		}
		return len(b)
	}
	return h.serve(c, b)
}

// serve dispatches the request at the start of b and reports how much of
// b it took: 0 while the head is incomplete, else all of it.
func (h *conn) serve(c *engine.Conn, b []byte) int {
	if h.alpnH2 {
		switch SniffRequestLine(b) {
		case SniffMore:
			return 0
		case SniffOther:
			return h.toH2(c, b)
		}
		h.alpnH2 = false
		// Within the grace the whole head must come (Go's http.Transport
		// writes it at once): alpnWait stays until it parses.
		h.h2Fallback = h.alpnWait
	}
	if h.s.GoReads && h.s.H2 != nil && h.served == 0 && !c.IsTLS() && goPeeking(b) {
		return 0
	}
	if h.s.H2 != nil && h.served == 0 && len(b) > 0 && b[0] == 'P' {
		if len(b) < len(h2Preface) && bytes.HasPrefix(h2Preface, b) {
			return 0
		}
		if bytes.HasPrefix(b, h2Preface) {
			return h.toH2(c, b)
		}
	}
	req, n, err := h.hp.ParseRequest(b, h.s.Limits)
	if err == ErrNeedMore {
		return 0
	}
	h.done, h.alpnWait = true, false
	if err != nil {
		h.badRequest(c, b, err)
		return len(b)
	}
	c.SetDeadline(time.Time{})
	if h.s.UDP != nil && isConnectUDP(&req) {
		h.proxyUDP(c, &req, b, n)
		return len(b)
	}
	switch {
	case req.Method == http.MethodConnect:
		h.proxy(c, &req, b, n)
	case req.Form == FormAbsolute:
		h.forward(c, &req, b, n)
	default:
		h.site(c, b)
	}
	return len(b)
}

// next makes the conn read its next request once a forwarded one is
// answered: from what the client already sent, or when it sends more.
func (h *conn) next(c *engine.Conn) {
	h.served++
	h.done = false
	if len(h.carry) > 0 {
		b := h.carry
		h.carry = nil
		if h.serve(c, b) > 0 {
			return
		}
		h.carry = b
		if h.eof {
			h.endKeptAlive(c)
			return
		}
		if h.s.HeaderTimeout > 0 {
			c.SetDeadline(time.Now().Add(h.s.HeaderTimeout))
		}
		return
	}
	if h.eof {
		h.closing = true
		c.CloseAfterFlush()
		return
	}
	h.idle = true
	d := h.s.KeepAliveTimeout
	if d <= 0 {
		d = DefaultKeepAlive
	}
	c.SetDeadline(time.Now().Add(d))
}

// badRequest answers a request head that did not parse.
func (h *conn) badRequest(c *engine.Conn, b []byte, err error) {
	if g := h.s.Policy.Gate; g != nil && g.ProbeResistance {
		// Our parser is stricter than a web server's, and its answers
		// would give the proxy away: let the site answer as it would.
		c.SetDeadline(time.Time{})
		h.site(c, b)
		return
	}
	if notHTTP(b) {
		// Not HTTP/1.x at all (an invalid HTTP/2 preface, another
		// protocol): no HTTP/1.1 answer means anything to it.
		c.Close()
		return
	}
	code := 400
	var se *StatusError
	if errors.As(err, &se) {
		code = se.Code
	}
	h.refuse(c, code)
}

// refuse answers a request head that never parsed with code, and puts it
// in the access log (reason bad_request, no method or target): the client
// learns what was wrong with it, the operator that it came.
func (h *conn) refuse(c *engine.Conn, code int) {
	r := relay.Request{Proto: relay.ProtoH1, Kind: relay.KindTCP, Client: c.RemoteAddr()}
	relay.Refuse(relay.OnLoop(c.Loop()), h.s.Relay, r, code, relay.ReasonBadRequest)
	h.s.fail(c, code)
}

// toH2 hands the conn to the HTTP/2 front end with the bytes read so far.
func (h *conn) toH2(c *engine.Conn, b []byte) int {
	h.done = true
	return h.s.toH2(c, b)
}

func (s *Server) toH2(c *engine.Conn, b []byte) int {
	if s.H2 == nil {
		c.Close()
		return len(b)
	}
	c.SetDeadline(time.Time{})
	next := s.H2(c)
	c.SetHandler(next)
	return next.OnData(c, b)
}

// site hands the conn, with every byte it sent since its current request
// began, to the web site: a request that is not a proxy's, or one the gate
// hides the proxy from. On a conn that chose h2 by ALPN, HTTP/2 takes it
// instead, as Go's server would have from the start.
func (h *conn) site(c *engine.Conn, b []byte) {
	h.s.toRoute(c, b, h.route())
}

// siteRoute is where a conn's request goes when the proxy does not serve
// it, kept by a tunnel's front so that it need not keep the conn.
type siteRoute struct {
	first bool // the request is the conn's first: its bytes start the conn
	h2    bool // the conn chose h2 by ALPN: HTTP/2 takes it
}

// route: only a conn's first request can go to HTTP/2; once one was served
// as HTTP/1.1, HTTP/1.1 it stays.
func (h *conn) route() siteRoute {
	first := h.served == 0
	return siteRoute{first: first, h2: h.h2Fallback && first}
}

func (s *Server) toRoute(c *engine.Conn, b []byte, r siteRoute) {
	if r.h2 {
		s.toH2(c, b)
		return
	}
	s.toSite(c, b, r.first, false)
}

// toSite detaches c for the site, which reads b first: the conn's first
// bytes when first, and then a read timeout instead of the socket when
// cut.
func (s *Server) toSite(c *engine.Conn, b []byte, first, cut bool) {
	site := s.Site
	if !s.GoReads && !cut {
		c.Detach(b, func(nc net.Conn) {
			if nc != nil {
				s.site.serve(site, nc)
			}
		})
		return
	}
	pre := append([]byte(nil), b...)
	mode := replayMode{steps: first && s.GoReads && s.H2 != nil && !c.IsTLS(), cut: cut, asSocket: s.GoReads}
	c.Detach(nil, func(nc net.Conn) {
		if nc != nil {
			s.site.serve(site, newReplay(nc, pre, mode))
		}
	})
}

// fail answers code and closes once it is out.
func (s *Server) fail(c *engine.Conn, code int) {
	var extra []Field
	if code == http.StatusProxyAuthRequired {
		extra = append(extra, Field{Name: "Proxy-Authenticate", Value: s.Policy.Gate.Challenge()})
	}
	c.Write(AppendError(nil, code, extra...))
	c.CloseAfterFlush()
}

// OnReadEOF: the client ended before its request head did, or between
// requests, or while a forwarded request is in flight. The origin hears
// of it only from the last request the client sent (one it pipelined
// before its FIN still gets answered first).
func (h *conn) OnReadEOF(c *engine.Conn) {
	h.eof = true
	if x := h.x; x != nil {
		if len(h.carry) == 0 {
			x.ev.EOF()
		}
		return
	}
	if h.done {
		return // answered and closing, or handed to the site, which reads the FIN itself
	}
	if h.served > 0 {
		h.endKeptAlive(c)
		return
	}
	if h.alpnWait || h.probeResistant() {
		// The client ended in the middle of its first head, or before it
		// spoke within ALPNGrace: whoever would have read those bytes
		// (the site, or HTTP/2) answers them, and then hears the FIN.
		if partial := h.unread(c); len(partial) > 0 || h.alpnWait {
			if h.handPartial(c, partial, false) && !c.Closed() {
				c.Handler().OnReadEOF(c) // the site reads the FIN itself
			}
			return
		}
	}
	if !h.cutHead(c) {
		c.Close()
	}
}

// endKeptAlive ends a conn that served a request at the client's FIN: a
// next head the FIN cut short gets its 400 (under probe resistance, as
// before, nothing), after the last response, which may still be on its
// way.
func (h *conn) endKeptAlive(c *engine.Conn) {
	if !h.probeResistant() && h.cutHead(c) {
		return
	}
	h.closing = true
	c.CloseAfterFlush()
}

// cutHead answers 400 to a request head the client's FIN cut short, as
// Go's server does: the client may still read, and learns its request was
// incomplete. It reports whether there was one: blank lines, which may
// precede a request (RFC 9112 section 2.2), and bytes that are not HTTP
// at all get no answer.
func (h *conn) cutHead(c *engine.Conn) bool {
	partial := h.unread(c)
	if len(bytes.TrimLeft(partial, "\r\n")) == 0 || notHTTP(partial) {
		return false
	}
	h.done, h.closing = true, true
	h.refuse(c, http.StatusBadRequest)
	return true
}

// OnDrain implements engine.Drainer: a conn still waiting for its request
// gets none served; one with a forwarded request in flight ends after
// its response.
func (h *conn) OnDrain(c *engine.Conn) {
	switch {
	case h.x != nil:
		h.draining = true
	case h.served > 0 && !h.done:
		h.closing = true
		c.CloseAfterFlush()
	case !h.done:
		c.Close()
	}
}

func (h *conn) OnDrained(c *engine.Conn) {
	if x := h.x; x != nil {
		x.ev.Drained()
	}
}

// OnTimeout is the request-head timeout (slowloris): answer 408 and close.
// With probe resistance a 408 would tell a prober this is no plain web
// site, so the site gets the partial head followed by a read timeout and
// answers as it does when its own header timeout passes (net/http: a
// silent close, or 400 to half a request line).
func (h *conn) OnTimeout(c *engine.Conn) {
	if h.done || h.x != nil || h.closing {
		return
	}
	if h.idle {
		// Kept alive and idle for KeepAliveTimeout: not a slow client.
		h.done, h.closing = true, true
		c.CloseAfterFlush()
		return
	}
	if h.alpnWait || h.probeResistant() {
		// No whole HTTP/1.1 head came within the ALPN grace: HTTP/2
		// speaks, and judges what did come. Or the site gets the head
		// with a read timeout, not EOF: net/http answers 400 to an EOF
		// after a complete request line, but closes silently at its own
		// timeout.
		h.handPartial(c, h.unread(c), true)
		return
	}
	h.done = true
	h.s.fail(c, http.StatusRequestTimeout)
}

func (h *conn) probeResistant() bool {
	g := h.s.Policy.Gate
	return g != nil && g.ProbeResistance
}

// unread takes what the client sent of the head being read.
func (h *conn) unread(c *engine.Conn) []byte {
	partial := append(h.carry, c.TakeUnread()...)
	h.carry = nil
	return partial
}

// handPartial gives what the client sent of a request head that will not
// be completed to whoever would have read it, and reports whether that is
// HTTP/2: within the ALPN grace, or when the conn's first request goes to
// HTTP/2; else the site, which then reads a timeout when cut, else the
// socket's EOF.
func (h *conn) handPartial(c *engine.Conn, partial []byte, cut bool) bool {
	h.done = true
	if h.alpnWait || h.route().h2 {
		h.alpnWait = false
		h.toH2(c, partial)
		return true
	}
	h.s.toSite(c, partial, h.served == 0, cut)
	return false
}

func (h *conn) OnClose(c *engine.Conn, err error) {
	h.closing = true
	h.carry = nil
	if x := h.x; x != nil {
		h.x = nil
		x.ev.Closed(err)
	}
}

// notHTTP reports whether a complete first line ends in something other
// than an HTTP-version token.
func notHTTP(b []byte) bool {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return false
	}
	line := bytes.TrimRight(b[:i], "\r")
	sp := bytes.LastIndexByte(line, ' ')
	return sp >= 0 && !bytes.HasPrefix(line[sp+1:], []byte("HTTP/"))
}
