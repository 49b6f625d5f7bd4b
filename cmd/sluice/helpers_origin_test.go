package main

// Origins for the end-to-end tests, all on loopback: a TCP echo, a TCP
// origin that runs a func per conn, HTTPS origins, a recording HTTP
// origin, and a port nothing listens on.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoOrigin is a TCP origin that echoes until the client's FIN, then
// closes. It counts accepted conns.
type echoOrigin struct {
	ln       net.Listener
	mu       sync.Mutex
	accepted int
}

func startEcho(t *testing.T) *echoOrigin { return startEchoOn(t, listenLoopback(t), nil) }

// listenLoopback listens on a free port of 127.0.0.1.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// startEchoOn is startEcho on ln; prelude, if set, reads what each conn
// starts with first (and may refuse the conn with an error).
func startEchoOn(t *testing.T, ln net.Listener, prelude func(net.Conn) error) *echoOrigin {
	t.Helper()
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
				if prelude == nil || prelude(c) == nil {
					_, _ = io.Copy(c, c)
				}
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
	return funcOriginOn(t, listenLoopback(t), fn)
}

// funcOriginOn is funcOrigin on ln.
func funcOriginOn(t *testing.T, ln net.Listener, fn func(c net.Conn)) net.Listener {
	t.Helper()
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

// httpsOriginBody is a local HTTPS origin that answers every request with
// body as text/html.
func httpsOriginBody(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, body)
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

// seen is what a recording origin saw of one request.
type seen struct {
	requestURI, host, body string
	header                 http.Header
}

// recordingOrigin is an HTTP origin that reports every request it gets on
// the returned channel and answers "origin body for <path>" with
// X-Origin: yes.
func recordingOrigin(t *testing.T) (*httptest.Server, <-chan seen) {
	t.Helper()
	ch := make(chan seen, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- seen{requestURI: r.RequestURI, host: r.Host, body: string(b), header: r.Header.Clone()}
		w.Header().Set("X-Origin", "yes")
		_, _ = io.WriteString(w, "origin body for "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// nextSeen waits (bounded) for the next request a recording origin saw.
func nextSeen(t *testing.T, ch <-chan seen) seen {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(waitLimit):
		t.Fatalf("the origin saw no request within %v", waitLimit)
		return seen{}
	}
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
