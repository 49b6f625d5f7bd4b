package h1

import (
	"net"
	"net/http"
	"strconv"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

var (
	connectDone = []byte("HTTP/1.1 200 Connection established\r\n\r\n")
	// RFC 9298 section 3.3: the upgrade, and the capsules that follow it.
	udpUpgraded = []byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: connect-udp\r\nCapsule-Protocol: ?1\r\n\r\n")
)

// isConnectUDP reports whether req asks for a connect-udp flow: GET with
// Upgrade: connect-udp and Connection: Upgrade (RFC 9298 section 3.3).
func isConnectUDP(req *Request) bool {
	return req.Method == http.MethodGet && req.Form == FormOrigin &&
		hasToken(req.Get("Upgrade"), "connect-udp") && hasToken(req.Get("Connection"), "upgrade")
}

// proxyUDP opens the datagram flow of a connect-udp request: the target
// is in the path; after the 101 the connection carries capsules.
func (h *conn) proxyUDP(c *engine.Conn, req *Request, b []byte, n int) {
	s := h.s
	r := relay.Request{
		Proto: relay.ProtoH1, Kind: relay.KindUDP, Use: relay.UseConnect, Client: c.RemoteAddr(), Method: req.Method,
		Target: req.Target, Authorization: req.ProxyAuthorization, Rest: b[n:],
	}
	if host, port, ok := s.UDP.Match(req.Target); ok {
		r.Host, r.Port = host, port
		r.Target = net.JoinHostPort(host, strconv.Itoa(int(port)))
	} else {
		r.Bad = relay.ReasonBadRequest // after the gate: a prober sees the site
	}
	f := &front{s: s, route: h.route(), udp: true}
	if s.Policy.MaySite() {
		f.head = append([]byte(nil), b[:n]...)
	}
	f.Attach(c)
	s.Policy.Open(relay.OnLoop(c.Loop()), s.Relay, relay.Stage(f, relay.Capsules()), f, r)
}

// proxy opens a tunnel for a CONNECT; b is everything read so far, the
// head is b[:n].
func (h *conn) proxy(c *engine.Conn, req *Request, b []byte, n int) {
	s := h.s
	r := relay.Request{
		Proto: relay.ProtoH1, Kind: relay.KindTCP, Client: c.RemoteAddr(), Method: req.Method, Target: req.Target,
		Authorization: req.ProxyAuthorization, Rest: b[n:],
	}
	f := &front{s: s, route: h.route()}
	if s.Policy.MaySite() {
		f.head = append([]byte(nil), b[:n]...) // for the site, should the gate hide the proxy
	}
	f.Attach(c)
	r.Use = relay.UseConnect
	s.Policy.Open(relay.OnLoop(c.Loop()), s.Relay, f, f, r)
}

// front is a CONNECT's or a connect-udp request's socket: the tunnel's
// client End (through the embedded SocketEnd) and the Front that answers
// the request on it. (Forwarded requests have an [exchange].)
type front struct {
	relay.SocketEnd
	s     *Server
	head  []byte    // the request head, kept only with probe resistance
	route siteRoute // where the site hand-off goes
	udp   bool      // a connect-udp flow: the answer is a 101
}

// Reply implements relay.Front.
func (f *front) Reply(status int) {
	if status != 200 {
		f.s.fail(f.Conn(), status)
		return
	}
	if !f.udp {
		f.Conn().HoldAtFIN(false) // a tunnel now: a FIN is the engine's to pass on or end it with
	}
	switch {
	case f.udp:
		f.Conn().Write(udpUpgraded)
	case f.s.ConnectResponse != nil:
		f.Conn().Write(f.s.ConnectResponse)
	default:
		f.Conn().Write(connectDone)
	}
}

// Site implements relay.Front.
func (f *front) Site(early []byte) {
	f.s.toRoute(f.Conn(), append(f.head, early...), f.route)
}
