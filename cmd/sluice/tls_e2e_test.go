package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestE2ETLSCloseNotifyHalfCloses: a client of the TLS listener that ends
// its data with close_notify (tls.Conn.CloseWrite) and keeps reading has
// half-closed the tunnel: the origin sees its EOF and its answer, sent
// after that EOF, still reaches the client.
func TestE2ETLSCloseNotifyHalfCloses(t *testing.T) {
	t.Parallel()
	ln := funcOrigin(t, func(c net.Conn) {
		got, _ := io.ReadAll(c) // until the proxy passes on the client's end of data
		_, _ = io.WriteString(c, "the origin read "+string(got))
	})
	p := startOpenProxy(t)
	c := openTunnel(t, p, true, ln.Addr().String()).(*tls.Conn)
	if _, err := io.WriteString(c, "a question"); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	got, err := io.ReadAll(c)
	if string(got) != "the origin read a question" {
		t.Fatalf("after close_notify the client read %q (%v); want the origin's answer to its end of data", got, err)
	}
}

// TestE2ETLSGoTransportOffersH2: Go's http.Transport with ForceAttemptHTTP2
// (http.DefaultTransport and its clones) offers h2 by ALPN to an https://
// proxy and then sends an HTTP/1.1 CONNECT: it is served as HTTP/1.1, also
// under --camouflage go, where the CONNECT comes within --alpn-h2-grace.
func TestE2ETLSGoTransportOffersH2(t *testing.T) {
	t.Parallel()
	authPath := filepath.Join(t.TempDir(), "htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "go", "transport", "$2y$")+"\n")
	for _, tc := range []struct {
		name    string
		args    []string
		user    *url.Userinfo
		delay   time.Duration // each way, by a relay in front of the proxy
		version uint16        // the most the client offers; 0: TLS 1.3
	}{
		{name: "open"},
		{name: "camouflage", args: []string{"--auth-file", authPath, "--probe-resistance"}, user: url.UserPassword("go", "transport")},
		// After a TLS 1.2 full handshake the CONNECT is a round trip
		// later than the end of the proxy's handshake: the grace grows
		// by the round trip the handshake measured.
		{name: "camouflage-tls12-60ms-rtt", args: []string{"--auth-file", authPath, "--probe-resistance"}, user: url.UserPassword("go", "transport"),
			delay: 30 * time.Millisecond, version: tls.VersionTLS12},
		{name: "camouflage-tls13-60ms-rtt", args: []string{"--auth-file", authPath, "--probe-resistance"}, user: url.UserPassword("go", "transport"),
			delay: 30 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			origin := httpsOrigin(t)
			p := startOpenProxy(t, tc.args...)
			via := p.tls
			if tc.delay > 0 {
				via = delayRelay(t, p.tls, tc.delay)
			}
			resp, err := goTransportGetVia(via, tc.user, tc.version, origin.URL+"/via-default-transport")
			if err != nil {
				t.Fatal(err)
			}
			if resp != "200 origin says /via-default-transport" {
				t.Fatalf("got %q", resp)
			}
			if l := p.waitLog(hostOf(origin)); l.str("proto") != "h1" || l.num("status") != 200 {
				t.Errorf("access log: %v; want an h1 tunnel", l)
			}
		})
	}
}

// TestE2EFlagsALPNH2GraceZero: with --alpn-h2-grace 0 a conn that chose h2
// by ALPN is HTTP/2 from its first byte, as on a Go server: Go's
// http.Transport, which then sends an HTTP/1.1 CONNECT, reads SETTINGS
// instead of an answer and fails, while an HTTP/2 client is served.
func TestE2EFlagsALPNH2GraceZero(t *testing.T) {
	t.Parallel()
	origin := httpsOrigin(t)
	p := startOpenProxy(t, "--camouflage", "go", "--alpn-h2-grace", "0")
	if resp, err := goTransportGet(p, nil, origin.URL+"/x"); err == nil {
		t.Fatalf("Go's http.Transport got %q through HTTP/1.1 on ALPN h2; want an error", resp)
	}
	echo := startEcho(t)
	_, cc := dialH2(t, p.tls, true, nil)
	resp, pw, err := h2Connect(cc, echo.addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP/2 CONNECT: status %d", resp.StatusCode)
	}
}

// goTransportGet fetches url through p's TLS listener with a clone of
// http.DefaultTransport, and returns the status code and body.
func goTransportGet(p *proxy, user *url.Userinfo, target string) (string, error) {
	return goTransportGetVia(p.tls, user, 0, target)
}

// goTransportGetVia is goTransportGet through the HTTPS proxy at addr,
// offering TLS up to version (0: the default).
func goTransportGetVia(addr string, user *url.Userinfo, version uint16, target string) (string, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(&url.URL{Scheme: "https", Host: addr, User: user})
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MaxVersion: version} // the proxy's and the origin's certificates
	// Closing the idle conns ends the tunnel, which writes its log line.
	defer tr.CloseIdleConnections()
	if !tr.ForceAttemptHTTP2 {
		return "", errors.New("the cloned default transport does not force HTTP/2: the test would prove nothing")
	}
	cl := &http.Client{Transport: tr, Timeout: waitLimit}
	resp, err := cl.Get(target)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return strconv.Itoa(resp.StatusCode) + " " + string(body), nil
}

// TestE2ETLSPlaintextGets400: a client configured for a plain-HTTP proxy on
// the TLS port (Python's urllib with an https:// proxy sends a plain
// CONNECT) gets the answer Go's net/http gives there, not a silent close.
func TestE2ETLSPlaintextGets400(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t)
	c := dialProxy(t, p.tls, false)
	if _, err := io.WriteString(c, connectReq("example.com:443")); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	if want := "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"; string(got) != want {
		t.Fatalf("plain CONNECT to the TLS port: got %q, want %q", got, want)
	}
}

// delayRelay forwards TCP conns to target, each chunk each way d late, as
// a path with a round trip of 2*d would.
func delayRelay(t *testing.T, target string, d time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	late := func(dst, src net.Conn) {
		type chunk struct {
			due time.Time
			b   []byte
		}
		q := make(chan chunk, 256)
		go func() {
			for c := range q {
				time.Sleep(time.Until(c.due))
				if _, err := dst.Write(c.b); err != nil {
					break
				}
			}
			_ = dst.(*net.TCPConn).CloseWrite()
		}()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{time.Now().Add(d), bytes.Clone(buf[:n])}
			}
			if err != nil {
				close(q)
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			t.Cleanup(func() { _ = c.Close(); _ = u.Close() })
			go late(u, c)
			go late(c, u)
		}
	}()
	return ln.Addr().String()
}

// TestE2ETLSALPNH2KeepAliveStaysHTTP1: on ALPN h2, a proxy user's forwarded
// request is served as HTTP/1.1 with keep-alive; a next request the proxy
// does not serve goes to the site as HTTP/1.1 too, not to HTTP/2 in the
// middle of an HTTP/1.1 conn.
func TestE2ETLSALPNH2KeepAliveStaysHTTP1(t *testing.T) {
	t.Parallel()
	authPath := filepath.Join(t.TempDir(), "htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "u", "p", "$2y$")+"\n")
	origin, _ := countingOrigin(t)
	oa := strings.TrimPrefix(origin.URL, "http://")
	p := startOpenProxy(t, "--auth-file", authPath, "--probe-resistance", "--allow-forward-ports", "all")
	for _, second := range []string{
		"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
		"GET http://" + oa + "/ HTTP/1.1\r\nHost: " + oa + "\r\n\r\n", // no credentials
	} {
		c := dialFrom(t, p.tls, true, "", "h2")
		_ = c.SetDeadline(time.Now().Add(waitLimit))
		if _, err := io.WriteString(c, "GET http://"+oa+"/ HTTP/1.1\r\nHost: "+oa+"\r\nProxy-Authorization: "+basic("u", "p")+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("the proxy user's request: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "path=/" {
			t.Fatalf("the proxy user's request: %d %q", resp.StatusCode, body)
		}
		if _, err := io.WriteString(c, second); err != nil {
			t.Fatal(err)
		}
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("then %q: %v; want an HTTP/1.1 answer from the site", strings.SplitN(second, "\r\n", 2)[0], err)
		}
		body, _ = io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "<html") {
			t.Fatalf("then %q: %d %.80q; want the site's page", strings.SplitN(second, "\r\n", 2)[0], resp.StatusCode, body)
		}
		_ = c.Close()
	}
}
