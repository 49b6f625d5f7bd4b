package sni

import (
	"testing"

	"github.com/sluice-proxy/sluice/engine/clienthello"
	"github.com/sluice-proxy/sluice/relay"
)

func TestRoute(t *testing.T) {
	s := &Server{Port: 8443}
	withDefault := &Server{Port: 8443, Default: "fallback.test"}
	withDefaultPort := &Server{Port: 8443, Default: "fallback.test:9443"}
	for _, tc := range []struct {
		s      *Server
		hello  clienthello.Hello
		err    error
		b      string
		target string
		why    relay.Reason
	}{
		{s, clienthello.Hello{ServerName: "Example.COM"}, nil, "", "Example.COM:8443", ""},
		{s, clienthello.Hello{}, clienthello.ErrNoSNI, "", "", relay.ReasonNoSNI},
		{s, clienthello.Hello{ServerName: "::1"}, nil, "", "", relay.ReasonNoSNI}, // an IP literal
		{withDefault, clienthello.Hello{}, clienthello.ErrNoSNI, "", "fallback.test:8443", ""},
		{withDefaultPort, clienthello.Hello{ServerName: "2001:db8::1"}, nil, "", "fallback.test:9443", ""},
		{s, clienthello.Hello{}, clienthello.ErrNotTLS, "GET / HTTP/1.1\r\n", "", relay.ReasonHTTPOnSNI},
		{s, clienthello.Hello{}, clienthello.ErrNotTLS, "CONNECT a:443 HTTP/1.1\r\n", "", relay.ReasonHTTPOnSNI},
		{s, clienthello.Hello{}, clienthello.ErrNotTLS, "\x00\x01 noise", "", relay.ReasonNotTLS},
		{s, clienthello.Hello{}, clienthello.ErrNotTLS, "get / lowercase", "", relay.ReasonNotTLS},
		{withDefault, clienthello.Hello{}, clienthello.ErrMalformed, "", "", relay.ReasonBadHello},
		{withDefault, clienthello.Hello{}, clienthello.ErrTooLarge, "", "", relay.ReasonBadHello},
	} {
		target, why := tc.s.route(tc.hello, tc.err, []byte(tc.b))
		if target != tc.target || why != tc.why {
			t.Errorf("route(%+v, %v, %q) = %q %q; want %q %q", tc.hello, tc.err, tc.b, target, why, tc.target, tc.why)
		}
	}
}
