package main

// End-to-end tests of NaïveProxy padding: a client that pads as
// NaïveProxy's does runs TLS and GET / to an HTTPS origin through HTTP/2
// and HTTP/3 tunnels; clients that do not ask for padding, HTTP/1.1
// tunnels, a proxy with --padding off and a bad type list are relayed or
// answered as they should be.

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// naiveTunnel opens a CONNECT for target over proto ("h2" or "h3") with
// hdr and returns the response and the stream as reader and writer.
func naiveTunnel(t *testing.T, p *proxy, proto, target string, hdr http.Header) (*http.Response, io.Reader, io.Writer, func()) {
	t.Helper()
	if proto == "h3" {
		rs, resp := h3Connect(t, h3Conn(t, p, nil), target, hdr)
		return resp, rs, rs, func() { rs.CancelRead(0); _ = rs.Close() }
	}
	resp, pw, err := h2Connect(h2ClientConn(t, p, true), target, hdr)
	if err != nil {
		t.Fatalf("h2 CONNECT %s: %v", target, err)
	}
	return resp, resp.Body, pw, func() { _ = pw.Close(); _ = resp.Body.Close() }
}

// TestE2EPaddingNaiveClient: over HTTP/2 and HTTP/3 a NaïveProxy-style
// client gets padding-type-reply: 1 and an incompressible padding value of
// 30 to 62 characters, then runs a TLS handshake and GET / through the
// padded tunnel, the proxy's frames padded; and 20 echoes, of which the
// first 8 each way are padded frames and the rest raw bytes.
func TestE2EPaddingNaiveClient(t *testing.T) {
	t.Parallel()
	origin := httpsOrigin(t)
	echo := startEcho(t)
	p := startOpenProxy(t)
	for _, proto := range []string{"h2", "h3"} {
		t.Run(proto, func(t *testing.T) {
			resp, r, w, stop := naiveTunnel(t, p, proto, hostOf(origin), naiveHeaders())
			defer stop()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Padding-Type-Reply"); got != "1" {
				t.Errorf("padding-type-reply = %q; want 1", got)
			}
			v := resp.Header.Get("Padding")
			if len(v) < 30 || len(v) > 62 || !incompressible(v) {
				t.Errorf("padding value %q: want 30 to 62 characters HPACK cannot shorten", v)
			}
			nc := newNaiveConn(r, w, stop)
			watchdog := time.AfterFunc(waitLimit, stop)
			defer watchdog.Stop()
			status, body := getOverTLS(t, nc, origin, "/naive")
			if status != 200 || body != "origin says /naive" {
				t.Fatalf("GET through the padded tunnel: %d %q", status, body)
			}
			if nc.got < 2 || nc.padSeen == 0 {
				// The server's handshake flight and its response: a frame each.
				t.Errorf("read %d padded frames with %d bytes of padding; want at least 2, padded", nc.got, nc.padSeen)
			}
		})
		t.Run(proto+"/past-8-frames", func(t *testing.T) {
			// 20 echoes: the first 8 each way padded, the rest raw.
			resp, r, w, stop := naiveTunnel(t, p, proto, echo.addr(), naiveHeaders())
			defer stop()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			watchdog := time.AfterFunc(waitLimit, stop)
			defer watchdog.Stop()
			nc := newNaiveConn(r, w, stop)
			for i := 0; i < 20; i++ {
				msg := bytes.Repeat([]byte{byte('a' + i)}, 1+i*50)
				expectEcho(t, nc, nc, msg)
			}
			if nc.got != naiveFrames || nc.sent != naiveFrames {
				t.Errorf("frames read %d, sent %d; want %d each", nc.got, nc.sent, naiveFrames)
			}
		})
	}
	lines := p.waitLines("padded tunnels", 2, func(l logLine) bool { return l.str("target") == hostOf(origin) })
	for _, l := range lines {
		// What the origin saw, unpadded: a TLS handshake and a GET, far
		// less than the padded bytes the client sent.
		if l.num("status") != 200 || l.num("bytes_up") == 0 || l.num("bytes_down") == 0 {
			t.Errorf("access log %v", l)
		}
	}
}

// TestE2EPaddingFastOpen: padded bytes the client sends before the 200
// (NaïveProxy's fastopen) reach the upstream unpadded and in order, over
// HTTP/2 and HTTP/3: the DNS answer is held back until the client's
// writes returned, so no 200 can come first.
func TestE2EPaddingFastOpen(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	for _, proto := range []string{"h2", "h3"} {
		t.Run(proto, func(t *testing.T) {
			dns, release := gatedLoopbackDNS(t)
			p := startOpenProxy(t, "--resolver", dns)
			target := "early-" + proto + ".test:" + strconv.Itoa(echo.port())
			hdr := naiveHeaders()
			hdr.Set("Fastopen", "1")
			type answer struct {
				resp *http.Response
				r    io.Reader
				w    io.Writer
				stop func()
			}
			// The stream's writer exists once the request is sent; the
			// response waits for the held DNS.
			opened := make(chan answer, 1)
			writers := make(chan io.Writer, 1)
			go func() {
				resp, r, w, stop := naiveTunnelEarly(t, p, proto, target, hdr, writers)
				opened <- answer{resp, r, w, stop}
			}()
			nc := newNaiveConn(nil, <-writers, func() {})
			want := []byte("early bytes, padded, before the 200")
			if _, err := nc.Write(want[:5]); err != nil {
				t.Fatal(err)
			}
			if _, err := nc.Write(want[5:]); err != nil {
				t.Fatal(err)
			}
			release() // the bytes are on their way before any 200 can exist

			a := <-opened
			defer a.stop()
			if a.resp.StatusCode != 200 {
				t.Fatalf("status %d", a.resp.StatusCode)
			}
			nc.r.Reset(a.r)
			got := make([]byte, len(want))
			watchdog := time.AfterFunc(waitLimit, a.stop)
			defer watchdog.Stop()
			if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("echo of the early bytes: %q (%v); want %q", got, err, want)
			}
		})
	}
}

// naiveTunnelEarly is naiveTunnel that hands over the stream's writer as
// soon as the request is out, before the response.
func naiveTunnelEarly(t *testing.T, p *proxy, proto, target string, hdr http.Header, writers chan<- io.Writer) (*http.Response, io.Reader, io.Writer, func()) {
	if proto == "h3" {
		cc := h3Conn(t, p, nil)
		rs, err := cc.OpenRequestStream(t.Context())
		if err != nil {
			t.Error(err)
			return nil, nil, nil, nil
		}
		req, _ := http.NewRequest(http.MethodConnect, "https://"+target, nil)
		req.Host, req.Header = target, hdr
		if err := rs.SendRequestHeader(req); err != nil {
			t.Error(err)
		}
		writers <- rs
		resp, err := rs.ReadResponse()
		if err != nil {
			t.Error(err)
			return &http.Response{}, rs, rs, func() {}
		}
		return resp, rs, rs, func() { rs.CancelRead(0); _ = rs.Close() }
	}
	pr, pw := io.Pipe()
	writers <- pw
	req, _ := http.NewRequest(http.MethodConnect, "https://"+target, pr)
	req.Host, req.Header = target, hdr
	resp, err := h2ClientConn(t, p, true).RoundTrip(req)
	if err != nil {
		t.Error(err)
		return &http.Response{}, pr, pw, func() {}
	}
	return resp, resp.Body, pw, func() { _ = pw.Close(); _ = resp.Body.Close() }
}

// TestE2EPaddingNotAsked: a client that sends no padding headers gets a
// 200 that says nothing of padding, and bytes shaped like padded frames
// pass unchanged, over HTTP/2 and HTTP/3; so do they over HTTP/1.1 CONNECT
// even with a padding header, which never switches padding on there.
func TestE2EPaddingNotAsked(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	frameShaped := append([]byte{0x00, 0x05, 0xfc}, "hello"...)
	frameShaped = append(frameShaped, make([]byte, 0xfc)...)
	for _, proto := range []string{"h2", "h3"} {
		t.Run(proto, func(t *testing.T) {
			resp, r, w, stop := naiveTunnel(t, p, proto, echo.addr(), nil)
			defer stop()
			watchdog := time.AfterFunc(waitLimit, stop)
			defer watchdog.Stop()
			if resp.StatusCode != 200 || resp.Header.Get("Padding") != "" || resp.Header.Get("Padding-Type-Reply") != "" {
				t.Fatalf("200 to a client that did not ask: %d %v", resp.StatusCode, resp.Header)
			}
			expectEcho(t, r, w, frameShaped)
		})
	}
	t.Run("h1", func(t *testing.T) {
		c := dialProxy(t, p.plain, false)
		req := "CONNECT " + echo.addr() + " HTTP/1.1\r\nHost: " + echo.addr() + "\r\nPadding: " +
			naiveHeaders().Get("Padding") + "\r\nPadding-Type-Request: 1, 0\r\n\r\n"
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(waitLimit))
		head := make([]byte, len(established))
		if _, err := io.ReadFull(c, head); err != nil || string(head) != established {
			t.Fatalf("HTTP/1.1 CONNECT with a padding header: %q (%v); want exactly %q, no padding field", head, err, established)
		}
		expectEcho(t, c, c, frameShaped)
	})
}

// expectEcho writes msg and reads it back unchanged.
func expectEcho(t *testing.T, r io.Reader, w io.Writer, msg []byte) {
	t.Helper()
	wrote := make(chan error, 1)
	go func() { _, err := w.Write(msg); wrote <- err }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %x (%v); want %x", got, err, msg)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("write: %v", err)
	}
}

// TestE2EPaddingOff: with --padding=false a NaïveProxy client is told
// padding-type-reply: 0 and its bytes are relayed raw; a type list with a
// token other than 0 or 1 first gets 400 on HTTP/2 and HTTP/3, logged.
func TestE2EPaddingOff(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	off := startOpenProxy(t, "--padding=false")
	on := startOpenProxy(t)
	for _, proto := range []string{"h2", "h3"} {
		t.Run(proto+"/off", func(t *testing.T) {
			resp, r, w, stop := naiveTunnel(t, off, proto, echo.addr(), naiveHeaders())
			defer stop()
			watchdog := time.AfterFunc(waitLimit, stop)
			defer watchdog.Stop()
			if resp.StatusCode != 200 || resp.Header.Get("Padding-Type-Reply") != "0" || resp.Header.Get("Padding") != "" {
				t.Fatalf("--padding=false: %d %v; want padding-type-reply: 0 and no padding value", resp.StatusCode, resp.Header)
			}
			expectEcho(t, r, w, []byte("raw, as the reply said"))
		})
		t.Run(proto+"/bad-type", func(t *testing.T) {
			hdr := naiveHeaders()
			hdr.Set("Padding-Type-Request", "2, 1")
			resp, _, _, stop := naiveTunnel(t, on, proto, echo.addr(), hdr)
			stop()
			if resp.StatusCode != 400 {
				t.Errorf("padding-type-request 2, 1: status %d; want 400", resp.StatusCode)
			}
		})
		t.Run(proto+"/later-type", func(t *testing.T) {
			hdr := naiveHeaders()
			hdr.Set("Padding-Type-Request", "1, 7") // types after the winner are not read
			resp, _, _, stop := naiveTunnel(t, on, proto, echo.addr(), hdr)
			stop()
			if resp.StatusCode != 200 || resp.Header.Get("Padding-Type-Reply") != "1" {
				t.Errorf("padding-type-request 1, 7: %d %v; want Variant1", resp.StatusCode, resp.Header)
			}
		})
	}
	lines := on.waitLines("bad type lists", 2, func(l logLine) bool { return l.num("status") == 400 })
	for _, l := range lines {
		if l.str("reason") != "bad_request" {
			t.Errorf("logged %v", l)
		}
	}
}

// gatedLoopbackDNS answers every query as loopbackDNS does, but only once
// release was called; queries before that wait.
func gatedLoopbackDNS(t *testing.T) (addr string, release func()) {
	t.Helper()
	gate := make(chan struct{})
	addr = dnsServer(t, func(q []byte, reply func([]byte)) {
		go func() {
			<-gate
			if resp, _ := answerLoopback(q); resp != nil {
				reply(resp)
			}
		}()
	})
	var once bool
	return addr, func() {
		if !once {
			once = true
			close(gate)
		}
	}
}
