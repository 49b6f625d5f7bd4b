package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
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

// h2ClientConn opens an HTTP/2 conn to the proxy: TLS with ALPN h2, or h2c
// with prior knowledge on the plain listener.
func h2ClientConn(t *testing.T, p *proxy, useTLS bool) *http2.ClientConn {
	t.Helper()
	raw, err := net.DialTimeout("tcp", p.addr(useTLS), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	var c net.Conn = raw
	if useTLS {
		tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		if got := tc.ConnectionState().NegotiatedProtocol; got != "h2" {
			t.Fatalf("ALPN = %q; want h2", got)
		}
		c = tc
	}
	cc, err := (&http2.Transport{}).NewClientConn(c)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// h2Connect opens a CONNECT stream to target; the returned writer feeds the
// stream and the response body reads it.
func h2Connect(cc *http2.ClientConn, target string) (*http.Response, *io.PipeWriter, error) {
	pr, pw := io.Pipe()
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Host: target}, Host: target, Header: http.Header{}, Body: pr}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		pw.Close()
		return nil, nil, err
	}
	return resp, pw, nil
}

// Many CONNECT streams multiplexed on one HTTP/2 conn, each echoing its own
// bytes, over TLS and over h2c.
func TestH2ConnectManyStreams(t *testing.T) {
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
					resp, pw, err := h2Connect(cc, echo.addr())
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

// CONNECT errors over HTTP/2 get the same statuses as over HTTP/1.1.
func TestH2ConnectErrors(t *testing.T) {
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
		resp, pw, err := h2Connect(cc, tc.target)
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

// The site answers ordinary requests over HTTP/2 too.
func TestH2Site(t *testing.T) {
	t.Parallel()
	p := startProxy(t)
	for _, useTLS := range []bool{true, false} {
		cc := h2ClientConn(t, p, useTLS)
		for path, want := range map[string]int{"/": 200, "/nope": 404} {
			req, _ := http.NewRequest(http.MethodGet, "https://localhost"+path, nil)
			resp, err := cc.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want || (want == 200 && !bytes.Contains(body, []byte("Welcome"))) {
				t.Errorf("tls=%v GET %s: %d %q; want %d", useTLS, path, resp.StatusCode, body, want)
			}
		}
	}
}

// h2spec in strict mode against the real server, over h2c and over TLS:
// every one of its 146 cases must pass, none skipped.
func TestH2Spec(t *testing.T) {
	p := startProxy(t)
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			host, port, _ := net.SplitHostPort(p.addr(useTLS))
			n, _ := strconv.Atoi(port)
			conf := &h2specconfig.Config{Host: host, Port: n, Path: "/", Timeout: 2 * time.Second, MaxHeaderLen: 4000,
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

// Headless Chromium with the proxy as its HTTPS proxy loads a page from a
// local HTTPS origin; the access log shows the tunnel went over HTTP/2.
func TestChromiumThroughHTTPSProxy(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not installed (.ci/run installs Debian's chromium): ", err)
	}
	token := fmt.Sprintf("sluice-token-%d", time.Now().UnixNano())
	origin := httpsOriginBody(t, "<html><body><p id=t>"+token+"</p></body></html>")
	p := startOpenProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(),
		"--proxy-server=https://"+p.tls, "--proxy-bypass-list=<-loopback>",
		"--ignore-certificate-errors", "--dump-dom", origin.URL+"/")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), token) {
		t.Fatalf("page through the proxy lacks the token; chromium printed:\n%s", out)
	}
	target := strings.TrimPrefix(origin.URL, "https://")
	l := p.waitLog(target)
	if l.str("proto") != "h2" || l.num("status") != 200 {
		t.Fatalf("access log for %s: proto %q status %d; want h2 200: %v", target, l.str("proto"), l.num("status"), l)
	}
}

func httpsOriginBody(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Graceful drain over HTTP/2: the conn gets GOAWAY, takes no new stream,
// and its open tunnel keeps moving bytes until it ends; then shutdown
// returns.
func TestH2GracefulDrain(t *testing.T) {
	echo := startEcho(t)
	p := startOpenProxy(t)
	cc := h2ClientConn(t, p, true)
	resp, pw, err := h2Connect(cc, echo.addr())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	roundTrip := func(msg string) {
		t.Helper()
		if _, err := pw.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q: got %q, %v", msg, buf, err)
		}
	}
	roundTrip("before")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- p.s.shutdown(ctx)
	}()
	p.stopped = true
	deadline := time.Now().Add(waitLimit)
	for cc.CanTakeNewRequest() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if cc.CanTakeNewRequest() {
		t.Fatal("no GOAWAY: the client conn still takes new requests after shutdown began")
	}
	roundTrip("during the drain")
	select {
	case err := <-done:
		t.Fatalf("shutdown returned (%v) while a tunnel was open", err)
	default:
	}
	pw.Close() // END_STREAM: the echo origin closes, the tunnel ends
	_, _ = io.ReadAll(resp.Body)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("shutdown did not return after the last tunnel ended")
	}
}

// An HTTP/2 client that stops reading a CONNECT stream: once the stream's
// window and the proxy's buffer are full the proxy stops reading the
// upstream (its memory for the tunnel stays near --buffer-size), and when
// the client reads again every byte arrives in order.
func TestH2SlowReaderPausesUpstream(t *testing.T) {
	data := make([]byte, 32<<20)
	_, _ = rand.Read(data)
	ln := funcOrigin(t, func(c net.Conn) {
		defer c.Close()
		_, _ = c.Write(data)
	})
	p := startOpenProxy(t, "--buffer-size", "262144", "--splice-after", "0")
	cc := h2ClientConn(t, p, true)
	resp, pw, err := h2Connect(cc, ln.Addr().String())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	defer pw.Close()
	waitParked(t, p) // the client reads nothing yet
	got, err := io.ReadAll(resp.Body)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("got %d of %d bytes (err %v) after reading resumed", len(got), len(data), err)
	}
}
