package main

// End-to-end tests of the private-address guard: without --allow-private no
// loopback, link-local or other private address is reached, whether named by
// a literal or by a name that resolves to it; ACL CIDR lines open chosen
// ranges; the proxy never connects to itself.

import (
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestE2EGuardPrivateTargets: without --allow-private, loopback targets get
// 403 whether written as a name that resolves to 127.0.0.1 (localhost) or as
// literals, over both listeners and for absolute-form forwarding; the origin
// is never dialed, and the access log names the address the name resolved
// to.
func TestE2EGuardPrivateTargets(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startProxy(t, "--allow-ports", "all")
	port := strconv.Itoa(echo.port())
	for _, target := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "127.0.0.2:" + port, "0.0.0.0:" + port, "[::ffff:127.0.0.1]:" + port} {
		for _, useTLS := range []bool{false, true} {
			t.Run(listenerName(useTLS)+"/"+target, func(t *testing.T) {
				expectStatus(t, p.addr(useTLS), useTLS, connectReq(target), 403)
			})
		}
	}
	// Absolute-form forwarding goes through the same guard.
	t.Run("forward", func(t *testing.T) {
		req := "GET http://127.0.0.1:" + port + "/ HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n"
		expectStatus(t, p.plain, false, req, 403)
	})
	if n := echo.count(); n != 0 {
		t.Errorf("origin was dialed %d times past the guard", n)
	}
	l := p.waitLog("localhost:" + port)
	if l.num("status") != 403 || l.str("resolved") != "127.0.0.1:"+port {
		t.Errorf("access log for a name that resolved to loopback: %v", l)
	}
}

// TestE2EGuardPrivateAfterDNS: without --allow-private the resolved address
// is checked just before the dial, so neither a name that resolves to
// 127.0.0.1 (localhost, or one a DNS server under the client's control
// answers) nor a literal reaches a loopback or metadata address, over h1 and
// h2; the origin is never dialed.
func TestE2EGuardPrivateAfterDNS(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	P := strconv.Itoa(echo.port())
	dns, asked := loopbackDNS(t)
	p := startProxy(t, "--allow-ports", "all", "--resolver", dns)
	targets := []string{
		"localhost:" + P,
		"smuggle.test:" + P,
		"169.254.169.254:443",
		"[::1]:" + P,
		"127.0.0.1:" + P,
		"[::ffff:127.0.0.1]:" + P,
		"[::ffff:169.254.169.254]:443",
		"[64:ff9b::7f00:1]:" + P, // NAT64 wrapping 127.0.0.1
		"0.0.0.0:" + P,
		"aaaa-mapped.test:" + P, // AAAA ::ffff:127.0.0.1
		"aaaa-loop.test:" + P,   // AAAA ::1
		"aaaa-nat64.test:" + P,  // AAAA 64:ff9b::7f00:1
		"metadata.test:443",     // A 169.254.169.254
	}
	for _, target := range targets {
		for _, useTLS := range []bool{false, true} {
			expectStatus(t, p.addr(useTLS), useTLS, connectReq(target), 403)
		}
		if got := h2Status(t, h2ClientConn(t, p, true), target, nil).StatusCode; got != 403 {
			t.Errorf("h2 CONNECT %s: %d; want 403", target, got)
		}
	}
	req := "GET http://smuggle.test:" + P + "/ HTTP/1.1\r\nHost: smuggle.test:" + P + "\r\n\r\n"
	expectStatus(t, p.plain, false, req, 403)
	if !asked("smuggle.test") {
		t.Errorf("smuggle.test was never resolved: the 403 did not come from the guard after DNS")
	}
	if n := echo.count(); n != 0 {
		t.Errorf("the loopback origin was dialed %d times past the guard", n)
	}
	for target, resolved := range map[string]string{
		"smuggle.test:" + P:     "127.0.0.1:" + P,
		"aaaa-mapped.test:" + P: "127.0.0.1:" + P,
		"aaaa-loop.test:" + P:   "[::1]:" + P,
		"metadata.test:443":     "169.254.169.254:443",
	} {
		l := p.waitLog(target)
		if l.num("status") != 403 || l.str("resolved") != resolved {
			t.Errorf("access log for %s: %v; want status 403, resolved %s", target, l, resolved)
		}
	}
}

// TestE2EGuardACLOpensRange: an ACL allow line for a CIDR opens that private
// range (and only it) to the guard, for names that resolve into it and for
// literals; a broader allow line (0.0.0.0/0) does not switch the guard off,
// a default allow does not either, and a more specific deny line inside an
// opened range keeps that part shut.
func TestE2EGuardACLOpensRange(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	P := strconv.Itoa(echo.port())
	dns, _ := loopbackDNS(t)
	dir := t.TempDir()

	t.Run("127.0.0.0/8", func(t *testing.T) {
		path := filepath.Join(dir, "open.map")
		writeFileAtomic(t, path, "127.0.0.0/8 1\ndefault 1\n")
		p := startProxy(t, "--allow-ports", "all", "--resolver", dns, "--acl", path)
		for _, target := range []string{"smuggle.test:" + P, "127.0.0.1:" + P, "localhost:" + P, "[::ffff:127.0.0.1]:" + P} {
			for _, useTLS := range []bool{false, true} {
				c := openTunnel(t, p, useTLS, target)
				echoOnce(t, c, target)
				_ = c.Close()
			}
			h2Echo(t, h2ClientConn(t, p, true), target, nil)
		}
		// Other private ranges stay shut.
		for _, target := range []string{"[::1]:" + P, "169.254.169.254:443", "10.0.0.1:443", "192.168.1.1:443"} {
			expectStatus(t, p.plain, false, connectReq(target), 403)
		}
	})
	t.Run("single-address", func(t *testing.T) {
		path := filepath.Join(dir, "one.map")
		writeFileAtomic(t, path, "127.0.0.1 3\n")
		p := startProxy(t, "--allow-ports", "all", "--resolver", dns, "--acl", path)
		c := openTunnel(t, p, false, "smuggle.test:"+P)
		echoOnce(t, c, "smuggle.test with 127.0.0.1 opened")
		_ = c.Close()
		expectStatus(t, p.plain, false, connectReq("127.0.0.2:"+P), 403)
	})
	t.Run("too-broad", func(t *testing.T) {
		path := filepath.Join(dir, "broad.map")
		writeFileAtomic(t, path, "0.0.0.0/0 1\n::/0 1\ndefault 1\n")
		p := startProxy(t, "--allow-ports", "all", "--resolver", dns, "--acl", path)
		for _, target := range []string{"smuggle.test:" + P, "127.0.0.1:" + P, "[::1]:" + P, "169.254.169.254:443"} {
			expectStatus(t, p.plain, false, connectReq(target), 403)
		}
	})
	t.Run("more-specific-deny", func(t *testing.T) {
		path := filepath.Join(dir, "hole.map")
		writeFileAtomic(t, path, "127.0.0.0/8 1\n127.0.0.0/24 0\n")
		p := startProxy(t, "--allow-ports", "all", "--resolver", dns, "--acl", path)
		expectStatus(t, p.plain, false, connectReq("smuggle.test:"+P), 403)
	})
}

// TestE2EGuardSelfConnectRefused: a CONNECT to one of the proxy's own
// listeners gets 403 even with the private-address guard off, since it would
// loop through the proxy.
// Regression: c3668e1
func TestE2EGuardSelfConnectRefused(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t)
	for _, target := range []string{p.plain, p.tls} {
		c := dialProxy(t, p.plain, false)
		if _, err := io.WriteString(c, connectReq(target)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil || !strings.HasPrefix(string(buf), "HTTP/1.1 403") {
			t.Fatalf("CONNECT %s (the proxy itself): got %q, %v; want 403", target, buf, err)
		}
		_ = c.(*net.TCPConn).Close()
	}
}
