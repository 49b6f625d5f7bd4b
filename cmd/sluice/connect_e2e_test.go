package main

// End-to-end tests of CONNECT tunnels over HTTP/1.1, on the plain listener
// and inside TLS to the proxy: bytes through the tunnel, backpressure,
// pipelined early bytes, half-close and the upstream's end.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// TestE2EConnectHTTPS: a Go client writes CONNECT, reads exactly the 200,
// then speaks TLS to an HTTPS origin through the tunnel; over the plain
// listener and inside TLS to the proxy.
func TestE2EConnectHTTPS(t *testing.T) {
	t.Parallel()
	origin := httpsOrigin(t)
	p := startOpenProxy(t)
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			c := openTunnel(t, p, useTLS, hostOf(origin))
			code, body := getOverTLS(t, c, origin, "/hello")
			if code != 200 || body != "origin says /hello" {
				t.Fatalf("origin answered %d %q, want 200 %q", code, body, "origin says /hello")
			}
			_ = c.Close()
		})
	}
	// Both tunnels are logged, as h1/tcp with status 200 and the resolved
	// address.
	lines := p.waitLines("both tunnels", 2, anyLine)
	if len(lines) != 2 {
		t.Fatalf("want 2 access-log lines, got %d: %v", len(lines), lines)
	}
	for _, l := range lines {
		checkLogFields(t, l)
		if l.str("proto") != "h1" || l.str("kind") != "tcp" || l.num("status") != 200 ||
			l.str("target") != hostOf(origin) || l.str("resolved") != hostOf(origin) {
			t.Errorf("access-log line: %v", l)
		}
		if l.num("bytes_up") == 0 || l.num("bytes_down") == 0 {
			t.Errorf("no bytes counted: %v", l)
		}
	}
}

// TestE2EConnectGoTransport: net/http's own CONNECT, with an http:// and
// with an https:// proxy URL, reaches an HTTPS origin.
func TestE2EConnectGoTransport(t *testing.T) {
	t.Parallel()
	origin := httpsOrigin(t)
	p := startOpenProxy(t)
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			addr := p.plain
			if scheme == "https" {
				addr = p.tls
			}
			tr := origin.Client().Transport.(*http.Transport).Clone()
			tr.Proxy = http.ProxyURL(&url.URL{Scheme: scheme, Host: addr})
			tr.TLSClientConfig.InsecureSkipVerify = true // covers the proxy's self-signed cert too
			tr.ForceAttemptHTTP2 = false
			cl := &http.Client{Transport: tr, Timeout: waitLimit}
			defer tr.CloseIdleConnections()
			resp, err := cl.Get(origin.URL + "/via-go")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "origin says /via-go" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
		})
	}
}

// TestE2EConnectEchoMiB: 1 MiB of random bytes round trip through a raw
// echo origin, byte-exact, and the access log counts them both ways.
func TestE2EConnectEchoMiB(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	const n = 1 << 20
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			c := openTunnel(t, p, useTLS, echo.addr())
			echoRoundTrip(t, c, n)
			_ = c.Close()
		})
	}
	lines := p.waitLines("both tunnels", 2, anyLine)
	if len(lines) != 2 {
		t.Fatalf("want 2 access-log lines, got %v", lines)
	}
	for _, l := range lines {
		if l.num("bytes_up") != n || l.num("bytes_down") != n || l.num("status") != 200 {
			t.Errorf("want bytes_up = bytes_down = %d, status 200: %v", n, l)
		}
	}
}

// TestE2EConnectEchoBackpressure: 8 MiB each way with a 64 KiB buffer, so
// the relay has to pause and resume reading both sockets; the bytes still
// arrive intact and the tunnel never stalls. A few rounds per listener,
// because a lost wake-up only shows in some interleavings.
func TestE2EConnectEchoBackpressure(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t, "--buffer-size", "65536")
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			for round := 0; round < 3; round++ {
				c := openTunnel(t, p, useTLS, echo.addr())
				_ = c.SetDeadline(time.Now().Add(waitLimit))
				echoRoundTrip(t, c, 8<<20)
				_ = c.Close()
			}
		})
	}
	t.Logf("engine stats: %+v", p.s.eng.Stats())
}

// TestE2EConnectBackpressureBoundsMemory: when one side stops reading, the
// proxy stops reading the other instead of buffering (README, How it works:
// memory per tunnel direction stays near --buffer-size); once the reader
// resumes, every byte arrives intact. Both directions.
func TestE2EConnectBackpressureBoundsMemory(t *testing.T) {
	t.Parallel()
	const n = 16 << 20
	data := make([]byte, n)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)

	t.Run("download", func(t *testing.T) {
		t.Parallel()
		origin := funcOrigin(t, func(c net.Conn) {
			_, _ = c.Write(data)
			_, _ = io.Copy(io.Discard, c)
		})
		p := startOpenProxy(t, "--buffer-size", "65536")
		c := openTunnel(t, p, false, origin.Addr().String())
		waitParked(t, p) // the client reads nothing yet
		got := make([]byte, n)
		if k, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("read %d of %d after resuming: %v (%+v)", k, n, err, p.s.eng.Stats())
		}
		if sha256.Sum256(got) != sum {
			t.Fatalf("downloaded bytes differ")
		}
	})

	t.Run("upload", func(t *testing.T) {
		t.Parallel()
		start := make(chan struct{})
		origin := funcOrigin(t, func(c net.Conn) {
			select {
			case <-start:
			case <-time.After(2 * waitLimit):
				return
			}
			h := sha256.New()
			if _, err := io.CopyN(h, c, n); err != nil {
				return
			}
			_, _ = c.Write(h.Sum(nil))
		})
		p := startOpenProxy(t, "--buffer-size", "65536")
		c := openTunnel(t, p, false, origin.Addr().String())
		werr := make(chan error, 1)
		go func() {
			_, err := c.Write(data)
			werr <- err
		}()
		waitParked(t, p) // the origin reads nothing yet
		close(start)
		got := make([]byte, sha256.Size)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("no digest from the origin: %v (write: %v, %+v)", err, <-werr, p.s.eng.Stats())
		}
		if !bytes.Equal(got, sum[:]) {
			t.Fatalf("the origin received different bytes")
		}
		if err := <-werr; err != nil {
			t.Fatal(err)
		}
	})
}

// TestE2EConnectPipelined: with the CONNECT head and the first tunnel bytes
// in one write, the origin gets those bytes, and the client gets nothing but
// the 200 before the origin speaks; on both listeners.
func TestE2EConnectPipelined(t *testing.T) {
	t.Parallel()
	const early = "hello\r\n"
	got := make(chan string, 2)
	origin := funcOrigin(t, func(c net.Conn) {
		b := make([]byte, len(early))
		n, err := io.ReadFull(c, b)
		if err != nil {
			got <- fmt.Sprintf("read error %v after %q", err, b[:n])
			return
		}
		got <- string(b)
		_, _ = io.WriteString(c, "world\r\n")
		_, _ = io.Copy(io.Discard, c)
	})
	p := startOpenProxy(t)
	target := origin.Addr().String()
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			c := dialProxy(t, p.addr(useTLS), useTLS)
			if _, err := io.WriteString(c, connectReq(target)+early); err != nil {
				t.Fatal(err)
			}
			readEstablished(t, c)
			select {
			case s := <-got:
				if s != early {
					t.Fatalf("origin got %q, want %q", s, early)
				}
			case <-time.After(waitLimit):
				t.Fatalf("origin did not get the pipelined bytes within %v", waitLimit)
			}
			b := make([]byte, len("world\r\n"))
			if _, err := io.ReadFull(c, b); err != nil || string(b) != "world\r\n" {
				t.Fatalf("client read %q, %v", b, err)
			}
		})
	}
}

// TestE2EConnectHalfClose: the client sends, then shuts its write side; the
// origin sees EOF after every byte, and its answer (sent after that EOF)
// still reaches the client (README: true half-close with --half-close, the
// default).
func TestE2EConnectHalfClose(t *testing.T) {
	t.Parallel()
	origin := funcOrigin(t, func(c net.Conn) {
		b, err := io.ReadAll(c) // to EOF: needs the client's FIN passed on
		if err != nil {
			return
		}
		_, _ = io.WriteString(c, "got "+strconv.Itoa(len(b))+" bytes: "+string(b))
	})
	p := startOpenProxy(t)
	c := openTunnel(t, p, false, origin.Addr().String())
	if _, err := io.WriteString(c, "request body"); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read after half-close: %v (got %q)", err, b)
	}
	if want := "got 12 bytes: request body"; string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
}

// TestE2EConnectUpstreamEOFFlushes: when an origin writes 4 MiB and closes
// at once, the client gets every byte, then EOF.
func TestE2EConnectUpstreamEOFFlushes(t *testing.T) {
	t.Parallel()
	data := make([]byte, 4<<20)
	_, _ = rand.Read(data)
	origin := funcOrigin(t, func(c net.Conn) {
		_, _ = c.Write(data)
	})
	p := startOpenProxy(t, "--buffer-size", "65536")
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			c := openTunnel(t, p, useTLS, origin.Addr().String())
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("read: %v after %d bytes", err, len(got))
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes, want %d identical ones", len(got), len(data))
			}
		})
	}
}

// TestE2EConnectTLSProxyALPN: the TLS listener's handshake accepts http/1.1
// by ALPN, so an HTTP/1.1-only client gets a usable conn.
func TestE2EConnectTLSProxyALPN(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t)
	raw, err := net.DialTimeout("tcp", p.tls, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(waitLimit))
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if got := tc.ConnectionState().NegotiatedProtocol; got != "http/1.1" {
		t.Fatalf("ALPN %q, want http/1.1", got)
	}
}
