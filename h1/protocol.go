package h1

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
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

// OpenALPNH2 opens a conn whose client chose h2 by ALPN: it goes to H2
// unless its first bytes are an HTTP/1.x request line (see
// [SniffRequestLine]), which is then served here.
func (s *Server) OpenALPNH2(c *engine.Conn) engine.Handler {
	h := s.Open(c).(*conn)
	h.alpnH2 = true
	return h
}

var (
	h2Preface   = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	connectDone = []byte("HTTP/1.1 200 Connection established\r\n\r\n")
)

// conn is one HTTP/1.1 client conn until its request is dispatched.
type conn struct {
	s       *Server
	hp      HeadParser // remembers how far the head was checked: a byte-at-a-time client costs linear time
	done    bool
	alpnH2  bool   // ALPN said h2: HTTP/2 unless the first bytes say otherwise
	waiting bool   // a password check runs off the loop
	held    []byte // bytes that came while it ran
	heldEOF bool   // and the client's FIN came too
	verdict *relay.Verdict
}

// maxHeld bounds what a client may send while its password is checked.
const maxHeld = 256 << 10

func (h *conn) OnData(c *engine.Conn, b []byte) int {
	if h.waiting {
		h.held = append(h.held, b...)
		if len(h.held) > maxHeld {
			c.PauseRead()
		}
		return len(b)
	}
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
		if g := h.s.Policy.Gate; g != nil && g.ProbeResistance {
			// Our parser is stricter than a web server's, and its answers
			// would give the proxy away: let the site answer as it would.
			c.SetDeadline(time.Time{})
			h.toSite(c, b)
			return len(b)
		}
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
	c.SetDeadline(time.Time{})
	if req.Method != http.MethodConnect && req.Form != FormAbsolute {
		h.toSite(c, b)
		return len(b)
	}
	v, ok := h.authorize(c, &req, b)
	if !ok {
		return len(b) // the verdict comes back through Exec
	}
	switch {
	case v.Hide:
		h.toSite(c, b)
	case v.Status != 0:
		h.fail(c, v.Status)
	case req.Method == http.MethodConnect:
		h.connect(c, &req, b[n:], v.User)
	default:
		h.forward(c, &req, b[n:], v.User)
	}
	return len(b)
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

// authorize asks the gate about a proxy request. When a password must be
// hashed it runs off the loop, holds b and what follows, and replays them
// with the verdict known; ok is false until then.
func (h *conn) authorize(c *engine.Conn, req *Request, b []byte) (v relay.Verdict, ok bool) {
	if h.verdict != nil {
		return *h.verdict, true
	}
	g := h.s.Policy.Gate
	host := targetHost(req)
	if v, done := g.Authorize(req.ProxyAuthorization, c.RemoteAddr().Addr(), host); done {
		return v, true
	}
	h.waiting = true
	h.held = append(h.held[:0], b...)
	header, client := req.ProxyAuthorization, c.RemoteAddr().Addr()
	go func() {
		v := g.AuthorizeSlow(header, client, host)
		c.Exec(func() {
			held, eof := h.held, h.heldEOF
			h.held, h.heldEOF, h.waiting, h.done, h.verdict = nil, false, false, false, &v
			c.ResumeRead()
			h.OnData(c, held)
			if eof && !c.Closed() {
				if next, ok := c.Handler().(*conn); !ok {
					c.Handler().OnReadEOF(c) // the tunnel, now: a half-close after the request
				} else if !next.done {
					c.Close() // the request never completed
				} // else an answer is being flushed; its close follows
			}
		})
	}()
	return relay.Verdict{}, false
}

// targetHost is the host a proxy request is for, for the probe secret.
func targetHost(req *Request) string {
	t := req.Target
	if req.Form == FormAbsolute {
		if i := strings.Index(t, "://"); i >= 0 {
			t = t[i+3:]
		}
		if i := strings.IndexAny(t, "/?#"); i >= 0 {
			t = t[:i]
		}
	}
	if host, _, err := net.SplitHostPort(t); err == nil {
		return host
	}
	return t
}

// toSite hands the conn, with every byte it sent so far, to the web site.
func (h *conn) toSite(c *engine.Conn, b []byte) {
	site := h.s.Site
	c.Detach(b, func(nc net.Conn) {
		if nc != nil {
			h.s.site.serve(site, nc)
		}
	})
}

// fail answers code and closes once it is out.
func (h *conn) fail(c *engine.Conn, code int) {
	var extra []Field
	if code == http.StatusProxyAuthRequired {
		extra = append(extra, Field{Name: "Proxy-Authenticate", Value: h.s.Policy.Gate.Challenge()})
	}
	c.Write(AppendError(nil, code, extra...))
	c.CloseAfterFlush()
}

func (h *conn) record(c *engine.Conn, target, user string) relay.Record {
	return relay.Record{Start: time.Now(), Client: c.RemoteAddr(), User: user, Proto: "h1", Kind: "tcp", Target: target, ACL: -1}
}

// refuse logs a proxy request that was answered without a tunnel.
func (h *conn) refuse(c *engine.Conn, rec relay.Record, status int) {
	rec.Refuse(status, h.s.Relay.AccessLog)
	h.fail(c, status)
}

// open starts the tunnel for an admission, or answers its refusal (403,
// 400, or 429 at a concurrency limit) and returns nil.
func (h *conn) open(c *engine.Conn, adm relay.Admission, target, user string) *relay.Tunnel {
	rec := h.record(c, target, user)
	rec.ACL, rec.ACLRule = adm.ACL, adm.Rule
	if adm.Status != 0 {
		h.refuse(c, rec, adm.Status)
		return nil
	}
	release, ok := h.s.Policy.Gate.Acquire(user, c.RemoteAddr().Addr())
	if !ok {
		h.refuse(c, rec, http.StatusTooManyRequests)
		return nil
	}
	t := relay.New(h.s.Relay, c, c, rec)
	t.OnEnd = func(*relay.Tunnel) { release() }
	return t
}

func (h *conn) connect(c *engine.Conn, req *Request, rest []byte, user string) {
	adm := h.s.Policy.Admit(req.Target, true)
	t := h.open(c, adm, req.Target, user)
	if t == nil {
		return
	}
	t.FromClient(rest)
	t.Connect(c, adm.Dial, func(status int, err error) {
		if status != 200 {
			h.fail(c, status)
			return
		}
		c.Write(connectDone)
	})
}

// forward sends an absolute-form request to its origin over a one-shot
// tunnel: the head rewritten for the origin, then the body; the origin's
// response flows back until it closes.
func (h *conn) forward(c *engine.Conn, req *Request, rest []byte, user string) {
	head, host, port, err := AppendForwardRequest(nil, req)
	if err != nil {
		h.fail(c, 400)
		return
	}
	adm := h.s.Policy.AdmitHostPort(host, port, false)
	t := h.open(c, adm, req.Target, user)
	if t == nil {
		return
	}
	t.FromClient(head)
	t.KeepOnLoop() // the body cutter must see every client byte
	fw := &forwarding{t: t, body: newBodyCutter(req)}
	c.SetHandler(fw)
	fw.OnData(c, rest)
	t.Connect(c, adm.Dial, func(status int, err error) {
		if status != 200 {
			h.fail(c, status)
			return
		}
		t.Upstream().SetHandler(&responseHeads{fw: fw}) // the answer is the origin's
	})
}

// forwarding is the client's handler while a forwarded request is under
// way: the tunnel's, with the request body cut at its end.
type forwarding struct {
	t    *relay.Tunnel
	body *bodyCutter
}

func (f *forwarding) OnData(c *engine.Conn, b []byte) int {
	n, err := f.body.cut(b)
	if n > 0 {
		f.t.OnData(c, b[:n])
	}
	if err != nil {
		f.t.Abort(relay.ReasonBadBody)
	}
	return len(b) // what follows the body is not forwarded: the origin was told Connection: close
}

func (f *forwarding) OnReadEOF(c *engine.Conn)          { f.t.OnReadEOF(c) }
func (f *forwarding) OnDrained(c *engine.Conn)          { f.t.OnDrained(c) }
func (f *forwarding) OnTimeout(c *engine.Conn)          { f.t.OnTimeout(c) }
func (f *forwarding) OnClose(c *engine.Conn, err error) { f.t.OnClose(c, err) }

func (h *conn) OnReadEOF(c *engine.Conn) {
	if h.waiting {
		h.heldEOF = true // replayed after the verdict with the held bytes
		return
	}
	c.Close()
}

// OnDrain implements engine.Drainer: a conn still waiting for its request
// gets none served.
func (h *conn) OnDrain(c *engine.Conn) {
	if !h.done && !h.waiting {
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
	h.fail(c, http.StatusRequestTimeout)
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

// responseHeads sits in front of a forwarded request's tunnel on the
// upstream side until the origin's final response head has passed:
// hop-by-hop fields are stripped and "Connection: close" is set, as for
// the request. Interim (1xx) heads pass rewritten too. Then the tunnel
// takes the upstream back and the body flows untouched.
type responseHeads struct {
	fw *forwarding
	hp HeadParser
}

func (r *responseHeads) OnData(c *engine.Conn, b []byte) int {
	t := r.fw.t
	used := 0
	for {
		resp, n, err := r.hp.ParseResponse(b[used:], DefaultLimits())
		if err == ErrNeedMore {
			return used // the head is not complete: engine offers it again with more
		}
		if err != nil {
			t.Abort(relay.ReasonBadResponse) // the origin does not speak HTTP/1.x
			return len(b)
		}
		t.ToClient(AppendForwardResponse(nil, &resp))
		used += n
		if resp.Code >= 200 || resp.Code == 101 {
			c.SetHandler(t)
			if used < len(b) {
				t.ToClient(b[used:])
			}
			return len(b)
		}
	}
}

func (r *responseHeads) OnReadEOF(c *engine.Conn)          { r.fw.t.OnReadEOF(c) }
func (r *responseHeads) OnDrained(c *engine.Conn)          { r.fw.t.OnDrained(c) }
func (r *responseHeads) OnTimeout(c *engine.Conn)          { r.fw.t.OnTimeout(c) }
func (r *responseHeads) OnClose(c *engine.Conn, err error) { r.fw.t.OnClose(c, err) }
