package main

// End-to-end tests of the error answers over HTTP/1.1: malformed requests,
// refused ports, failed dials and DNS, timeouts. Each is a well-formed
// response followed by a close.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestE2EErrorsBadRequests: every parse-level error status (400, 414, 431,
// 501, 505), over both listeners, is a well-formed answer followed by a
// close and an access-log line (reason bad_request); none of them opens a
// tunnel.
func TestE2EErrorsBadRequests(t *testing.T) {
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
	// Each is logged as a bad request, and none of them opened a tunnel.
	want := 2*len(cases) - 1
	lines := p.waitLines("the bad requests", want, func(logLine) bool { return true })
	codes := map[int64]bool{}
	for _, tc := range cases {
		codes[int64(tc.code)] = true
	}
	for _, l := range lines {
		if l.str("reason") != "bad_request" || !codes[l.num("status")] || l.num("bytes_up") != 0 || l.num("bytes_down") != 0 || l.str("target") != "" {
			t.Errorf("access log %v; want a bad_request with its status, no target and no bytes", l)
		}
	}
	if len(lines) != want {
		t.Errorf("%d access-log lines for %d bad requests", len(lines), want)
	}
}

// TestE2EErrorsPortNotAllowed: --allow-ports 443 refuses a CONNECT to
// another port with 403, without dialing it, and logs the refusal.
func TestE2EErrorsPortNotAllowed(t *testing.T) {
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
	if l.num("status") != 403 || l.str("reason") != "port" {
		t.Errorf("access log: %v", l)
	}
}

// TestE2EErrorsConnectRefused: a CONNECT to a port that was bound and closed
// gets 502, logged as connect_failed with the resolved address.
func TestE2EErrorsConnectRefused(t *testing.T) {
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
	if l.num("status") != 502 || l.str("reason") != "connect_failed" || l.str("resolved") != target {
		t.Errorf("access log: %v", l)
	}
}

// TestE2EErrorsDNSFailure: a name the --resolver answers with NXDOMAIN gets
// 502, and the access log has no resolved address.
func TestE2EErrorsDNSFailure(t *testing.T) {
	t.Parallel()
	dns, queries := nxdomainDNS(t)
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

// TestE2EErrorsConnectTimeout: with a resolver that never answers and
// --connect-timeout 300ms, a CONNECT gets 504, logged as connect_timeout.
func TestE2EErrorsConnectTimeout(t *testing.T) {
	t.Parallel()
	dns, queries := silentDNS(t)
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
	if l.num("status") != 504 || l.str("reason") != "connect_timeout" {
		t.Errorf("access log: %v", l)
	}
}

// TestE2EErrorsHeaderTimeout: half a request line, then silence, gets 408
// and a close once --header-timeout passes; so does a client that trickles
// bytes (the deadline runs from accept, not from the last byte).
func TestE2EErrorsHeaderTimeout(t *testing.T) {
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

// TestE2EErrorsParkedClientReadsDialError: a CONNECT client whose early
// bytes (sent before the 200) pass the high watermark while the target is
// still being resolved is paused; when the dial then fails, the client still
// reads the 5xx, even though the proxy then closes a socket with the
// client's bytes still unread in it (which the kernel answers with a reset).
func TestE2EErrorsParkedClientReadsDialError(t *testing.T) {
	t.Parallel()
	dns, release := heldDNS(t)
	p := startOpenProxy(t, "--resolver", dns, "--buffer-size", "4096")
	c := dialProxy(t, p.plain, false)
	target := "held.invalid:80"
	if _, err := io.WriteString(c, connectReq(target)+strings.Repeat("x", 64<<10)); err != nil {
		t.Fatal(err)
	}
	// DNS holds the dial; wait until the proxy parked the client.
	deadline := time.Now().Add(waitLimit)
	for p.s.eng.Stats().Parks == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the client was never parked")
		}
		time.Sleep(time.Millisecond)
	}
	release()
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("no answer to the failed CONNECT: %v", err)
	}
	if resp.StatusCode/100 != 5 {
		t.Fatalf("status %d, want 5xx", resp.StatusCode)
	}
	p.waitLog(target)
}
