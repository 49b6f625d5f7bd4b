package h1

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

// Server is the HTTP/1.1 front end: it parses request heads on the event
// loop and turns CONNECT into tunnels, absolute-form requests into one-shot
// forwarded requests, and everything else into the web site.
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

	site siteServer
}

// Close stops the site server.
func (s *Server) Close() { s.site.close() }

// Open is the engine.ListenerSpec.Open for HTTP/1.1 conns.
func (s *Server) Open(c *engine.Conn) engine.Handler {
	if s.HeaderTimeout > 0 {
		c.SetDeadline(time.Now().Add(s.HeaderTimeout))
	}
	return &conn{s: s}
}

// OpenALPNH2 opens a conn whose client chose h2 by ALPN: it goes to H2
// unless its first bytes are an HTTP/1.x request line (see
// [SniffRequestLine]), which is then served here.
func (s *Server) OpenALPNH2(c *engine.Conn) engine.Handler {
	h := s.Open(c).(*conn)
	h.alpnH2 = true
	return h
}

var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// conn is one HTTP/1.1 client conn until its request is dispatched: to
// HTTP/2, to the site, to a tunnel (which then becomes the conn's handler)
// or to an error answer.
type conn struct {
	s      *Server
	hp     HeadParser // remembers how far the head was checked: a byte-at-a-time client costs linear time
	done   bool       // the request was dispatched
	alpnH2 bool       // ALPN said h2: HTTP/2 unless the first bytes say otherwise
}

func (h *conn) OnData(c *engine.Conn, b []byte) int {
	if h.done {
		return len(b)
	}
	if h.alpnH2 {
		switch SniffRequestLine(b) {
		case SniffMore:
			return 0
		case SniffOther:
			return h.toH2(c, b)
		}
		h.alpnH2 = false
	}
	if h.s.H2 != nil && len(b) > 0 && b[0] == 'P' {
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
	h.done = true
	if err != nil {
		h.badRequest(c, b, err)
		return len(b)
	}
	c.SetDeadline(time.Time{})
	if h.s.UDP != nil && isConnectUDP(&req) {
		h.proxyUDP(c, &req, b, n)
		return len(b)
	}
	if req.Method != http.MethodConnect && req.Form != FormAbsolute {
		h.toSite(c, b)
		return len(b)
	}
	h.proxy(c, &req, b, n)
	return len(b)
}

// badRequest answers a request head that did not parse.
func (h *conn) badRequest(c *engine.Conn, b []byte, err error) {
	if g := h.s.Policy.Gate; g != nil && g.ProbeResistance {
		// Our parser is stricter than a web server's, and its answers
		// would give the proxy away: let the site answer as it would.
		c.SetDeadline(time.Time{})
		h.toSite(c, b)
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
	h.s.fail(c, code)
}

// toH2 hands the conn to the HTTP/2 front end with the bytes read so far.
func (h *conn) toH2(c *engine.Conn, b []byte) int {
	h.done = true
	if h.s.H2 == nil {
		c.Close()
		return len(b)
	}
	c.SetDeadline(time.Time{})
	next := h.s.H2(c)
	c.SetHandler(next)
	return next.OnData(c, b)
}

// toSite hands the conn, with every byte it sent so far, to the web site.
func (h *conn) toSite(c *engine.Conn, b []byte) { h.s.toSite(c, b) }

func (s *Server) toSite(c *engine.Conn, b []byte) {
	site := s.Site
	c.Detach(b, func(nc net.Conn) {
		if nc != nil {
			s.site.serve(site, nc)
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

// OnReadEOF: the client ended before its request head did.
func (h *conn) OnReadEOF(c *engine.Conn) { c.Close() }

// OnDrain implements engine.Drainer: a conn still waiting for its request
// gets none served.
func (h *conn) OnDrain(c *engine.Conn) {
	if !h.done {
		c.Close()
	}
}

func (h *conn) OnDrained(c *engine.Conn) {}

// OnTimeout is the request-head timeout (slowloris): answer 408 and close.
// With probe resistance a 408 would tell a prober this is no plain web
// site, so the site gets the partial head followed by a read timeout and
// answers as it does when its own header timeout passes (net/http: a
// silent close, or 400 to half a request line).
func (h *conn) OnTimeout(c *engine.Conn) {
	if h.done {
		return
	}
	h.done = true
	if g := h.s.Policy.Gate; g != nil && g.ProbeResistance {
		partial := c.TakeUnread()
		site := h.s.Site
		c.Detach(nil, func(nc net.Conn) {
			if nc != nil {
				h.s.site.serve(site, &cutConn{Conn: nc, r: bytes.NewReader(partial)})
			}
		})
		return
	}
	h.s.fail(c, http.StatusRequestTimeout)
}

// cutConn reads b and then a read timeout (not EOF: net/http answers 400
// to an EOF after a complete request line, but closes silently at its own
// timeout there); writes go to the client.
type cutConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *cutConn) Read(p []byte) (int, error) {
	if c.r.Len() == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	return c.r.Read(p)
}

func (h *conn) OnClose(c *engine.Conn, err error) {}

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
