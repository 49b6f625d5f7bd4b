package main

// End-to-end tests of the HTTP/2 front end (TLS with ALPN h2, and h2c with
// prior knowledge): CONNECT streams, their statuses, malformed targets, and
// h2spec in strict mode. Flow control is in h2_flow_e2e_test.go.

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	h2specconfig "github.com/summerwind/h2spec/config"
	"github.com/summerwind/h2spec/generic"
	h2spechpack "github.com/summerwind/h2spec/hpack"
	h2spechttp2 "github.com/summerwind/h2spec/http2"
	"github.com/summerwind/h2spec/spec"
	"golang.org/x/net/http2"
)

// TestE2EH2ConnectManyStreams: 40 CONNECT streams multiplexed on one HTTP/2
// conn each echo their own 256 KiB, over TLS and over h2c, and each is
// logged as an h2 tunnel with status 200.
func TestE2EH2ConnectManyStreams(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	for _, useTLS := range []bool{true, false} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			cc := h2ClientConn(t, p, useTLS)
			const streams, size = 40, 256 << 10
			var wg sync.WaitGroup
			errs := make(chan error, streams)
			for i := range streams {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, pw, err := h2Connect(cc, echo.addr(), nil)
					if err != nil {
						errs <- fmt.Errorf("stream %d: %v", i, err)
						return
					}
					defer resp.Body.Close()
					if resp.StatusCode != 200 {
						errs <- fmt.Errorf("stream %d: status %d", i, resp.StatusCode)
						return
					}
					data := make([]byte, size)
					_, _ = rand.Read(data)
					go func() {
						_, _ = pw.Write(data)
						pw.Close() // END_STREAM: half-close toward the echo origin
					}()
					got, err := io.ReadAll(resp.Body)
					if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
						errs <- fmt.Errorf("stream %d: got %d bytes (err %v), want the %d sent", i, len(got), err, size)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
	lines := p.readLog()
	h2 := 0
	for _, l := range lines {
		if l.str("proto") == "h2" && l.num("status") == 200 {
			h2++
		}
	}
	if h2 != 80 {
		t.Errorf("%d h2 tunnel lines with status 200 in the access log; want 80", h2)
	}
}

// TestE2EH2ConnectErrors: CONNECT refusals over HTTP/2 get the same statuses
// as over HTTP/1.1: 403 for a port not allowed and for a private address,
// 502 for a DNS failure.
func TestE2EH2ConnectErrors(t *testing.T) {
	t.Parallel()
	p := startProxy(t, "--allow-ports", "443", "--connect-timeout", "2s")
	cc := h2ClientConn(t, p, true)
	for _, tc := range []struct {
		target string
		want   int
	}{
		{"127.0.0.1:8", 403},             // port not allowed
		{"127.0.0.1:443", 403},           // private address guard
		{"nonexistent.invalid:443", 502}, // DNS failure
	} {
		resp, pw, err := h2Connect(cc, tc.target, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.target, err)
		}
		pw.Close()
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("CONNECT %s over h2: status %d; want %d", tc.target, resp.StatusCode, tc.want)
		}
	}
}

// TestE2EH2ConnectStatuses: the dial outcomes of the README's "What clients
// see" table over HTTP/2, on both listeners (TLS with ALPN h2, and h2c),
// with a loopback resolver: 502 for a refused connect and for NXDOMAIN, 504
// when the connect timeout passes first. Each is answered with its status,
// not a reset, and logged as h2.
func TestE2EH2ConnectStatuses(t *testing.T) {
	t.Parallel()
	nx, nxAsked := nxdomainDNS(t)
	hole, holeAsked := silentDNS(t)
	refused := "127.0.0.1:" + strconv.Itoa(closedPort(t))
	pNX := startOpenProxy(t, "--resolver", nx)
	pHole := startOpenProxy(t, "--resolver", hole, "--connect-timeout", "300ms")
	for _, tc := range []struct {
		name   string
		p      *proxy
		target string
		want   int
	}{
		{"refused", pNX, refused, http.StatusBadGateway},
		{"nxdomain", pNX, "no-such-host.invalid:443", http.StatusBadGateway},
		{"connect-timeout", pHole, "blackhole.example:443", http.StatusGatewayTimeout},
	} {
		for _, useTLS := range []bool{true, false} {
			t.Run(tc.name+"/"+listenerName(useTLS), func(t *testing.T) {
				if got := h2Status(t, h2ClientConn(t, tc.p, useTLS), tc.target, nil).StatusCode; got != tc.want {
					t.Errorf("h2 CONNECT %s: status %d; want %d", tc.target, got, tc.want)
				}
			})
		}
	}
	if nxAsked() == 0 || holeAsked() == 0 {
		t.Errorf("the --resolver was not asked (nxdomain %d, blackhole %d queries)", nxAsked(), holeAsked())
	}
	for _, l := range []struct {
		p      *proxy
		target string
		status int64
	}{{pNX, refused, 502}, {pNX, "no-such-host.invalid:443", 502}, {pHole, "blackhole.example:443", 504}} {
		if got := l.p.waitLog(l.target); got.num("status") != l.status || got.str("proto") != "h2" {
			t.Errorf("access log for %s: %v; want proto h2, status %d", l.target, got, l.status)
		}
	}
}

// TestE2EH2ConnectBadTarget: a CONNECT whose :authority is not host:port
// gets 400 over HTTP/2, as over HTTP/1.1 (TestE2EErrorsBadRequests), and the
// connection stays usable for the next stream. The frames are written raw,
// since a Go client refuses to send most of these.
func TestE2EH2ConnectBadTarget(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	c := dialRawH2(t, p.plain)
	bad := []string{
		"example.com:443/",
		"example.com:443?",
		"u:p@example.com:443",
		"http://example.com:443",
		"example.com",
		"example.com:",
		":443",
		":",
		"example.com:65536",
		"example.com:0",
		"example.com:abc",
		"[fe80::1%25eth0]:443",
	}
	id := uint32(1)
	for _, target := range bad {
		c.connect(id, target)
		c.waitFor("an answer to CONNECT "+target, func() bool { return c.headers[id] != "" || c.resets[id] != 0 })
		c.mu.Lock()
		status, rst := c.headers[id], c.resets[id]
		c.mu.Unlock()
		if status != "400" {
			t.Errorf("h2 CONNECT %q: status %q, reset %v; want 400", target, status, rst)
		}
		id += 2
	}
	// The conn is still good: a valid CONNECT on it is answered 200.
	c.connect(id, echo.addr())
	c.waitFor("an answer to a valid CONNECT", func() bool { return c.headers[id] != "" || c.resets[id] != 0 })
	c.mu.Lock()
	status, rst := c.headers[id], c.resets[id]
	c.mu.Unlock()
	if status != "200" {
		t.Errorf("valid CONNECT after the bad ones: status %q, reset %v; want 200", status, rst)
	}
	c.write(func() error { return c.fr.WriteRSTStream(id, http2.ErrCodeCancel) })
}

// TestE2EH2cPriorKnowledge: the HTTP/2 preface on the plain port does not
// break the server: it is answered with an HTTP/2 SETTINGS frame (or, in a
// build without the HTTP/2 front end, with a 505 and a close), and a CONNECT
// on a new conn is served after it.
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

// TestE2EH2Spec: h2spec in strict mode against the real server, over h2c and
// over TLS: every one of its 146 cases passes, none skipped. The dummy
// fields are long enough for case 4.2/3's HEADERS to pass the default
// --h2-max-frame-size of 64 KiB.
func TestE2EH2Spec(t *testing.T) {
	p := startProxy(t)
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			host, port, _ := net.SplitHostPort(p.addr(useTLS))
			n, _ := strconv.Atoi(port)
			conf := &h2specconfig.Config{Host: host, Port: n, Path: "/", Timeout: 2 * time.Second, MaxHeaderLen: 16000,
				Strict: true, TLS: useTLS, Insecure: true}
			var passed, failed, skipped int
			var walk func(g *spec.TestGroup)
			walk = func(g *spec.TestGroup) {
				for _, tc := range append(g.Tests, g.StrictTests...) {
					if r := tc.Result; r != nil && (r.Failed || r.Skipped) {
						t.Errorf("h2spec %s/%d %q: failed=%v skipped=%v: %v", g.ID(), r.Sequence, tc.Desc, r.Failed, r.Skipped, r.Error)
					}
				}
				for _, sg := range g.Groups {
					walk(sg)
				}
			}
			for _, g := range []*spec.TestGroup{generic.Spec(), h2spechttp2.Spec(), h2spechpack.Spec()} {
				g.Test(conf)
				passed, failed, skipped = passed+g.PassedCount, failed+g.FailedCount, skipped+g.SkippedCount
				walk(g)
			}
			t.Logf("h2spec strict against sluice: %d/%d passed, %d failed, %d skipped", passed, passed+failed+skipped, failed, skipped)
			if passed != 146 || failed+skipped != 0 {
				t.Fatalf("h2spec strict: %d passed, %d failed, %d skipped; want 146/146", passed, failed, skipped)
			}
		})
	}
}
