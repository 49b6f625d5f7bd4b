package main

// End-to-end tests of the SNI listener (--listen-sni): clients with no
// proxy settings, their names pointed at the proxy, reach a local HTTPS
// origin through it: curl, Chromium and Go's crypto/tls, the last with a
// ClientHello over 1,500 bytes split over two writes and one split over
// two TLS records. Connections that cannot be routed are closed and
// logged, and never reach an origin.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sniProxy runs sluice with an SNI listener relaying to port, names
// resolved to 127.0.0.1 by a local DNS server.
func sniProxy(t *testing.T, port int, args ...string) *proxy {
	t.Helper()
	dns, _ := loopbackDNS(t)
	return startOpenProxy(t, append([]string{"--listen-sni", "127.0.0.1:0", "--sni-port", strconv.Itoa(port), "--resolver", dns}, args...)...)
}

func (p *proxy) sni() string { return p.s.addrs["listen-sni"].String() }

func originPort(o *httptest.Server) int {
	return o.Listener.Addr().(*net.TCPAddr).Port
}

// TestE2ESNICurl: curl with --connect-to (no proxy settings) fetches from
// the origin through the SNI listener; the log names the SNI as target.
func TestE2ESNICurl(t *testing.T) {
	t.Parallel()
	origin := httpsOrigin(t)
	p := sniProxy(t, originPort(origin))
	out := runCurl(t, "-k", "--connect-to", "sni-curl.test:443:"+p.sni(), "https://sni-curl.test/curl")
	if out != "origin says /curl" {
		t.Fatalf("curl through the SNI listener got %q", out)
	}
	l := p.waitLog("sni-curl.test:" + strconv.Itoa(originPort(origin)))
	if l.str("proto") != "sni" || l.num("status") != 200 || l.num("bytes_up") == 0 || l.num("bytes_down") == 0 {
		t.Errorf("access log %v", l)
	}
}

// TestE2ESNIChromium: headless Chromium, its resolver mapping the name to
// the proxy, loads a page from the origin through the SNI listener.
func TestE2ESNIChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not installed (.ci/run installs Debian's chromium): ", err)
	}
	token := fmt.Sprintf("sni-token-%d", time.Now().UnixNano())
	origin := httpsOriginBody(t, "<html><body><p id=t>"+token+"</p></body></html>")
	p := sniProxy(t, originPort(origin))
	_, sniPort, _ := net.SplitHostPort(p.sni())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--host-resolver-rules=MAP sni-chromium.test 127.0.0.1",
		"--ignore-certificate-errors", "--dump-dom", "https://sni-chromium.test:"+sniPort+"/")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), token) {
		t.Fatalf("page through the SNI listener lacks the token; chromium printed:\n%s", out)
	}
	if l := p.waitLog("sni-chromium.test:" + strconv.Itoa(originPort(origin))); l.str("proto") != "sni" || l.num("status") != 200 {
		t.Errorf("access log %v", l)
	}
}

// TestE2ESNIGoClientHellos: Go's client through the SNI listener with a
// post-quantum key share (a ClientHello over 1,500 bytes) written in two
// pieces, and with its ClientHello re-framed as two TLS records; both
// complete the handshake with the origin and GET.
func TestE2ESNIGoClientHellos(t *testing.T) {
	t.Parallel()
	origin := httpsOrigin(t)
	p := sniProxy(t, originPort(origin))
	pool := x509.NewCertPool()
	pool.AddCert(origin.Certificate())
	for _, tc := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"large-two-segments", func(c net.Conn) net.Conn { return &firstWrite{Conn: c, split: splitAt(700)} }},
		{"two-records", func(c net.Conn) net.Conn { return &firstWrite{Conn: c, split: twoRecords} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := net.DialTimeout("tcp", p.sni(), waitLimit)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			_ = raw.SetDeadline(time.Now().Add(waitLimit))
			fw := tc.wrap(raw)
			c := tls.Client(fw, &tls.Config{ServerName: "example.com", RootCAs: pool, NextProtos: []string{"h2", "http/1.1"},
				CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519}})
			// example.com is in httptest's certificate; the proxy routes it.
			if err := c.Handshake(); err != nil {
				t.Fatalf("TLS through the SNI listener: %v", err)
			}
			if n := fw.(*firstWrite).n; tc.name == "large-two-segments" && n <= 1500 {
				t.Errorf("the ClientHello was %d bytes; want over 1,500 (a post-quantum key share)", n)
			}
			fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", tc.name)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "origin says /"+tc.name {
				t.Fatalf("body %q", body)
			}
		})
	}
}

// firstWrite hands the first Write (the ClientHello) down as the pieces
// split makes of it, with a pause between them so they reach the proxy
// apart.
type firstWrite struct {
	net.Conn
	split func([]byte) [][]byte
	n     int // the first write's length
	done  bool
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if f.done {
		return f.Conn.Write(p)
	}
	f.done, f.n = true, len(p)
	for i, piece := range f.split(p) {
		if i > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := f.Conn.Write(piece); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func splitAt(n int) func([]byte) [][]byte {
	return func(b []byte) [][]byte { return [][]byte{b[:min(n, len(b))], b[min(n, len(b)):]} }
}

// twoRecords re-frames one handshake record as two (RFC 8446 section
// 5.1 lets a handshake message span records), sent apart.
func twoRecords(b []byte) [][]byte {
	if len(b) < 5 || b[0] != 0x16 {
		return [][]byte{b}
	}
	n := int(binary.BigEndian.Uint16(b[3:5]))
	body, rest := b[5:5+n], b[5+n:]
	half := len(body) / 2
	rec := func(p []byte) []byte {
		return append([]byte{0x16, b[1], b[2], byte(len(p) >> 8), byte(len(p))}, p...)
	}
	return [][]byte{rec(body[:half]), append(rec(body[half:]), rest...)}
}

// TestE2ESNIRefused: what cannot be routed is closed and logged with its
// reason, and the origin is never dialed: an SNI the ACL denies (a TLS
// alert first), no SNI, garbage, an HTTP request, a CONNECT, and a
// ClientHello slower than --header-timeout.
func TestE2ESNIRefused(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	aclPath := filepath.Join(t.TempDir(), "acl.map")
	writeFileAtomic(t, aclPath, "denied-sni.test 2\ndefault 1\n")
	p := sniProxy(t, echo.port(), "--acl", aclPath, "--header-timeout", "300ms")
	cases := []struct {
		name   string
		send   func(t *testing.T, c net.Conn)
		reason string
	}{
		{"acl", func(t *testing.T, c net.Conn) { helloFor(t, c, "denied-sni.test") }, "acl"},
		{"no-sni", func(t *testing.T, c net.Conn) { helloFor(t, c, "") }, "no_sni"},
		{"garbage", func(_ *testing.T, c net.Conn) { _, _ = c.Write([]byte("\x00\x01garbage, not TLS at all\r\n")) }, "not_tls"},
		{"http", func(_ *testing.T, c net.Conn) { _, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") }, "http_on_sni_port"},
		{"connect", func(_ *testing.T, c net.Conn) {
			_, _ = io.WriteString(c, "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n")
		}, "http_on_sni_port"},
		{"slow", func(_ *testing.T, c net.Conn) { _, _ = c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}) }, "slow_client_hello"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", p.sni(), waitLimit)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(waitLimit))
			tc.send(t, c)
			got, err := io.ReadAll(c)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("still open %v later: a refused SNI connection must be closed", waitLimit)
			}
			if tc.name == "acl" && (len(got) != 7 || got[0] != 0x15 || got[6] != 49) {
				t.Errorf("ACL denial sent %x; want a TLS access_denied alert", got)
			}
		})
	}
	for _, tc := range cases {
		lines := p.waitLines(tc.name, 1, func(l logLine) bool { return l.str("reason") == tc.reason && l.str("proto") == "sni" })
		if tc.reason == "acl" && (lines[0].num("status") != 403 || lines[0].num("acl") != 2) {
			t.Errorf("ACL denial logged %v", lines[0])
		}
	}
	if n := echo.count(); n != 0 {
		t.Errorf("the origin was dialed %d times past a refusal", n)
	}
}

// helloFor sends a Go ClientHello for name (none when empty) and nothing
// more: the handshake waits, unanswered, until the test ends.
func helloFor(t *testing.T, c net.Conn, name string) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	tc := tls.Client(&writeOnly{Conn: c, stop: stop}, &tls.Config{ServerName: name, InsecureSkipVerify: true})
	go func() { _ = tc.Handshake() }()
}

// writeOnly lets TLS write to c but not read from it, so the test reads
// what the proxy answers.
type writeOnly struct {
	net.Conn
	stop chan struct{}
}

func (w *writeOnly) Read([]byte) (int, error) { <-w.stop; return 0, io.EOF }

// TestE2ESNIDefault: with --sni-default, a ClientHello without SNI goes
// there.
func TestE2ESNIDefault(t *testing.T) {
	t.Parallel()
	origin := httpsOrigin(t)
	p := sniProxy(t, originPort(origin), "--sni-default", "default-sni.test")
	pool := x509.NewCertPool()
	pool.AddCert(origin.Certificate())
	raw, err := net.DialTimeout("tcp", p.sni(), waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(waitLimit))
	// No ServerName: Go sends no SNI; verify the origin by hand.
	c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	if err := c.Handshake(); err != nil {
		t.Fatalf("TLS without SNI through --sni-default: %v", err)
	}
	if !c.ConnectionState().PeerCertificates[0].Equal(origin.Certificate()) {
		t.Fatal("the handshake reached another server than --sni-default")
	}
	_ = c.Close() // the tunnel's log line is written when it ends
	if l := p.waitLog("default-sni.test:" + strconv.Itoa(originPort(origin))); l.num("status") != 200 {
		t.Errorf("access log %v", l)
	}
}
