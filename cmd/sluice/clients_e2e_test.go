package main

// End-to-end tests of --allow-clients: a proxy request from an address off
// the list is not a proxy user's and gets the site's answer, on HTTP/1.1,
// HTTP/2 and the SNI listener (closed); one from the list is tunneled; and
// sluice warns at start when it would be an open proxy.

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestE2EAllowClients: from 127.0.0.1, off the list, a CONNECT gets the
// built-in site's 405 over HTTP/1.1 and HTTP/2, an SNI connection is
// closed, and the origin is never dialed; from 127.0.0.70, on it, the
// same CONNECT is tunneled.
func TestE2EAllowClients(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	dns, _ := loopbackDNS(t)
	p := startOpenProxy(t, "--allow-clients", "127.0.0.64/28", "--listen-sni", "127.0.0.1:0", "--resolver", dns)
	for _, useTLS := range []bool{false, true} {
		t.Run("h1-"+listenerName(useTLS), func(t *testing.T) {
			got := exchange(t, dialFrom(t, p.addr(useTLS), useTLS, "127.0.0.1"), []string{connectReq(echo.addr())})[0]
			if !strings.HasPrefix(got, "HTTP/1.1 405 ") {
				t.Errorf("CONNECT from a client off --allow-clients: %q; want the site's 405", got)
			}
			c := dialFrom(t, p.addr(useTLS), useTLS, "127.0.0.70")
			if _, err := io.WriteString(c, connectReq(echo.addr())); err != nil {
				t.Fatal(err)
			}
			head := make([]byte, len(established))
			if _, err := io.ReadFull(c, head); err != nil || string(head) != established {
				t.Fatalf("CONNECT from a listed client: %q (%v)", head, err)
			}
		})
	}
	t.Run("h2", func(t *testing.T) {
		if resp := h2Status(t, h2From(t, p, "127.0.0.1"), echo.addr(), nil); resp.StatusCode != 405 {
			t.Errorf("h2 CONNECT from a client off the list: %d; want the site's 405", resp.StatusCode)
		}
		h2Echo(t, h2From(t, p, "127.0.0.71"), echo.addr(), nil)
	})
	t.Run("sni", func(t *testing.T) {
		c := dialFrom(t, p.sni(), false, "127.0.0.1")
		helloFor(t, c, "sni-client.test")
		_ = c.SetDeadline(time.Now().Add(waitLimit))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("SNI from a client off the list: %v; want it closed", err)
		}
	})
	accepted := echo.count()
	if accepted != 3 { // the listed clients' tunnels only
		t.Errorf("the origin was dialed %d times; want 3, by the listed clients", accepted)
	}
	lines := p.waitLines("refused clients", 4, func(l logLine) bool { return l.str("reason") == "client" })
	for _, l := range lines {
		if l.str("client")[:10] != "127.0.0.1:" {
			t.Errorf("refusal logged for %v", l)
		}
	}
}

// TestE2EOpenProxyWarning: a listener beyond loopback with neither
// --auth-file nor --allow-clients draws a warning at start; with
// --allow-clients it does not.
func TestE2EOpenProxyWarning(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("cannot bind the wildcard address: %v", err)
	}
	_ = ln.Close()
	open := startProxy(t, "--listen", "0.0.0.0:0", "--listen-quic", "")
	if !strings.Contains(open.errLog.String(), "open proxy") {
		t.Errorf("no open-proxy warning for a wildcard listener without auth; log:\n%s", open.errLog.String())
	}
	closed := startProxy(t, "--listen", "0.0.0.0:0", "--listen-quic", "", "--allow-clients", "10.0.0.0/8")
	if strings.Contains(closed.errLog.String(), "open proxy") {
		t.Errorf("open-proxy warning despite --allow-clients; log:\n%s", closed.errLog.String())
	}
	loop := startProxy(t)
	if strings.Contains(loop.errLog.String(), "open proxy") {
		t.Errorf("open-proxy warning for loopback listeners; log:\n%s", loop.errLog.String())
	}
}
