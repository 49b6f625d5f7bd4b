package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/masque-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
	"github.com/yosida95/uritemplate/v3"
)

// TestMain runs the tests with GODEBUG=http2xconnect=1: Go's HTTP/2
// server (net/http's and x/net's) offers extended CONNECT (RFC 8441),
// which the h2 connect-udp stub below needs, only with it, and reads it
// once at init. So the test binary starts itself again with it set.
func TestMain(m *testing.M) {
	if gd := os.Getenv("GODEBUG"); !strings.Contains(gd, "http2xconnect=1") {
		if gd != "" {
			gd += ","
		}
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), "GODEBUG="+gd+"http2xconnect=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		if err != nil {
			os.Stderr.WriteString("re-running the tests with GODEBUG=http2xconnect=1: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// dgramRun runs the dgram mode with fo against a fresh UDP echo, with a
// small load: at most n datagrams in all, 5 s.
func dgramRun(t *testing.T, fo flowOpener, c, n int, tweak func(*config)) *result {
	t.Helper()
	e, err := startUDPEcho("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	cfg := config{mode: "dgram", conc: c, n: int64(n), duration: 5 * time.Second, timeout: 5 * time.Second,
		size: 1200, window: 4, lostAfter: 5 * time.Second, openPar: 4, maxErrors: 10}
	if tweak != nil {
		tweak(&cfg)
	}
	r := &runner{cfg: cfg, ctx: context.Background(), target: e.Addr()}
	res, err := r.dgram(fo)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 {
		t.Fatalf("%d errors, first: %s", res.Errors, res.FirstError)
	}
	return res
}

// checkAllBack: every datagram of the -n bound went and came back.
func checkAllBack(t *testing.T, res *result, n int64) {
	t.Helper()
	if res.Sent != n || res.Ops != n || res.Lost != 0 || res.LossPct == nil || *res.LossPct != 0 {
		t.Errorf("sent %d, back %d, lost %d; want %d, %d, 0", res.Sent, res.Ops, res.Lost, n, n)
	}
	if res.P50 <= 0 || res.P99 < res.P50 {
		t.Errorf("rtt p50 %.1f µs, p99 %.1f µs", res.P50, res.P99)
	}
}

func TestDgramWithoutProxy(t *testing.T) {
	res := dgramRun(t, &rawFlowOpener{timeout: 5 * time.Second}, 3, 300, nil)
	checkAllBack(t, res, 300)
	// With a warm-up only the measured phase counts: its datagrams and
	// its time, not the warm-up's. On one P, as under taskset -c 1: a
	// flow waiting for its last datagrams must not spin (on a closed
	// channel) and keep the readers from running.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	// The bounds are loose: CI runs this beside the race-enabled suite on
	// two cores, where a 0.3 s phase once sent nothing at all.
	res = dgramRun(t, &rawFlowOpener{timeout: 5 * time.Second}, 4, 1_000_000, func(c *config) {
		c.warmup, c.duration = 200*time.Millisecond, time.Second
	})
	if res.Sent == 0 || res.Ops+res.Lost != res.Sent || res.Elapsed < 0.99 || res.Elapsed > 3 {
		t.Errorf("with a warm-up: sent %d, back %d, lost %d over %.2f s; want each back or lost, over the 1 s phase",
			res.Sent, res.Ops, res.Lost, res.Elapsed)
	}
}

// lossyUDPRelay forwards one client's datagrams to target and the answers
// back, and drops every tenth datagram on the way up.
func lossyUDPRelay(t *testing.T, target string) string {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ta, _ := net.ResolveUDPAddr("udp", target)
	back, err := net.DialUDP("udp", nil, ta)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { front.Close(); back.Close() })
	var client atomic.Pointer[net.UDPAddr]
	go func() {
		buf := make([]byte, 2048)
		for i := 1; ; i++ {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			client.Store(from)
			if i%10 != 0 {
				back.Write(buf[:n])
			}
		}
	}()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := back.Read(buf)
			if err != nil {
				return
			}
			if c := client.Load(); c != nil {
				front.WriteToUDP(buf[:n], c)
			}
		}
	}()
	return front.LocalAddr().String()
}

// A datagram not back within -lost-after is lost and frees its slot: the
// loop keeps going to -n through a relay that drops a tenth of them.
func TestDgramLossIsCountedAndFreesTheWindow(t *testing.T) {
	e, err := startUDPEcho("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	relay := lossyUDPRelay(t, e.Addr())
	cfg := config{mode: "dgram", conc: 1, n: 200, duration: 10 * time.Second, timeout: 5 * time.Second,
		size: 100, window: 8, lostAfter: 250 * time.Millisecond, openPar: 1, maxErrors: 10}
	// The warm-up datagram may be the one dropped: it is sent again.
	r := &runner{cfg: cfg, ctx: context.Background(), target: e.Addr()}
	res, err := r.dgram(&rawFlowOpener{addr: relay, timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 200 || res.Ops+res.Lost != res.Sent {
		t.Fatalf("sent %d, back %d, lost %d: want 200 sent, each back or lost", res.Sent, res.Ops, res.Lost)
	}
	if res.Lost < 15 || res.Lost > 25 || *res.LossPct < 7.5 || *res.LossPct > 12.5 {
		t.Errorf("lost %d (%.1f %%), want about 20 (10 %%)", res.Lost, *res.LossPct)
	}
}

// udpPathTarget takes the target out of a request path of the default
// template, "/.well-known/masque/udp/HOST/PORT/".
func udpPathTarget(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/.well-known/masque/udp/")
	if !ok {
		return "", false
	}
	f := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if len(f) != 2 {
		return "", false
	}
	return net.JoinHostPort(f[0], f[1]), true
}

// relayCapsules is the stub proxy's data path: DATAGRAM capsules read
// from r go to uc, and what uc receives goes back to w as capsules
// (written with quic-go's WriteCapsule, not the client's encoder), until r
// ends.
func relayCapsules(r io.Reader, w io.Writer, flush func(), uc *net.UDPConn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, err := uc.Read(buf)
			if err != nil {
				return
			}
			value := append([]byte{0}, buf[:n]...)
			if http3.WriteCapsule(quicvarint.NewWriter(w), 0, value) != nil {
				return
			}
			flush()
		}
	}()
	cp := http3.NewCapsuleParser(bufio.NewReader(r))
	for {
		typ, cr, err := cp.Next()
		if err != nil {
			break
		}
		b, err := io.ReadAll(cr)
		if err != nil {
			break
		}
		if typ == 0 && len(b) > 0 && b[0] == 0 {
			uc.Write(b[1:])
		}
	}
	uc.Close()
	wg.Wait()
}

// udpHandler is a minimal connect-udp proxy for HTTP/1.1 (upgrade) and
// HTTP/2 (extended CONNECT), with capsules only.
func udpHandler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, ok := udpPathTarget(r.URL.Path)
		h1 := r.ProtoMajor == 1 && r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "connect-udp")
		h2 := r.ProtoMajor == 2 && r.Method == http.MethodConnect && r.Header.Get(":protocol") == "connect-udp"
		if !ok || !(h1 || h2) {
			http.Error(w, "not connect-udp", http.StatusBadRequest)
			return
		}
		ta, err := net.ResolveUDPAddr("udp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		uc, err := net.DialUDP("udp", nil, ta)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if h1 {
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				uc.Close()
				return
			}
			defer c.Close()
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: connect-udp\r\nCapsule-Protocol: ?1\r\n\r\n")
			relayCapsules(brw, c, func() {}, uc)
			return
		}
		w.Header().Set("Capsule-Protocol", "?1")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		rc.Flush()
		// Only relayCapsules' UDP goroutine writes, and it is gone before
		// the handler returns.
		relayCapsules(r.Body, w, func() { rc.Flush() }, uc)
	})
}

func TestDgramThroughCapsuleProxy(t *testing.T) {
	plain := httptest.NewServer(udpHandler(t))
	defer plain.Close()
	tlsSrv := httptest.NewUnstartedServer(udpHandler(t))
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	for _, c := range []struct{ proto, addr string }{
		{"h1", plain.Listener.Addr().String()},
		{"h2", tlsSrv.Listener.Addr().String()},
	} {
		t.Run(c.proto, func(t *testing.T) {
			fo, err := newFlowOpener(c.proto, c.addr, 1, 100, 5*time.Second, defaultUDPTemplate)
			if err != nil {
				t.Fatal(err)
			}
			defer fo.Close()
			res := dgramRun(t, fo, 3, 300, nil)
			checkAllBack(t, res, 300)
		})
	}
}

// h3 through masque-go's own proxy on quic-go's HTTP/3 server, with 2
// flows per QUIC connection so that the third flow needs a second one.
func TestDgramThroughMasqueProxy(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	tc := tlsSrv.TLS.Clone()
	tc.NextProtos = []string{http3.NextProtoH3}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	tmpl := uritemplate.MustNew("https://" + addr + defaultUDPTemplate)
	var proxy masque.Proxy
	defer proxy.Close()
	srv := &http3.Server{TLSConfig: tc, EnableDatagrams: true,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, err := masque.ParseProxyRequest(r, tmpl)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			proxy.Proxy(w, req)
		})}
	go srv.Serve(pc)
	defer srv.Close()

	fo, err := newFlowOpener("h3", addr, 1, 2, 5*time.Second, defaultUDPTemplate)
	if err != nil {
		t.Fatal(err)
	}
	defer fo.Close()
	res := dgramRun(t, fo, 3, 300, nil)
	checkAllBack(t, res, 300)
	if n := fo.(*h3FlowOpener).ConnCount(); n != 2 {
		t.Errorf("%d QUIC connections for 3 flows at 2 a connection, want 2", n)
	}
	// A refused flow is an error, not a hang: a path outside the template.
	bad, err := newFlowOpener("h3", addr, 1, 2, 5*time.Second, "/elsewhere/{target_host}/{target_port}/")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, err := bad.OpenFlow(context.Background(), "127.0.0.1:9"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("flow outside the template: %v, want a 400", err)
	}
}

func TestSnmpCounter(t *testing.T) {
	if v := udpRcvbufErrors(); v < 0 {
		t.Errorf("Udp RcvbufErrors = %d: /proc/net/snmp not read", v)
	}
	if v := snmpCounter("Udp:", "NoSuchCounter"); v != -1 {
		t.Errorf("a missing counter = %d, want -1", v)
	}
}
