package main

// Raw HTTP/1.1 clients for the end-to-end tests: conns to the proxy (from
// a chosen loopback source address if need be), CONNECT exchanges read
// byte-exact, error answers and how the conn ends after them, and bytes
// through an open tunnel to an echo origin.

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialProxy opens a client conn to the proxy (TLS with InsecureSkipVerify
// for the TLS listener). The conn has an overall deadline so no read can
// hang the test; it is closed at cleanup.
func dialProxy(t *testing.T, addr string, useTLS bool) net.Conn {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial proxy %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	_ = raw.SetDeadline(time.Now().Add(30 * time.Second))
	if !useTLS {
		return raw
	}
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake with the proxy: %v", err)
	}
	return tc
}

// dialFrom dials the proxy from the loopback address src (any of
// 127.0.0.0/8 works on Linux), with TLS when useTLS. The conn has an
// overall deadline and is closed at cleanup. The failure limiter and the
// per-address tunnel limit count per client address, so tests that spend
// either use their own src.
func dialFrom(t *testing.T, addr string, useTLS bool, src string, alpn ...string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial proxy %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	_ = raw.SetDeadline(time.Now().Add(30 * time.Second))
	if !useTLS {
		return raw
	}
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", NextProtos: alpn})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake with the proxy: %v", err)
	}
	return tc
}

// connectReq is a CONNECT request head for target.
func connectReq(target string) string {
	return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n"
}

// readEstablished reads exactly the 200 response and nothing more.
func readEstablished(t *testing.T, c net.Conn) {
	t.Helper()
	got := make([]byte, len(established))
	n, err := io.ReadFull(c, got)
	if err != nil || string(got) != established {
		t.Fatalf("CONNECT response: got %q (err %v), want exactly %q", got[:n], err, established)
	}
}

// openTunnel dials the proxy and opens a CONNECT tunnel to target.
func openTunnel(t *testing.T, p *proxy, useTLS bool, target string) net.Conn {
	t.Helper()
	c := dialProxy(t, p.addr(useTLS), useTLS)
	if _, err := io.WriteString(c, connectReq(target)); err != nil {
		t.Fatalf("write CONNECT: %v", err)
	}
	readEstablished(t, c)
	return c
}

// rawResult is what came back for a raw request.
type rawResult struct {
	resp   *http.Response
	body   string
	after  []byte // bytes after the response
	endErr error  // how the stream ended: io.EOF or a reset when closed
}

// closedAfter reports whether the proxy closed the conn after its answer
// (FIN or RST) rather than leaving it open until our deadline.
func (r *rawResult) closedAfter() bool {
	var ne net.Error
	if errors.As(r.endErr, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(r.endErr, io.EOF) || errors.Is(r.endErr, syscall.ECONNRESET) ||
		errors.Is(r.endErr, syscall.EPIPE)
}

// rawExchange writes req to c and reads one response, its body and
// everything after it until the stream ends or readFor passes.
func rawExchange(t *testing.T, c net.Conn, req []byte, readFor time.Duration) *rawResult {
	t.Helper()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(req)
		werr <- err
	}()
	_ = c.SetReadDeadline(time.Now().Add(readFor))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response to %.80q: %v (write: %v)", req, err, <-werr)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	r := &rawResult{resp: resp, body: string(body)}
	buf := make([]byte, 4096)
	for {
		n, err := br.Read(buf)
		r.after = append(r.after, buf[:n]...)
		if err != nil {
			r.endErr = err
			break
		}
	}
	<-werr // a write may fail once the proxy closes; that is fine
	return r
}

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

// connectFrom sends a CONNECT (with extra header lines, each ending in
// CRLF) from src and returns the parsed response head; on 200 the conn is
// returned open for tunnel bytes, otherwise the whole exchange is read
// (body and close) as rawExchange does, and the conn is closed.
func connectFrom(t *testing.T, p *proxy, useTLS bool, src, target, extra string) (*http.Response, net.Conn, *rawResult) {
	t.Helper()
	c := dialFrom(t, p.addr(useTLS), useTLS, src)
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + extra + "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("write CONNECT: %v", err)
	}
	// Read the head byte by byte so that nothing of the tunnel is consumed.
	var head []byte
	one := make([]byte, 1)
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		if _, err := c.Read(one); err != nil {
			t.Fatalf("CONNECT %s: reading the response head: %v (got %q)", target, err, head)
		}
		head = append(head, one[0])
		if len(head) > 64<<10 {
			t.Fatalf("CONNECT %s: response head too long", target)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(head))), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("CONNECT %s: bad response head %q: %v", target, head, err)
	}
	if resp.StatusCode == 200 {
		if string(head) != established {
			t.Errorf("CONNECT %s: 200 head %q; want exactly %q", target, head, established)
		}
		return resp, c, nil
	}
	// Not a tunnel: read the body and how the conn ends.
	n, _ := strconv.Atoi(resp.Header.Get("Content-Length"))
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatalf("CONNECT %s: %d body: %v", target, resp.StatusCode, err)
	}
	r := &rawResult{resp: resp, body: string(body)}
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	buf := make([]byte, 4096)
	for {
		k, err := c.Read(buf)
		r.after = append(r.after, buf[:k]...)
		if err != nil {
			r.endErr = err
			break
		}
	}
	_ = c.Close() // as a client does after "Connection: close"
	return resp, nil, r
}

// expectH1Status checks a non-tunnel answer over HTTP/1.1 from src.
func expectH1Status(t *testing.T, p *proxy, useTLS bool, src, target, extra string, code int, why string) {
	t.Helper()
	resp, c, _ := connectFrom(t, p, useTLS, src, target, extra)
	if c != nil {
		_ = c.Close()
	}
	if resp.StatusCode != code {
		t.Errorf("%s over %s: status %d; want %d", why, listenerName(useTLS), resp.StatusCode, code)
	}
}

// tunnelWith opens a tunnel over HTTP/1.1 from src, with extra header
// lines, and checks that bytes move.
func tunnelWith(t *testing.T, p *proxy, useTLS bool, src, target, extra, why string) net.Conn {
	t.Helper()
	resp, c, _ := connectFrom(t, p, useTLS, src, target, extra)
	if c == nil {
		t.Fatalf("%s: CONNECT %s over %s: status %d; want 200", why, target, listenerName(useTLS), resp.StatusCode)
	}
	echoOnce(t, c, why)
	return c
}

// echoOnce writes a message into a tunnel to an echo origin and reads it
// back.
func echoOnce(t *testing.T, c net.Conn, what string) {
	t.Helper()
	msg := []byte("ping through " + what)
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("%s: write into the tunnel: %v", what, err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
		t.Fatalf("%s: echo got %q (%v); want %q", what, got, err, msg)
	}
}

// echoRoundTrip sends n random bytes through c (a tunnel to an echo
// origin) while reading them back, and compares digests.
func echoRoundTrip(t *testing.T, c net.Conn, n int) {
	t.Helper()
	data := make([]byte, n)
	_, _ = rand.Read(data)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		werr <- err
	}()
	got := make([]byte, n)
	if k, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo back: %v after %d of %d bytes (write: %v)", err, k, n, <-werr)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("echoed %d bytes differ from those sent", n)
	}
}

// pingPong sends one byte through an echo tunnel and reads it back.
func pingPong(c net.Conn, b byte) error {
	if _, err := c.Write([]byte{b}); err != nil {
		return err
	}
	got := make([]byte, 1)
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if got[0] != b {
		return errors.New("echo returned a different byte")
	}
	return nil
}

// closeWrite half-closes a client conn: FIN for TCP, close_notify for TLS
// (which sluice passes on as a FIN).
func closeWrite(c net.Conn) error {
	switch c := c.(type) {
	case *net.TCPConn:
		return c.CloseWrite()
	case *tls.Conn:
		return c.CloseWrite()
	}
	return fmt.Errorf("cannot half-close a %T", c)
}
