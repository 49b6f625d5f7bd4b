package main

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 500}, {0.99, 990}, {0.999, 999}} {
		got := h.Quantile(c.q)
		if got < c.want*0.96 || got > c.want*1.04 {
			t.Errorf("q%.3f = %.1f µs, want about %.0f", c.q, got, c.want)
		}
	}
	var empty histogram
	if empty.Quantile(0.5) != 0 {
		t.Error("empty histogram must report 0")
	}
}

// testRunner runs a mode against the tool's own origin with a small load.
func testRunner(t *testing.T, op opener, mode string, c int, tweak func(*config)) *result {
	t.Helper()
	o, err := startOrigin("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	cfg := config{proto: "raw", mode: mode, conc: c, n: 200, duration: 5 * time.Second,
		timeout: 5 * time.Second, bytes: 1 << 20, dir: "down", size: 64, openPar: 4,
		maxErrors: 10, settle: time.Millisecond}
	if tweak != nil {
		tweak(&cfg)
	}
	r := &runner{cfg: cfg, ctx: context.Background(), op: op, target: o.Addr()}
	var res *result
	switch mode {
	case "setup":
		res, err = r.setup()
	case "rr":
		res, err = r.rr()
	case "first8":
		res, err = r.first8()
	case "bulk":
		res, err = r.bulk()
	case "idle":
		res, err = r.idle()
	}
	if err != nil {
		t.Fatalf("%s: %v", mode, err)
	}
	if res.Errors != 0 {
		t.Fatalf("%s: %d errors, first: %s", mode, res.Errors, res.FirstError)
	}
	return res
}

func TestModesWithoutProxy(t *testing.T) {
	raw := &rawOpener{timeout: 5 * time.Second}
	if res := testRunner(t, raw, "setup", 4, nil); res.Ops != 200 {
		t.Errorf("setup: %d tunnels, want 200 (-n)", res.Ops)
	}
	if res := testRunner(t, raw, "rr", 4, nil); res.Ops != 200 || res.P50 <= 0 {
		t.Errorf("rr: %d round trips (want 200), p50 %.1f", res.Ops, res.P50)
	}
	for _, dir := range []string{"up", "down", "both"} {
		res := testRunner(t, raw, "bulk", 2, func(c *config) { c.dir = dir })
		want := int64(2 << 20)
		if dir == "both" {
			want *= 2
		}
		if res.Moved != want {
			t.Errorf("bulk %s: moved %d, want %d", dir, res.Moved, want)
		}
	}
	if res := testRunner(t, raw, "idle", 20, nil); res.Ops != 20 {
		t.Errorf("idle: %d tunnels open, want 20", res.Ops)
	}
}

// connectHandler is a minimal CONNECT proxy for HTTP/1.1 (hijack) and
// HTTP/2 and HTTP/3 (stream), enough to exercise the tool's openers.
func connectHandler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "no", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer up.Close()
		if r.ProtoMajor == 1 {
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
			go io.Copy(up, c)
			io.Copy(c, up)
			return
		}
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		rc.Flush()
		go func() {
			// The client's END_STREAM or FIN is the origin's EOF, which
			// ends the echo and so this handler.
			io.Copy(up, r.Body)
			up.(*net.TCPConn).CloseWrite()
		}()
		buf := make([]byte, 32<<10)
		for {
			n, err := up.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				rc.Flush()
			}
			if err != nil {
				return
			}
		}
	})
}

func TestThroughCONNECTProxy(t *testing.T) {
	plain := httptest.NewServer(connectHandler(t))
	defer plain.Close()
	tlsSrv := httptest.NewUnstartedServer(connectHandler(t))
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	for _, c := range []struct{ proto, addr string }{
		{"h1", plain.Listener.Addr().String()},
		{"h1tls", tlsSrv.Listener.Addr().String()},
		{"h2", tlsSrv.Listener.Addr().String()},
	} {
		t.Run(c.proto, func(t *testing.T) {
			op, err := newOpener(c.proto, c.addr, 1, 100, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer op.Close()
			testRunner(t, op, "rr", 4, nil)
			testRunner(t, op, "bulk", 2, func(c *config) { c.dir = "both" })
			testRunner(t, op, "setup", 2, func(c *config) { c.n = 20 })
		})
	}
}

// The h3 opener through quic-go's own HTTP/3 server, with 2 streams per
// connection so that tunnels beyond the first two need more connections.
func TestThroughHTTP3Proxy(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	tc := tlsSrv.TLS.Clone()
	tc.NextProtos = []string{http3.NextProtoH3}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http3.Server{Handler: connectHandler(t), TLSConfig: tc}
	go srv.Serve(pc)
	defer srv.Close()

	op, err := newOpener("h3", pc.LocalAddr().String(), 1, 2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	testRunner(t, op, "rr", 4, nil)
	testRunner(t, op, "bulk", 2, func(c *config) { c.dir = "both" })
	testRunner(t, op, "setup", 2, func(c *config) { c.n = 20 })
	if res := testRunner(t, op, "idle", 5, nil); res.Ops != 5 {
		t.Errorf("idle: %d tunnels open, want 5", res.Ops)
	}
	// 5 idle tunnels at 2 a connection: 3 connections.
	if n := op.(*h3Opener).ConnCount(); n != 3 {
		t.Errorf("%d QUIC connections, want 3", n)
	}
}

// h1Connect must hand over tunnel bytes that came with the response head,
// and refuse a non-2xx answer.
func TestH1ConnectResponse(t *testing.T) {
	for _, c := range []struct {
		reply, wantErr, wantRest string
	}{
		{"HTTP/1.1 200 Connection established\r\n\r\nearly", "", "early"},
		{"HTTP/1.0 200 OK\r\nX: y\r\n\r\n", "", ""},
		{"HTTP/1.1 403 Forbidden\r\n\r\n", "CONNECT refused", ""},
	} {
		cli, srv := net.Pipe()
		go func() {
			buf := make([]byte, 512)
			srv.Read(buf)
			io.WriteString(srv, c.reply)
			srv.Close()
		}()
		rest, err := h1Connect(cli, "127.0.0.1:1")
		cli.Close()
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: err %v, want %q", c.reply, err, c.wantErr)
			}
			continue
		}
		if err != nil || string(rest) != c.wantRest {
			t.Errorf("%q: rest %q err %v, want %q", c.reply, rest, err, c.wantRest)
		}
	}
}

func TestOriginRefusesNonLoopback(t *testing.T) {
	if _, err := startOrigin("0.0.0.0:0"); err == nil {
		t.Fatal("origin must listen on loopback only")
	}
}

// lossyRelay is a raw relay to target that drops one byte after the first
// 100,000 in each direction: the tool must report it, not count it.
func lossyRelay(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lossyCopy := func(dst, src net.Conn) {
		defer dst.Close()
		buf := make([]byte, 4096)
		var seen int
		dropped := false
		for {
			n, err := src.Read(buf)
			b := buf[:n]
			if !dropped && seen+n > 100_000 {
				i := 100_000 - seen
				b = append(b[:i:i], b[i+1:]...)
				dropped = true
			}
			seen += n
			if _, werr := dst.Write(b); werr != nil || err != nil {
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
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go lossyCopy(up, c)
			go lossyCopy(c, up)
		}
	}()
	return ln.Addr().String()
}

func TestCorruptionIsAnError(t *testing.T) {
	for _, dir := range []string{"up", "down", "both"} {
		o, err := startOrigin("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		relay := lossyRelay(t, o.Addr())
		// An upload one byte short leaves the sink waiting: the phase
		// deadline ends it, so keep that short.
		cfg := config{proto: "raw", mode: "bulk", conc: 1, n: 1, duration: time.Second,
			timeout: 2 * time.Second, bytes: 1 << 20, dir: dir, size: 64, openPar: 1, maxErrors: 10}
		r := &runner{cfg: cfg, ctx: context.Background(), op: &rawOpener{addr: relay, timeout: 2 * time.Second}, target: o.Addr()}
		res, err := r.bulk()
		o.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.Errors == 0 || res.Ops != 0 {
			t.Errorf("%s through a lossy relay: %d errors, %d ok; want the loss reported", dir, res.Errors, res.Ops)
		}
		t.Logf("%s: %s", dir, res.FirstError)
	}
}

func TestCPUSince(t *testing.T) {
	a := cpuSample{ticks: 1.00, exec: 1.003}
	// Live threads only: the nanosecond figure is used.
	if got := cpuSince(a, cpuSample{ticks: 1.10, exec: 1.1234}); got < 0.1203 || got > 0.1205 {
		t.Errorf("cpuSince = %v, want 0.1204 (schedstat)", got)
	}
	// A thread that ran 0.5 s exited: its time left the schedstat sum and
	// only the ticks still show it.
	if got := cpuSince(a, cpuSample{ticks: 1.60, exec: 1.1}); math.Abs(got-0.6) > 1e-9 {
		t.Errorf("cpuSince = %v, want 0.6 (ticks)", got)
	}
	// No schedstat: ticks.
	if got := cpuSince(cpuSample{ticks: 2}, cpuSample{ticks: 2.5}); got != 0.5 {
		t.Errorf("cpuSince = %v, want 0.5", got)
	}
}

// The schedstat sum of this process tracks its tick count, to the tick.
func TestCPUSampleOfSelf(t *testing.T) {
	ps := procSet{pids: []int{os.Getpid()}}
	a := ps.CPU()
	if a.exec == 0 {
		t.Fatal("no schedstat for this process")
	}
	// Spin until 0.3 s of CPU went by (bounded in wall time: a loaded
	// machine gives less CPU per second, not wrong figures).
	b := a
	x := 0
	for end := time.Now().Add(20 * time.Second); b.exec-a.exec < 0.3 && time.Now().Before(end); b = ps.CPU() {
		for i := 0; i < 100000; i++ {
			x += i
		}
	}
	_ = x
	exec, ticks := b.exec-a.exec, b.ticks-a.ticks
	if exec < 0.3 || math.Abs(exec-ticks) > 0.03 {
		t.Errorf("spinning: schedstat %.4f s, ticks %.2f s", exec, ticks)
	}
}
