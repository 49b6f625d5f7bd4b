package h3

import (
	"net/http"
	"net/netip"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

// ServeHTTP implements http.Handler for quic-go's server: a CONNECT is a
// tunnel, every other request the site's. quic-go has already refused a
// CONNECT with :scheme or :path and no :protocol (H3_MESSAGE_ERROR, RFC
// 9114 section 4.4).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodConnect && r.Proto == "HTTP/3.0":
		s.connect(w, r)
	case r.Method == http.MethodConnect:
		// Extended CONNECT for a protocol this server does not serve.
		w.WriteHeader(http.StatusNotImplemented)
	default:
		s.Site.ServeHTTP(w, r)
	}
}

// connect runs a CONNECT stream: the tunnel lives on the connection's
// loop, and this goroutine answers the request and then reads the stream.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	l, _ := r.Context().Value(loopKey{}).(*engine.Loop)
	if l == nil {
		l = s.Engine.PickLoop()
	}
	client, _ := netip.ParseAddrPort(r.RemoteAddr)
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	req := relay.Request{
		Proto: relay.ProtoH3, Kind: relay.KindTCP, Use: relay.UseConnect, Client: client, Method: r.Method,
		Target: r.Host, Authorization: r.Header.Get("Proxy-Authorization"),
	}
	e := newStreamEnd(s, w, r, l)
	if !l.Exec(func() { s.Policy.Open(relay.OnLoop(l), s.Relay, e, e, req) }) {
		s.untrack(e) // the engine has stopped
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	e.serve()
}
