package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/sluice-proxy/sluice/engine"
)

// TestE2EH3ConnectManyStreams: 50 CONNECT streams at once on one QUIC
// connection, each carrying 256 KiB to an echo origin and back, byte-exact,
// then a FIN both ways; the access log has an h3 line for each, with every
// field the other protocols log.
func TestE2EH3ConnectManyStreams(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	cc := h3Conn(t, p, nil)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, resp := h3Connect(t, cc, echo.addr(), nil)
			if resp.StatusCode != 200 {
				t.Errorf("stream %d: CONNECT status %d", i, resp.StatusCode)
				return
			}
			data := make([]byte, 256<<10)
			_, _ = rand.Read(data)
			go func() {
				_, _ = rs.Write(data)
				_ = rs.Close() // FIN: the echo origin then closes too
			}()
			got, err := io.ReadAll(rs)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("stream %d: echoed %d of %d bytes (%v)", i, len(got), len(data), err)
			}
		}()
	}
	wg.Wait()
	lines := p.waitLines("h3 tunnels", 50, func(l logLine) bool { return l.str("proto") == "h3" })
	for _, l := range lines[:1] {
		checkLogFields(t, l)
		if l.num("status") != 200 || l.num("bytes_up") != 256<<10 || l.num("bytes_down") != 256<<10 {
			t.Errorf("access log %v", l)
		}
	}
}

// TestE2EH3HalfClose: 10 MiB to a sink, the client's FIN, and the sink's
// digest of what it got still comes back on the half-closed stream.
func TestE2EH3HalfClose(t *testing.T) {
	t.Parallel()
	sink := funcOrigin(t, func(c net.Conn) {
		h := sha256.New()
		_, _ = io.Copy(h, c)
		_, _ = c.Write(h.Sum(nil))
	})
	p := startOpenProxy(t)
	rs, resp := h3Connect(t, h3Conn(t, p, nil), sink.Addr().String(), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT status %d", resp.StatusCode)
	}
	data := make([]byte, 10<<20)
	_, _ = rand.Read(data)
	if _, err := rs.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := rs.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rs)
	want := sha256.Sum256(data)
	if err != nil || !bytes.Equal(got, want[:]) {
		t.Fatalf("after the FIN the client read %x (%v); want the sink's digest %x", got, err, want)
	}
}

// TestE2EH3ConnectInteractive: writes of 1 to 200 bytes, each its own
// DATA frame, each answered before the next is sent (a shell session's
// keystrokes): every one is relayed at once, whatever its size against
// the proxy's read sizes.
func TestE2EH3ConnectInteractive(t *testing.T) {
	t.Parallel()
	rs := h3EchoTunnel(t)
	for _, n := range []int{1, 1, 2, 63, 64, 65, 1, 128, 200, 64, 1} {
		want := bytes.Repeat([]byte{byte(n)}, n)
		if _, err := rs.Write(want); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, n)
		if _, err := io.ReadFull(rs, got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("a %d-byte write: echoed %q (%v)", n, got, err)
		}
	}
}

// TestE2EH3ConnectSmallWritesInOrder: small writes sent back to back,
// without waiting for their echo, keep two reads in flight on the proxy
// (one in the stream's own buffer, one in a pooled one): every byte comes
// back once and in order.
func TestE2EH3ConnectSmallWritesInOrder(t *testing.T) {
	t.Parallel()
	rs := h3EchoTunnel(t)
	var want []byte
	for i := 0; len(want) < 12000; i++ {
		want = fmt.Appendf(want, "%d,", i) // no two stretches alike: a reordering shows
	}
	wrote := make(chan error, 1)
	go func() {
		for off, i := 0, 0; off < len(want); i++ {
			n := min(1+i%5, len(want)-off)
			if _, err := rs.Write(want[off : off+n]); err != nil {
				wrote <- err
				return
			}
			off += n
		}
		wrote <- nil
	}()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(rs, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("the echo differs from byte %d of %d", i, len(want))
	}
}

// h3EchoTunnel opens a CONNECT stream through a fresh proxy to an echo
// origin, with reads and writes bounded by waitLimit.
func h3EchoTunnel(t *testing.T) *http3.RequestStream {
	t.Helper()
	echo := startEcho(t)
	p := startOpenProxy(t)
	rs, resp := h3Connect(t, h3Conn(t, p, nil), echo.addr(), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT status %d", resp.StatusCode)
	}
	_ = rs.SetDeadline(time.Now().Add(waitLimit))
	return rs
}

// TestE2EH3Site: a request that is not a CONNECT gets the site, without
// an Alt-Svc (it is already on HTTP/3).
func TestE2EH3Site(t *testing.T) {
	t.Parallel()
	p := startProxy(t)
	tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr, Timeout: waitLimit}).Get("https://" + p.quic + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	// No Alt-Svc on HTTP/3 itself, as from quic-go's http3 servers: the
	// TLS listener's answers carry it (TestE2EH3AltSvc).
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("Welcome")) || resp.Header.Get("Alt-Svc") != "" {
		t.Fatalf("GET / over h3: %d %v %q", resp.StatusCode, resp.Header, body)
	}
}

// TestE2EH3ConnectStatuses: every refusal and dial failure of the README's
// table, over HTTP/3, with its status and its access-log line.
func TestE2EH3ConnectStatuses(t *testing.T) {
	t.Parallel()
	nx, _ := nxdomainDNS(t)
	hole, _ := silentDNS(t)
	refused := "127.0.0.1:" + strconv.Itoa(closedPort(t))
	aclPath := filepath.Join(t.TempDir(), "acl")
	writeFileAtomic(t, aclPath, "denied.example 0\ndefault 1\n")
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bob-pw", "$2y$")+"\n")
	open := startOpenProxy(t, "--resolver", nx, "--acl", aclPath)
	guarded := startProxy(t, "--allow-ports", "443")
	hole2 := startOpenProxy(t, "--resolver", hole, "--connect-timeout", "300ms")
	auth := startOpenProxy(t, "--auth-file", authPath)
	for _, tc := range []struct {
		name   string
		p      *proxy
		target string
		hdr    http.Header
		want   int
		reason string
	}{
		{"bad-authority", open, "example.com", nil, 400, "bad_request"},
		{"port", guarded, "example.com:8", nil, 403, "port"},
		{"acl", open, "denied.example:443", nil, 403, "acl"},
		{"private", guarded, "127.0.0.1:443", nil, 403, "private_address"},
		{"auth", auth, refused, nil, 407, "auth"},
		{"refused", open, refused, nil, 502, "connect_failed"},
		{"nxdomain", open, "no-such-host.invalid:443", nil, 502, "dns"},
		{"timeout", hole2, "blackhole.example:443", nil, 504, "connect_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp := h3Connect(t, h3Conn(t, tc.p, nil), tc.target, tc.hdr)
			if resp.StatusCode != tc.want {
				t.Errorf("h3 CONNECT %s: status %d; want %d", tc.target, resp.StatusCode, tc.want)
			}
			if tc.want == 407 && resp.Header.Get("Proxy-Authenticate") == "" {
				t.Error("407 over h3 without a Proxy-Authenticate challenge")
			}
			l := tc.p.waitLog(tc.target)
			if l.num("status") != int64(tc.want) || l.str("reason") != tc.reason || l.str("proto") != "h3" {
				t.Errorf("access log %v; want status %d, reason %s, proto h3", l, tc.want, tc.reason)
			}
		})
	}
	// 10 wrong passwords, then 429.
	cc := h3Conn(t, auth, nil)
	last := 0
	for i := 0; i < 11; i++ {
		_, resp := h3Connect(t, cc, "guess.example:443", authH2("bob", "wrong-"+strconv.Itoa(i)))
		last = resp.StatusCode
	}
	if last != 429 {
		t.Errorf("the 11th wrong password over h3: %d; want 429", last)
	}
}

// TestE2EH3SlowReaderBoundsMemory: a client that reads nothing while the
// upstream sends 64 MiB makes the proxy stop reading the upstream: its heap
// grows by no more than a few times --buffer-size plus the QUIC windows, and
// once the client reads, every byte arrives.
func TestE2EH3SlowReaderBoundsMemory(t *testing.T) {
	data := make([]byte, 64<<20)
	_, _ = rand.Read(data)
	sent := make(chan struct{})
	ln := funcOrigin(t, func(c net.Conn) {
		_, _ = c.Write(data)
		close(sent)
	})
	p := startOpenProxy(t, "--buffer-size", "256KiB")
	// The client lets at most 1 MiB of the stream in unread.
	qc := &quic.Config{InitialStreamReceiveWindow: 512 << 10, MaxStreamReceiveWindow: 1 << 20, InitialConnectionReceiveWindow: 1 << 20, MaxConnectionReceiveWindow: 2 << 20}
	rs, resp := h3Connect(t, h3Conn(t, p, qc), ln.Addr().String(), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT status %d", resp.StatusCode)
	}
	grew := heapGrowthForASecond()
	select {
	case <-sent:
		t.Fatal("the origin could write all 64 MiB while the client read nothing: nothing held it back")
	default:
	}
	if grew > 16<<20 {
		t.Errorf("heap grew by %d MiB while the client read nothing; want a bounded few", grew>>20)
	}
	h := sha256.New()
	n, err := io.Copy(h, rs)
	if err != nil || n != int64(len(data)) || !bytes.Equal(h.Sum(nil), sha256Sum(data)) {
		t.Fatalf("after reading resumed: %d of %d bytes (%v)", n, len(data), err)
	}
}

// TestE2EH3SlowUpstreamHoldsClient: a client that uploads 64 MiB to an
// upstream that reads nothing is held back: the proxy stops reading the
// stream, so QUIC's flow control stops the client, and its heap stays
// bounded; once the upstream reads, every byte arrives in order.
func TestE2EH3SlowUpstreamHoldsClient(t *testing.T) {
	data := make([]byte, 64<<20)
	_, _ = rand.Read(data)
	release := make(chan struct{})
	var once sync.Once
	letRead := func() { once.Do(func() { close(release) }) }
	got := make(chan []byte, 1)
	ln := funcOrigin(t, func(c net.Conn) {
		<-release
		h := sha256.New()
		_, _ = io.Copy(h, c)
		got <- h.Sum(nil)
	})
	p := startOpenProxy(t, "--buffer-size", "256KiB")
	t.Cleanup(letRead) // runs first: a failed test must not leave the origin, or the proxy's drain, waiting
	rs, resp := h3Connect(t, h3Conn(t, p, nil), ln.Addr().String(), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT status %d", resp.StatusCode)
	}
	sent := make(chan error, 1)
	go func() {
		_, err := rs.Write(data)
		if err == nil {
			err = rs.Close() // the FIN
		}
		sent <- err
	}()
	grew := heapGrowthForASecond()
	select {
	case err := <-sent:
		t.Fatalf("the client could send all 64 MiB (%v) while the upstream read nothing: nothing held it back", err)
	default:
	}
	if grew > 24<<20 {
		t.Errorf("heap grew by %d MiB while the upstream read nothing; want a bounded few", grew>>20)
	}
	letRead()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatalf("sending once the upstream reads: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("the client's upload never finished once the upstream read")
	}
	select {
	case sum := <-got:
		if !bytes.Equal(sum, sha256Sum(data)) {
			t.Fatal("the upstream got other bytes than the client sent")
		}
	case <-time.After(waitLimit):
		t.Fatal("the upstream never saw the client's FIN")
	}
}

// heapGrowthForASecond is how far the heap grew, at its peak, over the
// second in which a stalled tunnel's proxy fills its buffers and stops.
func heapGrowthForASecond() int64 {
	before := heapInUse()
	var peak uint64
	for i := 0; i < 50; i++ {
		time.Sleep(20 * time.Millisecond)
		peak = max(peak, heapInUse())
	}
	return int64(peak) - int64(before)
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// TestE2EH3ClientResetEndsTunnels: a client that resets its CONNECT stream
// mid-tunnel gets its upstream closed, and after 200 such tunnels no
// goroutine of theirs is left.
func TestE2EH3ClientResetEndsTunnels(t *testing.T) {
	closed := make(chan struct{}, 256)
	ln := funcOrigin(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c) // until the proxy closes it
		closed <- struct{}{}
	})
	p := startOpenProxy(t)
	cc := h3Conn(t, p, nil)
	// Warm up quic-go's and the engine's own goroutines before the baseline.
	rs, _ := h3Connect(t, cc, ln.Addr().String(), nil)
	rs.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
	rs.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
	<-closed
	time.Sleep(100 * time.Millisecond) // the warm-up tunnel's goroutines leave
	base := runtime.NumGoroutine()
	for i := 0; i < 200; i++ {
		rs, resp := h3Connect(t, cc, ln.Addr().String(), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("tunnel %d: status %d", i, resp.StatusCode)
		}
		if _, err := rs.Write([]byte("some bytes")); err != nil {
			t.Fatal(err)
		}
		rs.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
		rs.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
		select {
		case <-closed:
		case <-time.After(waitLimit):
			t.Fatalf("tunnel %d: the upstream was not closed after the client's reset", i)
		}
	}
	var now int
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if now = runtime.NumGoroutine(); now <= base+5 {
			break
		}
	}
	if now > base+5 {
		t.Errorf("%d goroutines after 200 reset tunnels; %d before them", now, base)
	}
	if l := p.waitLines("reset h3 tunnels", 201, func(l logLine) bool { return l.str("proto") == "h3" }); l[0].str("reason") != "client_error" {
		t.Errorf("a reset tunnel is logged %v; want client_error", l[0])
	}
}

// TestE2EH3UpstreamResetIsConnectError: an upstream that resets mid-tunnel
// resets the client's stream with H3_CONNECT_ERROR (RFC 9114 section 4.4).
func TestE2EH3UpstreamResetIsConnectError(t *testing.T) {
	t.Parallel()
	ln := funcOrigin(t, func(c net.Conn) {
		_, _ = c.Read(make([]byte, 16))
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close() // RST
	})
	p := startOpenProxy(t)
	rs, resp := h3Connect(t, h3Conn(t, p, nil), ln.Addr().String(), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT status %d", resp.StatusCode)
	}
	if _, err := rs.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	_, err := io.ReadAll(rs)
	var he *http3.Error
	if !errors.As(err, &he) || he.ErrorCode != http3.ErrCodeConnectError {
		t.Fatalf("after the upstream's reset the client read error %v; want a stream reset with H3_CONNECT_ERROR", err)
	}
}

// TestE2EH3ProbeSameAsSite: with probe resistance, a CONNECT over HTTP/3
// without valid credentials gets exactly what the site answers over HTTP/3
// (quic-go's server with the same handler), dates masked.
func TestE2EH3ProbeSameAsSite(t *testing.T) {
	t.Parallel()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bob-pw", "$2y$")+"\n")
	p := startProxy(t, "--auth-file", authPath, "--probe-resistance")
	// The reference: quic-go's http3 server with the proxy's own site
	// handler (the site, with the Alt-Svc the TLS listeners add).
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ref := &http3.Server{Handler: p.s.site, TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{mustCert(t)}})}
	go func() { _ = ref.Serve(pc) }()
	t.Cleanup(func() { _ = ref.Close() })
	refProxy := &proxy{t: t, quic: pc.LocalAddr().String()}
	answer := func(q *proxy, hdr http.Header) string {
		rs, resp := h3Connect(t, h3Conn(t, q, nil), "example.com:443", hdr)
		body, _ := io.ReadAll(rs)
		resp.Header.Del("Date")
		var b strings.Builder
		_ = resp.Header.Write(&b)
		return strconv.Itoa(resp.StatusCode) + "\n" + b.String() + "\n" + string(body)
	}
	want := answer(refProxy, nil)
	for name, hdr := range map[string]http.Header{"no-credentials": nil, "wrong-password": authH2("bob", "wrong"), "unknown-user": authH2("mallory", "x")} {
		if got := answer(p, hdr); got != want {
			t.Errorf("%s: the proxy answered\n%s\nthe site answers\n%s", name, got, want)
		}
	}
}

// TestE2EH3AltSvc: the TLS listener's site responses announce HTTP/3; the
// plain listener's do not.
func TestE2EH3AltSvc(t *testing.T) {
	t.Parallel()
	p := startProxy(t)
	for _, useTLS := range []bool{true, false} {
		c := dialProxy(t, p.addr(useTLS), useTLS)
		r := rawExchange(t, c, []byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), waitLimit)
		_, port, _ := net.SplitHostPort(p.quic)
		want := ""
		if useTLS {
			want = `h3=":` + port + `"; ma=2592000`
		}
		if got := r.resp.Header.Get("Alt-Svc"); got != want {
			t.Errorf("site over %s: Alt-Svc %q; want %q", listenerName(useTLS), got, want)
		}
	}
}

// TestE2EH3Drain: on shutdown an HTTP/3 tunnel that is open keeps moving
// bytes until it ends, and shutdown returns once it has; one still open
// when the drain timeout passes is cut and logged as such.
func TestE2EH3Drain(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t)
	rs, _ := h3Connect(t, h3Conn(t, p, nil), echo.addr(), nil)
	roundTrip := func(msg string) {
		t.Helper()
		if _, err := rs.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(rs, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q: %q, %v", msg, buf, err)
		}
	}
	roundTrip("before")
	p.stopped = true
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		done <- p.s.shutdown(ctx)
	}()
	time.Sleep(100 * time.Millisecond) // the drain has begun
	roundTrip("during the drain")
	_ = rs.Close()
	_, _ = io.ReadAll(rs)
	if err := <-done; err != nil {
		t.Fatalf("shutdown with an h3 tunnel that then ended: %v", err)
	}

	p2 := startOpenProxy(t)
	rs2, _ := h3Connect(t, h3Conn(t, p2, nil), echo.addr(), nil)
	if _, err := rs2.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	p2.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := p2.s.shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown with an h3 tunnel open past the deadline = %v", err)
	}
	if l := p2.waitLog(echo.addr()); l.str("reason") != "shutdown" || l.str("proto") != "h3" {
		t.Errorf("access log %v; want an h3 tunnel cut by the shutdown", l)
	}
}

func mustCert(t *testing.T) tls.Certificate {
	t.Helper()
	cert, err := engine.SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
