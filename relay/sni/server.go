// Package sni is the L4 front end (nginx stream with ssl_preread): a TLS
// connection from a client with no proxy settings is routed by the server
// name of its ClientHello, read without decrypting, and relayed, ClientHello
// included, to that name on --sni-port, through the same admission path
// and tunnel as a CONNECT.
package sni

import (
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/engine/clienthello"
	"github.com/sluice-proxy/sluice/relay"
)

// Server opens an SNI tunnel for each connection of its listener.
type Server struct {
	Policy *relay.Policy
	Relay  *relay.Config
	Port   uint16 // where the named server is dialed (--sni-port)
	// Default is where a connection without a usable name goes (host or
	// host:port, --sni-default); empty closes it.
	Default string
	// HelloTimeout cuts a client whose ClientHello is not whole in time
	// (--header-timeout).
	HelloTimeout time.Duration
	// MaxHello bounds the records that carry the ClientHello; 0 means
	// clienthello.MaxHelloSize.
	MaxHello int
}

// Open is the engine.ListenerSpec.Open of the SNI listener.
func (s *Server) Open(c *engine.Conn) engine.Handler {
	if s.HelloTimeout > 0 {
		c.SetDeadline(time.Now().Add(s.HelloTimeout))
	}
	return &conn{s: s}
}

// conn waits for the ClientHello; then the tunnel's client end takes the
// socket over.
type conn struct {
	s    *Server
	done bool
}

func (h *conn) OnData(c *engine.Conn, b []byte) int {
	if h.done {
		return len(b)
	}
	limit := h.s.MaxHello
	if limit <= 0 {
		limit = clienthello.MaxHelloSize
	}
	hello, err := clienthello.ParseLimit(b, limit)
	if errors.Is(err, clienthello.ErrNeedMore) {
		return 0
	}
	h.done = true
	c.SetDeadline(time.Time{})
	r := relay.Request{Proto: relay.ProtoSNI, Kind: relay.KindTCP, Use: relay.UseSNI, Client: c.RemoteAddr(), Method: "TLS", Rest: b}
	target, why := h.s.route(hello, err, b)
	if why != "" {
		r.Target = hello.ServerName
		h.refuse(c, r, why)
		return len(b)
	}
	r.Target = target
	f := &front{}
	f.Attach(c)
	h.s.Policy.Open(relay.OnLoop(c.Loop()), h.s.Relay, f, f, r)
	return len(b)
}

// route is where a connection goes, or why it goes nowhere.
func (s *Server) route(hello clienthello.Hello, err error, b []byte) (target string, why relay.Reason) {
	switch {
	case errors.Is(err, clienthello.ErrNotTLS) && looksHTTP(b):
		return "", relay.ReasonHTTPOnSNI
	case errors.Is(err, clienthello.ErrNotTLS):
		return "", relay.ReasonNotTLS
	case err != nil && !errors.Is(err, clienthello.ErrNoSNI):
		return "", relay.ReasonBadHello
	}
	if _, ip := hello.IPLiteral(); err == nil && !ip {
		return net.JoinHostPort(hello.ServerName, strconv.Itoa(int(s.Port))), ""
	}
	// No name, or an IP literal, which RFC 6066 forbids: only
	// --sni-default routes it.
	if s.Default == "" {
		return "", relay.ReasonNoSNI
	}
	if _, _, err := net.SplitHostPort(s.Default); err == nil {
		return s.Default, ""
	}
	return net.JoinHostPort(s.Default, strconv.Itoa(int(s.Port))), ""
}

// refuse closes a connection that gets no tunnel, and logs why.
func (h *conn) refuse(c *engine.Conn, r relay.Request, why relay.Reason) {
	relay.Refuse(relay.OnLoop(c.Loop()), h.s.Relay, r, 0, why)
	c.Close()
}

// OnTimeout is the ClientHello deadline.
func (h *conn) OnTimeout(c *engine.Conn) {
	if h.done {
		return
	}
	h.done = true
	h.refuse(c, relay.Request{Proto: relay.ProtoSNI, Kind: relay.KindTCP, Client: c.RemoteAddr(), Method: "TLS"}, relay.ReasonSlowHello)
}

func (h *conn) OnReadEOF(c *engine.Conn)    { c.Close() }
func (h *conn) OnDrained(*engine.Conn)      {}
func (h *conn) OnClose(*engine.Conn, error) {}
func (h *conn) OnDrain(c *engine.Conn)      { c.Close() }

// looksHTTP reports whether b starts like an HTTP/1.x request (a method
// token and a space): a client configured for an HTTP proxy, pointed at
// the SNI port.
func looksHTTP(b []byte) bool {
	for i, ch := range b {
		switch {
		case ch == ' ':
			return i > 0
		case ch < 'A' || ch > 'Z':
			return false
		case i >= 16:
			return false
		}
	}
	return false
}
