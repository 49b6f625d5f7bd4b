package main

// End-to-end tests of absolute-form forwarding (plain HTTP through the
// proxy): what the origin sees of the request, what the client sees of the
// response, and where a forwarded request ends.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestE2EForwardGoClient: net/http with Transport.Proxy sends an
// absolute-form request; the origin sees origin-form, Host = the URI's
// authority, the end-to-end fields and the body, but no proxy credentials or
// Proxy-Connection; the client gets the response, and the access log does
// not show the credentials.
func TestE2EForwardGoClient(t *testing.T) {
	t.Parallel()
	origin, ch := recordingOrigin(t)
	p := startOpenProxy(t)
	host := hostOf(origin)
	tr := &http.Transport{
		// With userinfo, net/http sends Proxy-Authorization on plain-HTTP
		// proxy requests: the proxy must not pass it on.
		Proxy:             http.ProxyURL(&url.URL{Scheme: "http", User: url.UserPassword("user", "secret"), Host: p.plain}),
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: waitLimit}

	t.Run("GET", func(t *testing.T) {
		req, _ := http.NewRequest("GET", origin.URL+"/path?q", nil)
		req.Header.Set("Proxy-Connection", "keep-alive")
		req.Header.Set("X-Custom", "kept")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "origin body for /path" || resp.Header.Get("X-Origin") != "yes" {
			t.Fatalf("client got %d %q %v", resp.StatusCode, body, resp.Header)
		}
		s := nextSeen(t, ch)
		if s.requestURI != "/path?q" {
			t.Errorf("origin saw request-target %q, want origin-form /path?q", s.requestURI)
		}
		if s.host != host {
			t.Errorf("origin saw Host %q, want %q", s.host, host)
		}
		for _, h := range []string{"Proxy-Authorization", "Proxy-Connection"} {
			if v := s.header.Values(h); len(v) > 0 {
				t.Errorf("origin saw %s: %q", h, v)
			}
		}
		if s.header.Get("X-Custom") != "kept" {
			t.Errorf("an end-to-end header was lost: %v", s.header)
		}
	})

	t.Run("POST", func(t *testing.T) {
		resp, err := cl.Post(origin.URL+"/upload", "text/plain", strings.NewReader("payload bytes"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		s := nextSeen(t, ch)
		if resp.StatusCode != 200 || s.body != "payload bytes" || s.requestURI != "/upload" {
			t.Errorf("status %d, origin saw %q body %q", resp.StatusCode, s.requestURI, s.body)
		}
	})

	for _, l := range p.waitLines("both tunnels", 2, anyLine) {
		if strings.Contains(l.str("target"), "secret") || l.str("proto") != "h1" {
			t.Errorf("access log: %v", l)
		}
	}
}

// TestE2EForwardStripsRequestHopByHop: hop-by-hop fields, including those
// Connection names, and proxy credentials are dropped from a forwarded
// request and the client's Host is replaced by the URI's authority, on both
// listeners; an https:// URI cannot be forwarded as plain HTTP and gets 400.
func TestE2EForwardStripsRequestHopByHop(t *testing.T) {
	t.Parallel()
	origin, ch := recordingOrigin(t)
	p := startOpenProxy(t)
	host := hostOf(origin)
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			c := dialProxy(t, p.addr(useTLS), useTLS)
			req := "GET http://" + host + "/raw?x=1 HTTP/1.1\r\n" +
				"Host: other.example\r\n" +
				"Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n" +
				"Proxy-Connection: keep-alive\r\n" +
				"Connection: X-Hop, close\r\n" +
				"X-Hop: secret\r\n" +
				"Keep-Alive: timeout=5\r\n" +
				"X-Keep: 1\r\n\r\n"
			r := rawExchange(t, c, []byte(req), waitLimit)
			if r.resp.StatusCode != 200 || r.body != "origin body for /raw" {
				t.Fatalf("client got %d %q", r.resp.StatusCode, r.body)
			}
			s := nextSeen(t, ch)
			if s.requestURI != "/raw?x=1" || s.host != host {
				t.Errorf("origin saw %q Host %q", s.requestURI, s.host)
			}
			for _, h := range []string{"Proxy-Authorization", "Proxy-Connection", "X-Hop", "Keep-Alive"} {
				if v := s.header.Values(h); len(v) > 0 {
					t.Errorf("origin saw hop-by-hop %s: %q", h, v)
				}
			}
			if s.header.Get("X-Keep") != "1" {
				t.Errorf("X-Keep lost: %v", s.header)
			}
		})
	}
	// https:// cannot be forwarded as plain HTTP.
	t.Run("https scheme", func(t *testing.T) {
		expectStatus(t, p.plain, false, "GET https://"+host+"/ HTTP/1.1\r\nHost: "+host+"\r\n\r\n", 400)
	})
}

// TestE2EForwardCutsBodyAtItsEnd: a forwarded request carries its own body
// to the origin and nothing the client pipelined after it, so a second
// request cannot ride along unrewritten (request smuggling through the
// proxy): the pipelined bytes are the client's next request, parsed,
// rewritten and answered on their own, here on the same origin conn.
// Regression: 9172340
func TestE2EForwardCutsBodyAtItsEnd(t *testing.T) {
	t.Parallel()
	got := make(chan string, 2)
	ln := funcOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(req.Body)
			got <- req.Method + " " + req.RequestURI + " " + req.Header.Get("Via") + " " + string(body)
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	p := startOpenProxy(t)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	c := dialProxy(t, p.plain, false)
	req := "POST http://127.0.0.1:" + port + "/x HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Length: 5\r\n\r\nhello" +
		"GET http://127.0.0.1:" + port + "/second HTTP/1.1\r\nHost: evil\r\nProxy-Authorization: Basic c2VjcmV0OnNlY3JldA==\r\nConnection: close\r\n\r\n"
	r := rawExchange(t, c, []byte(req), waitLimit)
	if r.resp.StatusCode != 200 || r.body != "ok" {
		t.Fatalf("client got %d %q", r.resp.StatusCode, r.body)
	}
	second, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(r.after)), nil)
	if err != nil || second.StatusCode != 200 || !r.closedAfter() {
		t.Fatalf("after the first response: %v %q (closed %v); want the second's 200 and the close", err, r.after, r.closedAfter())
	}
	for _, want := range []string{"POST /x 1.1 sluice hello", "GET /second 1.1 sluice "} {
		if s := <-got; s != want {
			t.Errorf("origin saw %q; want %q", s, want)
		}
	}
}

// TestE2EForwardPassesLastFIN: the client's FIN after its last request,
// sent before the origin is even connected, reaches the origin (which may
// wait for it before it answers), and the client still gets the answer.
func TestE2EForwardPassesLastFIN(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	ln := funcOrigin(t, func(c net.Conn) {
		b, err := io.ReadAll(c) // until the proxy passes on the client's FIN
		if err != nil {
			got <- "no FIN from the proxy: " + err.Error()
			return
		}
		got <- string(b)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nfin")
	})
	p := startOpenProxy(t)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	c := dialProxy(t, p.plain, false)
	req := "POST http://127.0.0.1:" + port + "/x HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Length: 5\r\n\r\nhello"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	answer, _ := io.ReadAll(c)
	if seen := <-got; !strings.HasSuffix(seen, "\r\n\r\nhello") {
		t.Fatalf("origin got %q; want the rewritten head, exactly the 5-byte body, then the client's FIN", seen)
	}
	if !bytes.HasSuffix(answer, []byte("\r\n\r\nfin")) || !bytes.Contains(answer, []byte("Connection: close\r\n")) {
		t.Fatalf("client got %q; want the answer, marked as the last, then the close", answer)
	}
}

// TestE2EForwardStripsResponseHopByHop: the origin's response head is
// forwarded without its hop-by-hop fields, with Via, and with "Connection:
// close" when the client asked for it; an interim 100 head passes first,
// rewritten the same way (but says nothing of the connection).
// Regression: 8b46b2e
func TestE2EForwardStripsResponseHopByHop(t *testing.T) {
	t.Parallel()
	ln := funcOrigin(t, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = io.WriteString(c, "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s3cret\r\nKeep-Alive: timeout=5\r\n"+
			"Proxy-Authenticate: Basic realm=\"inner\"\r\nContent-Length: 5\r\nX-Kept: yes\r\n\r\nhello")
	})
	p := startOpenProxy(t)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	c := dialProxy(t, p.plain, false)
	if _, err := io.WriteString(c, "GET http://127.0.0.1:"+port+"/ HTTP/1.1\r\nHost: 127.0.0.1:"+port+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	s := string(got)
	want := "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\nVia: 1.1 sluice\r\n\r\n"
	if !strings.HasPrefix(s, want) {
		t.Fatalf("response starts %q; want the interim head first, rewritten: %q", s, want)
	}
	final := s[len(want):]
	for _, bad := range []string{"X-Secret", "Keep-Alive", "Proxy-Authenticate", "keep-alive"} {
		if strings.Contains(final, bad) {
			t.Errorf("forwarded response still has %q:\n%s", bad, final)
		}
	}
	if !strings.Contains(final, "X-Kept: yes\r\nVia: 1.1 sluice\r\nConnection: close\r\n") || !strings.HasSuffix(final, "\r\n\r\nhello") {
		t.Errorf("forwarded response:\n%q", final)
	}
}

// TestE2EForwardSplicedKeepsBodyCut: a forwarded request stays cut at its
// body when its tunnel carries enough (past --splice-after) to be spliced:
// what the client sends after the request (here a second request with
// proxy credentials) never reaches the origin, whose connection ends with
// the response it said was its last.
// Regression: 6090d34, fixed in 9580d13
func TestE2EForwardSplicedKeepsBodyCut(t *testing.T) {
	t.Parallel()
	const size = 4 << 20
	extra := make(chan []byte, 1)
	ln := funcOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			extra <- []byte("origin: " + err.Error())
			return
		}
		_ = req.Body.Close()
		// Connection: close, so the proxy closes this conn after the
		// response rather than keeping it for the next request.
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n", size)
		_, _ = c.Write(make([]byte, size))
		rest, _ := io.ReadAll(br) // until the proxy's FIN or close
		extra <- rest
	})
	target := ln.Addr().String()
	p := startOpenProxy(t, "--splice-after", "1048576")
	c := dialProxy(t, p.plain, false)
	if _, err := fmt.Fprintf(c, "GET http://%s/big HTTP/1.1\r\nHost: %s\r\n\r\n", target, target); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != size {
		t.Fatalf("body: %d bytes, %v; want %d", n, err, size)
	}
	smuggled := "GET /second HTTP/1.1\r\nHost: " + target + "\r\nProxy-Authorization: Basic c2VjcmV0OnNlY3JldA==\r\n\r\n"
	if _, err := io.WriteString(c, smuggled); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	got := <-extra // funcOrigin's 30 s deadline bounds the wait
	if len(got) > 0 {
		t.Fatalf("the origin received %d bytes sent after the forwarded request: %q", len(got), bytes.TrimSpace(got))
	}
	l := p.waitLog("http://" + target + "/big")
	t.Logf("access log: spliced=%v reason=%v", l["spliced"], l["reason"])
}

// TestE2EForwardPortPolicy: absolute-URI requests pass the same policy as
// CONNECT, with their own port list: --allow-forward-ports (by default 80,
// 443 and the CONNECT list). A port outside it gets 403, logged with
// reason "port", and the origin is never dialed.
func TestE2EForwardPortPolicy(t *testing.T) {
	t.Parallel()
	origin, ch := recordingOrigin(t)
	port := strings.TrimPrefix(hostOf(origin), "127.0.0.1:")
	get := func(p *proxy) *rawResult {
		c := dialProxy(t, p.plain, false)
		return rawExchange(t, c, []byte("GET http://127.0.0.1:"+port+"/x HTTP/1.1\r\nHost: 127.0.0.1:"+port+"\r\nConnection: close\r\n\r\n"), waitLimit)
	}
	p := startProxy(t, "--allow-private", "--allow-ports", "443,9443")
	if r := get(p); r.resp.StatusCode != 403 {
		t.Fatalf("forward to port %s with the default forward ports: %d; want 403", port, r.resp.StatusCode)
	}
	if l := p.waitLog("http://127.0.0.1:" + port + "/x"); l.num("status") != 403 || l.str("reason") != "port" || l.str("method") != "GET" {
		t.Errorf("access log %v; want 403, reason port, method GET", l)
	}
	select {
	case s := <-ch:
		t.Fatalf("the origin was reached: %+v", s)
	default:
	}
	p = startProxy(t, "--allow-private", "--allow-ports", "443", "--allow-forward-ports", "80,"+port)
	if r := get(p); r.resp.StatusCode != 200 {
		t.Fatalf("forward to an allowed port: %d", r.resp.StatusCode)
	}
	nextSeen(t, ch)
}

// TestE2EForwardBadChunkedGets400: a forwarded request whose chunked body
// is already known to be malformed is answered 400, as the README says,
// and the origin is not dialed; one whose body turns bad later is answered
// 400 too, as long as the origin has not answered yet.
func TestE2EForwardBadChunkedGets400(t *testing.T) {
	t.Parallel()
	dialed := make(chan struct{}, 8)
	ln := funcOrigin(t, func(c net.Conn) {
		dialed <- struct{}{}
		_, _ = io.Copy(io.Discard, c)
	})
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	p := startOpenProxy(t)
	head := "POST http://127.0.0.1:" + port + "/ HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, body := range []string{"3\nabc\r\n0\r\n\r\n", "3;ext\nabc\r\n0\r\n\r\n", "ffffffffffffffffff\r\n"} {
		c := dialProxy(t, p.plain, false)
		r := rawExchange(t, c, []byte(head+body), waitLimit)
		if r.resp.StatusCode != 400 || !r.closedAfter() {
			t.Errorf("body %q: status %d, closed %v; want 400 and a close", body, r.resp.StatusCode, r.closedAfter())
		}
	}
	select {
	case <-dialed:
		t.Error("the origin was dialed for a request whose framing was already known to be bad")
	case <-time.After(100 * time.Millisecond):
	}
	// The body goes bad after the origin was connected.
	c := dialProxy(t, p.plain, false)
	if _, err := io.WriteString(c, head+"3\r\nabc\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dialed:
	case <-time.After(waitLimit):
		t.Fatal("the origin was never dialed for a good start of a body")
	}
	r := rawExchange(t, c, []byte("zz\r\n"), waitLimit)
	if r.resp.StatusCode != 400 {
		t.Errorf("a body that turns bad: status %d; want 400", r.resp.StatusCode)
	}
	lines := p.waitLines("bad bodies", 4, func(l logLine) bool { return l.str("reason") == "bad_request_body" })
	for _, l := range lines {
		if l.num("status") != 400 || l.str("method") != "POST" {
			t.Errorf("access log %v; want status 400, method POST", l)
		}
	}
}

// TestE2EForwardLogsOriginStatus: the access log of a forwarded request
// says the origin's status and the method, and an origin that answers with
// no HTTP/1.x head gives the client a 502, logged as such.
func TestE2EForwardLogsOriginStatus(t *testing.T) {
	t.Parallel()
	notFound := funcOrigin(t, func(c net.Conn) {
		_, _ = c.Read(make([]byte, 4096))
		_, _ = io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")
	})
	garbage := funcOrigin(t, func(c net.Conn) {
		_, _ = c.Read(make([]byte, 4096))
		_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n")
	})
	p := startOpenProxy(t)
	for _, tc := range []struct {
		ln     net.Listener
		method string
		status int
		reason string
	}{{notFound, "DELETE", 404, "done"}, {garbage, "GET", 502, "bad_response"}} {
		target := "http://" + tc.ln.Addr().String() + "/thing"
		c := dialProxy(t, p.plain, false)
		r := rawExchange(t, c, []byte(tc.method+" "+target+" HTTP/1.1\r\nHost: "+tc.ln.Addr().String()+"\r\nConnection: close\r\n\r\n"), waitLimit)
		if r.resp.StatusCode != tc.status {
			t.Errorf("%s %s: client got %d; want %d", tc.method, target, r.resp.StatusCode, tc.status)
		}
		l := p.waitLog(target)
		if l.num("status") != int64(tc.status) || l.str("method") != tc.method || l.str("reason") != tc.reason {
			t.Errorf("%s %s: access log %v; want status %d, method %s, reason %s", tc.method, target, l, tc.status, tc.method, tc.reason)
		}
	}
}
