package h1

import (
	"bytes"
	"errors"
	"net"
	"net/http"
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

var (
	h2Preface   = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	connectDone = []byte("HTTP/1.1 200 Connection established\r\n\r\n")
)

// conn is one HTTP/1.1 client conn until its request is dispatched.
type conn struct {
	s    *Server
	hp   HeadParser // remembers how far the head was checked: a byte-at-a-time client costs linear time
	done bool
}

func (h *conn) OnData(c *engine.Conn, b []byte) int {
	if h.done {
		return len(b)
	}
	if h.s.H2 != nil && len(b) > 0 && b[0] == 'P' {
		if len(b) < len(h2Preface) && bytes.HasPrefix(h2Preface, b) {
			return 0
		}
		if bytes.HasPrefix(b, h2Preface) {
			h.done = true
			c.SetDeadline(time.Time{})
			next := h.s.H2(c)
			c.SetHandler(next)
			return next.OnData(c, b)
		}
	}
	req, n, err := h.hp.ParseRequest(b, h.s.Limits)
	if err == ErrNeedMore {
		return 0
	}
	h.done = true
	if err != nil {
		if notHTTP(b) {
			// Not HTTP/1.x at all (an invalid HTTP/2 preface, another
			// protocol): no HTTP/1.1 answer means anything to it.
			c.Close()
			return len(b)
		}
		code := 400
		var se *StatusError
		if errors.As(err, &se) {
			code = se.Code
		}
		h.fail(c, code)
		return len(b)
	}
	switch {
	case req.Method == http.MethodConnect:
		h.connect(c, &req, b[n:])
	case req.Form == FormAbsolute:
		h.forward(c, &req, b[n:])
	default:
		c.SetDeadline(time.Time{})
		site := h.s.Site
		c.Detach(b, func(nc net.Conn) { h.s.site.serve(site, nc) })
	}
	return len(b)
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

// fail answers code and closes once it is out.
func (h *conn) fail(c *engine.Conn, code int) {
	c.Write(AppendError(nil, code))
	c.CloseAfterFlush()
}

func (h *conn) record(c *engine.Conn, target string) relay.Record {
	return relay.Record{Start: time.Now(), Client: c.RemoteAddr(), Proto: "h1", Kind: "tcp", Target: target, ACL: -1}
}

func (h *conn) connect(c *engine.Conn, req *Request, rest []byte) {
	c.SetDeadline(time.Time{})
	adm := h.s.Policy.Admit(req.Target, true)
	rec := h.record(c, req.Target)
	rec.ACL = adm.ACL
	if adm.Status != 0 {
		rec.Status, rec.Reason = adm.Status, relay.ReasonDialFailed
		rec.Write(h.s.Relay.AccessLog)
		h.fail(c, adm.Status)
		return
	}
	t := relay.New(h.s.Relay, c, c, rec)
	t.FromClient(rest)
	t.Connect(c, adm.Dial, func(status int, err error) {
		if status != 200 {
			c.Write(AppendError(nil, status))
			c.CloseAfterFlush()
			return
		}
		c.Write(connectDone)
	})
}

// forward sends an absolute-form request to its origin over a one-shot
// tunnel: the head rewritten for the origin, then whatever the client
// sends; the origin's response flows back until it closes.
func (h *conn) forward(c *engine.Conn, req *Request, rest []byte) {
	c.SetDeadline(time.Time{})
	head, host, port, err := AppendForwardRequest(nil, req)
	if err != nil {
		h.fail(c, 400)
		return
	}
	adm := h.s.Policy.AdmitHostPort(host, port, false)
	rec := h.record(c, req.Target)
	rec.ACL = adm.ACL
	if adm.Status != 0 {
		rec.Status, rec.Reason = adm.Status, relay.ReasonDialFailed
		rec.Write(h.s.Relay.AccessLog)
		h.fail(c, adm.Status)
		return
	}
	t := relay.New(h.s.Relay, c, c, rec)
	t.FromClient(head)
	t.FromClient(rest)
	t.Connect(c, adm.Dial, func(status int, err error) {
		if status != 200 {
			c.Write(AppendError(nil, status))
			c.CloseAfterFlush()
		}
	})
}

func (h *conn) OnReadEOF(c *engine.Conn) { c.Close() }
func (h *conn) OnDrained(c *engine.Conn) {}

// OnTimeout is the request-head timeout (slowloris): answer 408 and close.
func (h *conn) OnTimeout(c *engine.Conn) {
	if !h.done {
		h.done = true
		h.fail(c, http.StatusRequestTimeout)
	}
}

func (h *conn) OnClose(c *engine.Conn, err error) {}
