package main

import (
	"net/http"
	"strconv"
	"testing"

	"golang.org/x/net/http2"
)

// TestH2ConnectStatuses: the dial outcomes of design.md's wire-behaviour
// table over HTTP/2, on both listeners (TLS with ALPN h2, and h2c), with a
// loopback resolver: 502 for a refused connect and for NXDOMAIN, 504 when
// the connect timeout passes first. Each is answered with its status, not
// a reset.
func TestH2ConnectStatuses(t *testing.T) {
	t.Parallel()
	nx, nxAsked := fakeDNS(t, true)
	hole, holeAsked := fakeDNS(t, false)
	refused := "127.0.0.1:" + strconv.Itoa(closedPort(t))
	pNX := startOpenProxy(t, "--resolver", nx)
	pHole := startOpenProxy(t, "--resolver", hole, "--connect-timeout", "300ms")
	for _, tc := range []struct {
		name   string
		p      *proxy
		target string
		want   int
	}{
		{"refused", pNX, refused, http.StatusBadGateway},
		{"nxdomain", pNX, "no-such-host.invalid:443", http.StatusBadGateway},
		{"connect-timeout", pHole, "blackhole.example:443", http.StatusGatewayTimeout},
	} {
		for _, useTLS := range []bool{true, false} {
			t.Run(tc.name+"/"+listenerName(useTLS), func(t *testing.T) {
				if got := h2Status(t, h2ClientConn(t, tc.p, useTLS), tc.target, nil).StatusCode; got != tc.want {
					t.Errorf("h2 CONNECT %s: status %d; want %d", tc.target, got, tc.want)
				}
			})
		}
	}
	if nxAsked() == 0 || holeAsked() == 0 {
		t.Errorf("the --resolver was not asked (nxdomain %d, blackhole %d queries)", nxAsked(), holeAsked())
	}
	for _, l := range []struct {
		p      *proxy
		target string
		status int64
	}{{pNX, refused, 502}, {pNX, "no-such-host.invalid:443", 502}, {pHole, "blackhole.example:443", 504}} {
		if got := l.p.waitLog(l.target); got.num("status") != l.status || got.str("proto") != "h2" {
			t.Errorf("access log for %s: %v; want proto h2, status %d", l.target, got, l.status)
		}
	}
}

// TestH2ConnectBadTarget: a CONNECT whose :authority is not host:port gets
// 400 over HTTP/2, as over HTTP/1.1 (TestE2EBadRequests). The frames are
// written raw, since a Go client refuses to send most of these; the
// connection stays usable for the next stream.
func TestH2ConnectBadTarget(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	c := dialRawH2(t, p.plain)
	bad := []string{
		"example.com:443/",
		"example.com:443?",
		"u:p@example.com:443",
		"http://example.com:443",
		"example.com",
		"example.com:",
		":443",
		":",
		"example.com:65536",
		"example.com:0",
		"example.com:abc",
		"[fe80::1%25eth0]:443",
	}
	id := uint32(1)
	for _, target := range bad {
		c.connect(id, target)
		c.waitFor("an answer to CONNECT "+target, func() bool { return c.headers[id] != "" || c.resets[id] != 0 })
		c.mu.Lock()
		status, rst := c.headers[id], c.resets[id]
		c.mu.Unlock()
		if status != "400" {
			t.Errorf("h2 CONNECT %q: status %q, reset %v; want 400", target, status, rst)
		}
		id += 2
	}
	// The conn is still good: a valid CONNECT on it is answered 200.
	c.connect(id, echo.addr())
	c.waitFor("an answer to a valid CONNECT", func() bool { return c.headers[id] != "" || c.resets[id] != 0 })
	c.mu.Lock()
	status, rst := c.headers[id], c.resets[id]
	c.mu.Unlock()
	if status != "200" {
		t.Errorf("valid CONNECT after the bad ones: status %q, reset %v; want 200", status, rst)
	}
	c.write(func() error { return c.fr.WriteRSTStream(id, http2.ErrCodeCancel) })
}
