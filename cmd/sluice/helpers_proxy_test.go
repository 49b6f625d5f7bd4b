package main

// Helpers for the end-to-end tests: an in-process sluice on loopback
// listeners, local origins (echo, recording, HTTPS), a fake DNS server, raw
// CONNECT clients and access-log polling. Every wait is bounded.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	established = "HTTP/1.1 200 Connection established\r\n\r\n"
	// waitLimit bounds every wait for something the proxy should do soon.
	waitLimit = 10 * time.Second
)

// lockedBuffer collects the server's error log; dumped when a test fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proxy is one in-process sluice.
type proxy struct {
	t       *testing.T
	s       *server
	plain   string // --listen address
	tls     string // --listen-tls address
	logPath string
	errLog  *lockedBuffer
	stopped bool
}

// startProxy runs sluice with loopback listeners, an access log in a temp
// file, and args after those (a later flag overrides an earlier one). It
// does NOT open ports or private addresses; see startOpenProxy.
func startProxy(t *testing.T, args ...string) *proxy {
	t.Helper()
	p := &proxy{t: t, errLog: &lockedBuffer{}}
	p.logPath = filepath.Join(t.TempDir(), "access.log")
	all := append([]string{
		"--listen", "127.0.0.1:0",
		"--listen-tls", "127.0.0.1:0",
		"--access-log", p.logPath,
		"--workers", "2",
		"--log-level", "debug",
	}, args...)
	cfg, err := parseFlags(all, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags(%q): %v", all, err)
	}
	s, err := newServer(cfg, p.errLog)
	if err != nil {
		t.Fatalf("newServer: %v", err)
	}
	if err := s.start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	p.s = s
	p.plain = s.addrs["listen"].String()
	p.tls = s.addrs["listen-tls"].String()
	t.Cleanup(func() {
		if !p.stopped {
			before := s.eng.ActiveConns()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := s.shutdown(ctx)
			cancel()
			if err != nil {
				// The drain waits for every client conn to end; a conn the
				// proxy keeps after its client is done holds it up.
				t.Errorf("shutdown at test end: %v: client conns still counted open 5s after the test's clients were done (%d when the drain began)",
					err, before)
			}
		}
		if t.Failed() {
			t.Logf("server log:\n%s", p.errLog.String())
			if b, err := os.ReadFile(p.logPath); err == nil {
				t.Logf("access log:\n%s", b)
			}
		}
	})
	return p
}

// startOpenProxy is startProxy with every port and private addresses
// allowed, so loopback origins can be reached.
func startOpenProxy(t *testing.T, args ...string) *proxy {
	return startProxy(t, append([]string{"--allow-ports", "all", "--allow-private"}, args...)...)
}

// addr returns the plain or the TLS listener address.
func (p *proxy) addr(useTLS bool) string {
	if useTLS {
		return p.tls
	}
	return p.plain
}

// logLine is one access-log record.
type logLine map[string]any

func (l logLine) str(k string) string {
	s, _ := l[k].(string)
	return s
}

func (l logLine) num(k string) int64 {
	f, _ := l[k].(float64)
	return int64(f)
}

// readLog parses every complete line of the access log.
func (p *proxy) readLog() []logLine {
	p.t.Helper()
	b, err := os.ReadFile(p.logPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		p.t.Fatalf("read access log: %v", err)
	}
	var out []logLine
	for _, ln := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		var m logLine
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			p.t.Fatalf("access log line is not JSON: %q: %v", ln, err)
		}
		out = append(out, m)
	}
	return out
}

// waitLog polls the access log until a line for target appears and
// returns it (lines are written when a tunnel ends).
func (p *proxy) waitLog(target string) logLine {
	p.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		for _, l := range p.readLog() {
			if l.str("target") == target {
				return l
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no access-log line for target %q within %v; log: %v", target, waitLimit, p.readLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkLogFields asserts that every field of the documented access-log
// schema is present.
func checkLogFields(t *testing.T, l logLine) {
	t.Helper()
	for _, k := range []string{"time", "client", "user", "proto", "kind", "target", "resolved", "acl", "status",
		"resolve_ms", "connect_ms", "first_byte_ms", "bytes_up", "bytes_down", "duration_ms", "reason"} {
		if _, ok := l[k]; !ok {
			t.Errorf("access-log line lacks %q: %v", k, l)
		}
	}
}

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

// echoOrigin is a TCP origin that echoes until the client's FIN, then
// closes. It counts accepted conns.
type echoOrigin struct {
	ln       net.Listener
	mu       sync.Mutex
	accepted int
}

func startEcho(t *testing.T) *echoOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoOrigin{ln: ln}
	var wg sync.WaitGroup
	conns := map[net.Conn]struct{}{}
	t.Cleanup(func() {
		_ = ln.Close()
		e.mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		e.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.accepted++
			conns[c] = struct{}{}
			e.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				_ = c.Close()
			}()
		}
	}()
	return e
}

func (e *echoOrigin) addr() string { return e.ln.Addr().String() }

func (e *echoOrigin) port() int { return e.ln.Addr().(*net.TCPAddr).Port }

func (e *echoOrigin) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.accepted
}

// funcOrigin is a TCP origin that runs fn for each conn, then closes it.
func funcOrigin(t *testing.T, fn func(c net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				fn(c)
			}()
		}
	}()
	return ln
}

// httpsOrigin is a local HTTPS origin that answers "origin says <path>".
func httpsOrigin(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "origin says %s", r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hostOf(srv *httptest.Server) string {
	return strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https://"), "http://")
}

// getOverTLS runs TLS to origin inside c (a tunnel), sends GET path and
// returns the status and body.
func getOverTLS(t *testing.T, c net.Conn, origin *httptest.Server, path string) (int, string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(origin.Certificate())
	tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS to the origin through the tunnel: %v", err)
	}
	host := hostOf(origin)
	fmt.Fprintf(tc, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host)
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatalf("origin response through the tunnel: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("origin body through the tunnel: %v", err)
	}
	return resp.StatusCode, string(body)
}

// closedPort returns a loopback port that was bound and closed: nothing
// listens there, so connects are refused.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// fakeDNS is a UDP DNS server on loopback. With nxdomain it answers every
// query with NXDOMAIN; otherwise it reads queries and never answers.
func fakeDNS(t *testing.T, nxdomain bool) (addr string, queries func() int) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	done := make(chan struct{})
	t.Cleanup(func() { _ = pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
			if !nxdomain {
				continue
			}
			if resp := nxdomainFor(buf[:k]); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return pc.LocalAddr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// nxdomainFor builds an NXDOMAIN answer to query q: same ID and question,
// QR RD RA set, RCODE 3, no records.
func nxdomainFor(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	i := 12
	for i < len(q) && q[i] != 0 {
		i += int(q[i]) + 1
	}
	end := i + 1 + 4 // the root label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	r := append([]byte(nil), q[:end]...)
	r[2] = 0x81                         // QR, opcode 0, RD
	r[3] = 0x83                         // RA, RCODE NXDOMAIN
	r[4], r[5] = 0, 1                   // QDCOUNT
	r[6], r[7], r[8], r[9] = 0, 0, 0, 0 // ANCOUNT, NSCOUNT
	r[10], r[11] = 0, 0                 // ARCOUNT
	return r
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

// readWithin runs read on another goroutine and gives up after waitLimit,
// for bodies without a deadline of their own (h2 streams).
func readWithin(read func() (int, error)) (int, error) {
	type res struct {
		n   int
		err error
	}
	ch := make(chan res, 1)
	go func() {
		n, err := read()
		ch <- res{n, err}
	}()
	select {
	case x := <-ch:
		return x.n, x.err
	case <-time.After(waitLimit):
		return 0, os.ErrDeadlineExceeded
	}
}
