package main

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
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
// proxy and then sends an HTTP/1.1 CONNECT: it is served as HTTP/1.1.
func TestE2ETLSGoTransportOffersH2(t *testing.T) {
	t.Parallel()
	origin := httpsOrigin(t)
	p := startOpenProxy(t)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(&url.URL{Scheme: "https", Host: p.tls})
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the proxy's and the origin's certificates
	defer tr.CloseIdleConnections()
	if !tr.ForceAttemptHTTP2 {
		t.Fatal("the cloned default transport does not force HTTP/2: the test would prove nothing")
	}
	cl := &http.Client{Transport: tr, Timeout: waitLimit}
	resp, err := cl.Get(origin.URL + "/via-default-transport")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "origin says /via-default-transport" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	tr.CloseIdleConnections() // the tunnel's line is written when it ends
	if l := p.waitLog(hostOf(origin)); l.str("proto") != "h1" || l.num("status") != 200 {
		t.Errorf("access log: %v; want an h1 tunnel", l)
	}
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
