package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// expectStatus sends req on a fresh conn to addr and checks that the proxy
// answers code with a well-formed error response and then closes the conn.
func expectStatus(t *testing.T, addr string, useTLS bool, req string, code int) *rawResult {
	t.Helper()
	c := dialProxy(t, addr, useTLS)
	r := rawExchange(t, c, []byte(req), waitLimit)
	if r.resp.StatusCode != code {
		t.Errorf("status %d (%q), want %d", r.resp.StatusCode, r.body, code)
	}
	if r.resp.Proto != "HTTP/1.1" {
		t.Errorf("status line proto %q", r.resp.Proto)
	}
	if !r.resp.Close {
		t.Errorf("no Connection: close on a %d", code)
	}
	if want := strconv.Itoa(code) + " "; !strings.HasPrefix(r.body, want) {
		t.Errorf("body %q does not start with %q", r.body, want)
	}
	if len(r.after) > 0 {
		t.Errorf("%d bytes after the error response: %q", len(r.after), r.after)
	}
	if !r.closedAfter() {
		t.Errorf("conn not closed after the %d: read ended with %v", code, r.endErr)
	}
	return r
}

// TestE2EBadRequests: every parse-level error status, over both listeners,
// each followed by a close.
func TestE2EBadRequests(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t)
	connect := func(target string) string { return "CONNECT " + target + " HTTP/1.1\r\nHost: x\r\n\r\n" }
	manyFields := "GET / HTTP/1.1\r\nHost: x\r\n"
	for i := 0; i < 101; i++ {
		manyFields += fmt.Sprintf("X-F%d: v\r\n", i)
	}
	manyFields += "\r\n"
	bigHead := "CONNECT 127.0.0.1:443 HTTP/1.1\r\n"
	for i := 0; i < 70; i++ { // 70 fields, about 70 KiB
		bigHead += fmt.Sprintf("X-Fill-%d: %s\r\n", i, strings.Repeat("a", 1000))
	}
	bigHead += "\r\n"
	cases := []struct {
		name string
		req  string
		code int
	}{
		{"authority h:p/", connect("example.com:443/"), 400},
		{"authority h:p?", connect("example.com:443?"), 400},
		{"authority userinfo", connect("u:p@example.com:443"), 400},
		{"authority scheme", connect("http://example.com:443"), 400},
		{"authority no port", connect("example.com"), 400},
		{"authority empty port", connect("example.com:"), 400},
		{"authority no host", connect(":443"), 400},
		{"authority colon", connect(":"), 400},
		{"authority port 65536", connect("example.com:65536"), 400},
		{"authority port 0", connect("example.com:0"), 400},
		{"authority port abc", connect("example.com:abc"), 400},
		{"authority v6 zone", connect("[fe80::1%25eth0]:443"), 400},
		{"connect content-length", "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400},
		{"connect chunked", "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"obs-fold", "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\nX-A: b\r\n folded\r\n\r\n", 400},
		{"bare LF", "CONNECT 127.0.0.1:443 HTTP/1.1\nHost: x\n\n", 400},
		{"bare LF in fields", "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
		{"missing host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"te and cl", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"tls hello on plain", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400},
		{"request line 9 KiB", "CONNECT " + strings.Repeat("a", 9000) + ".com:443 HTTP/1.1\r\n\r\n", 414},
		{"request line 9 KiB unfinished", "GET /" + strings.Repeat("a", 9000), 414},
		{"head over 64 KiB", bigHead, 431},
		{"101 fields", manyFields, 431},
		{"transfer-encoding gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"transfer-encoding gzip, chunked", "POST http://127.0.0.1:1/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"connect HTTP/2.0", "CONNECT 127.0.0.1:443 HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"get HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505},
		{"get HTTP/3.0", "GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505},
	}
	for _, useTLS := range []bool{false, true} {
		for _, tc := range cases {
			if tc.name == "tls hello on plain" && useTLS {
				continue
			}
			t.Run(listenerName(useTLS)+"/"+tc.name, func(t *testing.T) {
				expectStatus(t, p.addr(useTLS), useTLS, tc.req, tc.code)
			})
		}
	}
	// None of these opened a tunnel.
	if l := p.readLog(); len(l) != 0 {
		t.Errorf("parse errors produced access-log lines: %v", l)
	}
}

// TestE2EPortNotAllowed: --allow-ports 443 refuses a CONNECT to another
// port with 403, without dialing it, and logs the refusal.
func TestE2EPortNotAllowed(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startProxy(t, "--allow-ports", "443", "--allow-private")
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			expectStatus(t, p.addr(useTLS), useTLS, connectReq(echo.addr()), 403)
		})
	}
	if n := echo.count(); n != 0 {
		t.Errorf("origin was dialed %d times for a refused port", n)
	}
	l := p.waitLog(echo.addr())
	checkLogFields(t, l)
	if l.num("status") != 403 || l.str("reason") != "refused" {
		t.Errorf("access log: %v", l)
	}
}

// TestE2EPrivateAddressGuard: without --allow-private, loopback targets are
// 403 whether written as a name that resolves to 127.0.0.1 or as literals,
// and the origin is never dialed.
func TestE2EPrivateAddressGuard(t *testing.T) {
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

// TestE2EConnectRefused: a port that was bound and closed gives 502.
func TestE2EConnectRefused(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t)
	target := "127.0.0.1:" + strconv.Itoa(closedPort(t))
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			expectStatus(t, p.addr(useTLS), useTLS, connectReq(target), 502)
		})
	}
	l := p.waitLog(target)
	checkLogFields(t, l)
	if l.num("status") != 502 || l.str("reason") != "dial_failed" || l.str("resolved") != target {
		t.Errorf("access log: %v", l)
	}
}

// TestE2EDNSFailure: a name under .invalid that the resolver answers with
// NXDOMAIN gives 502, and the log has no resolved address.
func TestE2EDNSFailure(t *testing.T) {
	t.Parallel()
	dns, queries := fakeDNS(t, true)
	p := startOpenProxy(t, "--resolver", dns)
	const target = "no-such-host.invalid:443"
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			expectStatus(t, p.addr(useTLS), useTLS, connectReq(target), 502)
		})
	}
	if queries() == 0 {
		t.Errorf("the --resolver was never asked")
	}
	l := p.waitLog(target)
	if l.num("status") != 502 || l.str("resolved") != "-" {
		t.Errorf("access log: %v", l)
	}
}

// TestE2EConnectTimeout: a resolver that never answers and
// --connect-timeout 300ms give 504.
func TestE2EConnectTimeout(t *testing.T) {
	t.Parallel()
	dns, queries := fakeDNS(t, false)
	p := startOpenProxy(t, "--resolver", dns, "--connect-timeout", "300ms")
	const target = "blackhole.example:443"
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			expectStatus(t, p.addr(useTLS), useTLS, connectReq(target), 504)
		})
	}
	if queries() == 0 {
		t.Errorf("the --resolver was never asked")
	}
	l := p.waitLog(target)
	if l.num("status") != 504 || l.str("reason") != "dial_failed" {
		t.Errorf("access log: %v", l)
	}
}

// TestE2EHeaderTimeout: half a request line, then silence, gets 408 and a
// close once --header-timeout passes; so does a client that trickles bytes
// (the deadline runs from accept, not from the last byte).
func TestE2EHeaderTimeout(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t, "--header-timeout", "500ms")
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS)+"/silent", func(t *testing.T) {
			expectStatus(t, p.addr(useTLS), useTLS, "CONNECT 127.0.0.1:", 408)
		})
	}
	t.Run("trickle", func(t *testing.T) {
		c := dialProxy(t, p.plain, false)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			// One byte of an endless header value every 50 ms, at most
			// waitLimit worth.
			msg := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", int(waitLimit/(50*time.Millisecond)))
			for i := 0; i < len(msg); i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte{msg[i]}); err != nil {
					return
				}
			}
		}()
		defer func() { close(stop); <-done }()
		_ = c.SetReadDeadline(time.Now().Add(waitLimit + 5*time.Second))
		b, err := io.ReadAll(c)
		if !strings.HasPrefix(string(b), "HTTP/1.1 408 ") {
			t.Fatalf("trickling client got %q (%v), want a 408", b, err)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("conn not closed after the 408")
		}
	})
}

// TestE2EH2cPriorKnowledge: the HTTP/2 preface on the plain port must not
// break the server. While no HTTP/2 front end is wired, it gets an HTTP/1.1
// error (505: "HTTP/2.0" in a request line) and a close; once one is
// wired, the answer must be an HTTP/2 SETTINGS frame. Either way the next
// CONNECT is served.
func TestE2EH2cPriorKnowledge(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	c := dialProxy(t, p.plain, false)
	if p.s.h1.H2 == nil {
		r := rawExchange(t, c, []byte(preface), waitLimit)
		if r.resp.StatusCode != 505 || !r.closedAfter() || len(r.after) != 0 {
			t.Fatalf("preface without h2: status %d, after %q, end %v; want 505 and a close", r.resp.StatusCode, r.after, r.endErr)
		}
	} else {
		// An empty SETTINGS frame, then read the server's first frame.
		if _, err := io.WriteString(c, preface+"\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
			t.Fatal(err)
		}
		hdr := make([]byte, 9)
		if _, err := io.ReadFull(c, hdr); err != nil {
			t.Fatalf("no frame after the preface: %v", err)
		}
		if hdr[3] != 0x4 {
			t.Fatalf("first frame type %d, want SETTINGS (4): % x", hdr[3], hdr)
		}
	}
	tc := openTunnel(t, p, false, echo.addr())
	echoRoundTrip(t, tc, 1024)
}
