package h3

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/quic-go/quic-go/http3"
	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/padding"
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
	case r.Method == http.MethodConnect && r.Proto == "connect-udp" && s.UDP != nil:
		s.connectUDP(w, r)
	case r.Method == http.MethodConnect && r.Proto == "connect-udp":
		s.Site.ServeHTTP(w, r) // --udp off: the site answers
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
	req := s.request(r, relay.KindTCP)
	req.Target = r.Host
	e := newStreamEnd(s, w, r, loopOf(s, r))
	pad, err := relay.NegotiatePadding(paddingOffer(r.Header), s.Padding)
	if err != nil {
		req.Bad = relay.ReasonBadRequest
	}
	e.pad = pad
	s.open(pad.Wrap(e), e, req)
}

// paddingOffer is what the request's fields say of padding.
func paddingOffer(h http.Header) padding.Offer {
	types := h.Values(padding.HeaderTypeRequest)
	return padding.Offer{
		Padding:        len(h.Values(padding.HeaderPadding)) > 0,
		HasTypeRequest: len(types) > 0,
		TypeRequest:    strings.Join(types, ", "), // a list split over field lines
	}
}

// connectUDP runs a connect-udp flow (RFC 9298): the target is in the
// path; datagrams come as QUIC datagrams and as capsules on the stream.
func (s *Server) connectUDP(w http.ResponseWriter, r *http.Request) {
	req := s.request(r, relay.KindUDP)
	req.Target = r.URL.RequestURI()
	if host, port, ok := s.UDP.Match(req.Target); ok {
		req.Host, req.Port = host, port
		req.Target = net.JoinHostPort(host, strconv.Itoa(int(port)))
	} else {
		req.Bad = relay.ReasonBadRequest
	}
	e := newStreamEnd(s, w, r, loopOf(s, r))
	s.open(newUDPEnd(e, !s.Config.Camouflage && peerDatagrams(w, r)), e, req)
}

// peerDatagrams reports whether the client announced HTTP/3 datagrams
// (SETTINGS_H3_DATAGRAM). quic-go may hand over a request before the
// client's SETTINGS arrive; the handler goroutine may wait for them.
func peerDatagrams(w http.ResponseWriter, r *http.Request) bool {
	st, ok := w.(http3.Settingser)
	if !ok {
		return false
	}
	select {
	case <-st.ReceivedSettings():
		return st.Settings().EnableDatagrams
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) request(r *http.Request, k relay.Kind) relay.Request {
	client, _ := netip.ParseAddrPort(r.RemoteAddr)
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	return relay.Request{
		Proto: relay.ProtoH3, Kind: k, Use: relay.UseConnect, Client: client, Method: r.Method,
		Authorization: r.Header.Get("Proxy-Authorization"),
	}
}

// loopOf is the loop of the request's QUIC connection.
func loopOf(s *Server, r *http.Request) *engine.Loop {
	if l, _ := r.Context().Value(loopKey{}).(*engine.Loop); l != nil {
		return l
	}
	return s.Engine.PickLoop()
}

// open hands the request to the admission path on the loop, then serves it.
func (s *Server) open(end relay.End, e *streamEnd, req relay.Request) {
	if !e.loop.Exec(func() { s.Policy.Open(relay.OnLoop(e.loop), s.Relay, end, e, req) }) {
		s.untrack(e) // the engine has stopped
		e.w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	e.serve()
}
