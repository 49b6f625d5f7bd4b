package h1

import (
	"net/http"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

var connectDone = []byte("HTTP/1.1 200 Connection established\r\n\r\n")

// proxy opens a tunnel for a CONNECT or an absolute-form request; b is
// everything read so far, the head is b[:n].
func (h *conn) proxy(c *engine.Conn, req *Request, b []byte, n int) {
	s := h.s
	r := relay.Request{
		Proto: relay.ProtoH1, Kind: relay.KindTCP, Client: c.RemoteAddr(), Method: req.Method, Target: req.Target,
		Authorization: req.ProxyAuthorization, Rest: b[n:],
	}
	f := &front{s: s}
	if g := s.Policy.Gate; g != nil && g.ProbeResistance {
		f.head = append([]byte(nil), b[:n]...) // for the site, should the gate hide the proxy
	}
	f.Attach(c)
	if req.Method == http.MethodConnect {
		r.Use = relay.UseConnect
		s.Policy.Open(relay.OnLoop(c.Loop()), s.Relay, f, f, r)
		return
	}
	head, host, port, err := AppendForwardRequest(nil, req)
	if err != nil {
		relay.Refuse(s.Relay, r, 400, relay.ReasonBadRequest)
		s.fail(c, 400)
		return
	}
	r.Use, r.Host, r.Port, r.Head = relay.UseForward, host, port, head
	f.forward = true
	var t *relay.Tunnel
	r.Upstream = func(up relay.End) relay.End {
		return relay.Stage(up, &responseHeads{status: func(code int) {
			if t != nil {
				t.Rec.Status = code
			}
		}})
	}
	t = s.Policy.Open(relay.OnLoop(c.Loop()), s.Relay, relay.Stage(f, &bodyStage{b: newBodyCutter(req)}), f, r)
}

// front is a proxy request's socket: the tunnel's client End (through the
// embedded SocketEnd) and the Front that answers the request on it.
type front struct {
	relay.SocketEnd
	s       *Server
	head    []byte // the request head, kept only with probe resistance
	forward bool   // the origin's response is the answer
}

// Reply implements relay.Front.
func (f *front) Reply(status int) {
	if status != 200 {
		f.s.fail(f.Conn(), status)
		return
	}
	if !f.forward {
		f.Conn().Write(connectDone)
	}
}

// Site implements relay.Front.
func (f *front) Site(early []byte) {
	f.s.toSite(f.Conn(), append(f.head, early...))
}
