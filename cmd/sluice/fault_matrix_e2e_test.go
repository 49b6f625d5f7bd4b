package main

// The fault matrix: every way a tunnel's peer can fail, on every CONNECT
// protocol, each scenario ending with a leak check (open fds, goroutines,
// client conns and the tunnel gauge back to where they were).

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// faultScenario runs one fault on a fresh client of one protocol.
type faultScenario struct {
	name string
	run  func(t *testing.T, c faultClient, o *faultOrigins)
}

// faultOrigins are the targets the scenarios use.
type faultOrigins struct {
	p       *proxy
	echo    *echoOrigin
	source  net.Listener   // sends slowBytes, then closes
	sink    *watchedOrigin // reads slowBytes only once released
	finSoon *watchedOrigin // says "bye", half-closes, reads to the end
	rst     *watchedOrigin // reads one chunk, then resets
	hold    *watchedOrigin // reads until the proxy's side goes away
	refused string
}

const (
	finUpload = 256 << 10
	slowBytes = 8 << 20 // past the 1 MiB watermark, the windows and the socket buffers
)

// pausedSince waits (bounded) until the proxy paused reading a socket
// more often than before: a slow peer held the other side back.
func pausedSince(t *testing.T, o *faultOrigins, before int64) {
	t.Helper()
	waitFor(t, "the proxy to pause the fast side", func() bool { return o.p.s.eng.Stats().Parks > before })
}

// sinkGo releases the sink origin's next conn to read.
var sinkGo = make(chan struct{}, 1)

var faultScenarios = []faultScenario{
	{"echo", func(t *testing.T, c faultClient, o *faultOrigins) {
		tun := mustConnect(t, c, o.echo.addr())
		msg := bytes.Repeat([]byte("0123456789abcdef"), 2048)
		if _, err := tun.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(tun, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo: %v", err)
		}
		if err := tun.closeWrite(); err != nil {
			t.Fatal(err)
		}
		if rest, err := io.ReadAll(tun); err != nil || len(rest) != 0 {
			t.Fatalf("after the half-close: %d bytes, %v; want a clean end", len(rest), err)
		}
	}},
	// The upstream half-closes while the client still sends: the client
	// gets everything and the end, and what it sends afterwards still
	// reaches the upstream.
	{"upstream-fin-while-client-sends", func(t *testing.T, c faultClient, o *faultOrigins) {
		tun := mustConnect(t, c, o.finSoon.addr())
		got, err := io.ReadAll(tun)
		if err != nil || string(got) != "bye" {
			t.Fatalf("read %q, %v; want bye and a clean end", got, err)
		}
		if _, err := tun.Write(make([]byte, finUpload)); err != nil {
			t.Fatalf("sending after the upstream's FIN: %v", err)
		}
		if err := tun.closeWrite(); err != nil {
			t.Fatal(err)
		}
		if err := o.finSoon.waitEnded(t, "fin"); err != nil {
			t.Fatalf("the upstream: %v", err)
		}
	}},
	// The upstream resets mid-tunnel: an h2/h3 client sees its stream
	// reset with CONNECT_ERROR, an h1 client its connection end.
	{"upstream-rst", func(t *testing.T, c faultClient, o *faultOrigins) {
		tun := mustConnect(t, c, o.rst.addr())
		if _, err := tun.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		_ = o.rst.waitEnded(t, "rst")
		_, err := io.ReadAll(tun)
		if _, isH1 := tun.(*h1FaultTunnel); isH1 {
			return // ended either way: EOF or reset
		}
		if !isTunnelReset(err, http2.ErrCodeConnect, http3.ErrCodeConnectError) {
			t.Fatalf("after the upstream's RST the client read %v; want CONNECT_ERROR", err)
		}
	}},
	// The client aborts one tunnel: its upstream is closed at once.
	{"client-reset", func(t *testing.T, c faultClient, o *faultOrigins) {
		tun := mustConnect(t, c, o.hold.addr())
		if _, err := tun.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(tun, make([]byte, 1)); err != nil { // the origin answers: the tunnel is up
			t.Fatal(err)
		}
		tun.reset()
		_ = o.hold.waitEnded(t, "client-reset")
	}},
	// The client's whole connection dies (RST, or for QUIC its socket
	// closes without a CONNECTION_CLOSE): every tunnel on it ends.
	{"client-vanishes", func(t *testing.T, c faultClient, o *faultOrigins) {
		for range 2 {
			tun := mustConnect(t, c, o.hold.addr())
			if _, err := tun.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(tun, make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
		}
		c.vanish()
		for range 2 {
			_ = o.hold.waitEnded(t, "client-vanishes")
		}
	}},
	// The client stops reading while the upstream sends: the proxy stops
	// reading the upstream (its buffer bounded); when the client reads
	// again every byte arrives in order.
	{"slow-client", func(t *testing.T, c faultClient, o *faultOrigins) {
		before := o.p.s.eng.Stats().Parks
		tun := mustConnect(t, c, o.source.Addr().String())
		pausedSince(t, o, before)
		got, err := io.ReadAll(tun)
		if err != nil || !bytes.Equal(got, slowPattern) {
			t.Fatalf("read %d of %d bytes after the pause, %v", len(got), slowBytes, err)
		}
	}},
	// The upstream stops reading while the client sends: the client is
	// held back (the proxy stops reading it, or withholds credit); once
	// the upstream reads, every byte arrives.
	{"slow-upstream", func(t *testing.T, c faultClient, o *faultOrigins) {
		before := o.p.s.eng.Stats().Parks
		tun := mustConnect(t, c, o.sink.addr())
		sent := make(chan error, 1)
		go func() {
			_, err := tun.Write(slowPattern)
			if err == nil {
				err = tun.closeWrite()
			}
			sent <- err
		}()
		if _, isH1 := tun.(*h1FaultTunnel); isH1 {
			pausedSince(t, o, before) // h2 and h3 hold the client back with credit instead
		}
		sinkGo <- struct{}{}
		if err := <-sent; err != nil {
			t.Fatalf("sending to a slow upstream: %v", err)
		}
		if err := o.sink.waitEnded(t, "slow-upstream"); err != nil {
			t.Fatalf("the upstream: %v", err)
		}
	}},
	{"connect-refused", func(t *testing.T, c faultClient, o *faultOrigins) {
		wantStatus(t, c, o.refused, 502)
	}},
	{"dns-failure", func(t *testing.T, c faultClient, o *faultOrigins) {
		wantStatus(t, c, "nx.example:443", 502)
	}},
	{"connect-timeout", func(t *testing.T, c faultClient, o *faultOrigins) {
		wantStatus(t, c, "blackhole.example:443", 504)
	}},
}

// slowPattern is what the slow scenarios move: not all one byte, so a
// reordering or a repeat shows.
var slowPattern = func() []byte {
	b := make([]byte, slowBytes)
	for i := range b {
		b[i] = byte(i * 7 / 5)
	}
	return b
}()

func mustConnect(t *testing.T, c faultClient, target string) faultTunnel {
	t.Helper()
	tun, status := c.connect(t, target)
	if status != 200 {
		t.Fatalf("CONNECT %s: status %d", target, status)
	}
	return tun
}

func wantStatus(t *testing.T, c faultClient, target string, want int) {
	t.Helper()
	if _, status := c.connect(t, target); status != want {
		t.Fatalf("CONNECT %s: status %d; want %d", target, status, want)
	}
}

// startFaultOrigins starts the scenarios' origins, each on a listener of
// its own from listen. prelude, if set, first reads what the proxy sends
// ahead of the client's bytes on every conn (an SNI tunnel's ClientHello);
// an error from it drops the conn. refused and p are the caller's.
func startFaultOrigins(t *testing.T, listen func(*testing.T) net.Listener, prelude func(net.Conn) error) *faultOrigins {
	t.Helper()
	watched := func(fn func(c net.Conn) error) *watchedOrigin {
		return startWatchedOriginOn(t, listen(t), func(c net.Conn) error {
			if prelude != nil {
				if err := prelude(c); err != nil {
					return err
				}
			}
			return fn(c)
		})
	}
	return &faultOrigins{
		echo: startEchoOn(t, listen(t), prelude),
		source: funcOriginOn(t, listen(t), func(c net.Conn) {
			if prelude == nil || prelude(c) == nil {
				_, _ = c.Write(slowPattern)
			}
		}),
		sink: watched(func(c net.Conn) error {
			_ = c.(*net.TCPConn).SetReadBuffer(32 << 10)
			<-sinkGo
			got, err := io.ReadAll(c)
			if err == nil && !bytes.Equal(got, slowPattern) {
				err = errors.New("got " + strconv.Itoa(len(got)) + " bytes, not the ones sent")
			}
			return err
		}),
		finSoon: watched(func(c net.Conn) error {
			if _, err := io.WriteString(c, "bye"); err != nil {
				return err
			}
			_ = c.(*net.TCPConn).CloseWrite()
			n, err := drainUntilEnd(c)
			if err == nil && n != finUpload {
				err = errors.New("got " + strconv.FormatInt(n, 10) + " bytes after the FIN")
			}
			return err
		}),
		rst: watched(func(c net.Conn) error {
			_, _ = c.Read(make([]byte, 16))
			return c.(*net.TCPConn).SetLinger(0) // the deferred Close resets
		}),
		hold: watched(func(c net.Conn) error {
			if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
				return err
			}
			if _, err := c.Write([]byte("y")); err != nil {
				return err
			}
			_, err := drainUntilEnd(c)
			return err
		}),
	}
}

// TestE2EFaultMatrix runs every scenario on every protocol against one
// proxy. It is not parallel: the leak check counts this whole process's
// fds and goroutines, and parallel tests only start once it is done.
func TestE2EFaultMatrix(t *testing.T) {
	dns := dnsServer(t, func(q []byte, reply func([]byte)) {
		if bytes.Contains(q, []byte("\x02nx\x07example")) {
			reply(nxdomainFor(q))
		} // blackhole.example: never answered, so the connect times out
	})
	o := startFaultOrigins(t, listenLoopback, nil)
	o.refused = "127.0.0.1:" + strconv.Itoa(closedPort(t))
	p := startOpenProxy(t, "--resolver", dns, "--connect-timeout", "500ms", "--quic-idle-timeout", "2s", "--splice-after", "0")
	o.p = p

	// One round of every protocol first, so that what is made once per
	// process (pools, the QUIC listener's goroutines) is in the baseline.
	for _, pr := range faultProtos {
		c := pr.dial(t, p)
		faultScenarios[0].run(t, c, o)
		c.close()
	}
	base := snapshot(t, p)
	noLeaks(t, p, base, "warm-up")
	base = snapshot(t, p)

	// Rapid reset: CONNECT streams opened and reset at once, up to 10,000,
	// as fast as the socket takes them. The premature-reset rule ends the
	// connection with ENHANCE_YOUR_CALM long before; the dials its
	// streams started are all undone.
	t.Run("h2c/rapid-reset", func(t *testing.T) {
		c := dialSilentH2(t, p.plain)
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for i := 0; i < 10000; i++ {
			id := uint32(2*i + 1)
			hb.Reset()
			_ = enc.WriteField(hpack.HeaderField{Name: ":method", Value: "CONNECT"})
			_ = enc.WriteField(hpack.HeaderField{Name: ":authority", Value: o.hold.addr()})
			if c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}) != nil ||
				c.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
				break // the server closed the connection
			}
		}
		c.until(t, "GOAWAY ENHANCE_YOUR_CALM", goAwayWith(http2.ErrCodeEnhanceYourCalm))
		c.closed(t)
		_ = c.nc.Close()
		for drained := false; !drained; { // origins the stream dials reached
			select {
			case <-o.hold.ended:
			default:
				drained = true
			}
		}
		noLeaks(t, p, base, "h2c/rapid-reset")
	})

	for _, pr := range faultProtos {
		for _, sc := range faultScenarios {
			t.Run(pr.name+"/"+sc.name, func(t *testing.T) {
				c := pr.dial(t, p)
				t.Cleanup(c.close) // a failed scenario leaves nothing to the next
				sc.run(t, c, o)
				c.close()
				noLeaks(t, p, base, pr.name+"/"+sc.name)
			})
		}
	}
}
