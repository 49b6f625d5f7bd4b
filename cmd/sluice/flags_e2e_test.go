package main

// End-to-end tests of flags without a feature file of their own: --bind,
// --handshake-timeout, --pprof and --metrics.

import (
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestE2EFlagsBindSetsSourceAddress: --bind sets the source address of
// upstream connections: the origin sees the proxy come from 127.0.0.2.
func TestE2EFlagsBindSetsSourceAddress(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 1)
	ln := funcOrigin(t, func(c net.Conn) {
		seen <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		c.Close()
	})
	p := startOpenProxy(t, "--bind", "127.0.0.2")
	c := dialProxy(t, p.plain, false)
	if _, err := io.WriteString(c, connectReq("127.0.0.1:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))); err != nil {
		t.Fatal(err)
	}
	select {
	case ip := <-seen:
		if ip != "127.0.0.2" {
			t.Fatalf("origin saw the proxy come from %s; want 127.0.0.2", ip)
		}
	case <-time.After(waitLimit):
		t.Fatal("origin never saw the proxy")
	}
}

// TestE2EFlagsHandshakeTimeoutCutsSilentTLS: a client that opens the TLS
// port and never sends a handshake is closed by the proxy at
// --handshake-timeout.
func TestE2EFlagsHandshakeTimeoutCutsSilentTLS(t *testing.T) {
	t.Parallel()
	p := startProxy(t, "--handshake-timeout", "300ms")
	c, err := net.DialTimeout("tcp", p.tls, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := c.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("read on a silent TLS conn: %v; want the proxy to close it", err)
	}
}

// TestE2EFlagsPprofAndMetricsListeners: --pprof and --metrics serve on their
// own listeners: the pprof cmdline and /metrics (with
// sluice_connections_active) answer 200.
func TestE2EFlagsPprofAndMetricsListeners(t *testing.T) {
	t.Parallel()
	p := startProxy(t, "--pprof", "127.0.0.1:0", "--metrics", "127.0.0.1:0")
	for name, path := range map[string]string{"pprof": "/debug/pprof/cmdline", "metrics": "/metrics"} {
		resp, err := http.Get("http://" + p.s.addrs[name].String() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || (name == "metrics" && !strings.Contains(string(body), "sluice_connections_active")) {
			t.Fatalf("%s: %d %q", name, resp.StatusCode, body)
		}
	}
}

// TestE2EFlagsStartupLogSaysPolicy: at start the log says what the default
// policy refuses and which flag opens it, since a new user's first local
// test meets it.
func TestE2EFlagsStartupLogSaysPolicy(t *testing.T) {
	t.Parallel()
	p := startProxy(t)
	log := p.errLog.String()
	for _, want := range []string{`"connect_ports":"443,563"`, `"forward_ports":"80,443,563"`, "--allow-private", "--allow-ports", "--allow-forward-ports"} {
		if !strings.Contains(log, want) {
			t.Errorf("start-up log lacks %q:\n%s", want, log)
		}
	}
}

// TestE2EFlagsAddressInUse: a second sluice on an address the first one
// listens on fails to start, as nginx, Squid and Caddy do, instead of
// silently sharing the traffic; --takeover binds it deliberately.
func TestE2EFlagsAddressInUse(t *testing.T) {
	t.Parallel()
	p := startProxy(t)
	cfg, err := parseFlags([]string{"--listen", p.plain, "--listen-tls", "", "--access-log", "off"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := newServer(cfg, io.Discard); err == nil {
		_ = s.shutdown(t.Context())
		t.Fatalf("a second server started on %s, which the first listens on", p.plain)
	} else if !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("second server on %s: %v; want address already in use", p.plain, err)
	}
	cfg.takeover = true
	s, err := newServer(cfg, io.Discard)
	if err != nil {
		t.Fatalf("--takeover on %s: %v", p.plain, err)
	}
	_ = s.shutdown(t.Context())
}

// TestE2EFlagsSizesAndVersion: sizes take units; --version names the Go
// version and the modules built in; -h lists every flag, under the
// README's groups.
func TestE2EFlagsSizesAndVersion(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"1MiB": 1 << 20, "8MiB": 8 << 20, "256KiB": 256 << 10, "65536": 65536, "2m": 2 << 20, "1 GiB": 1 << 30} {
		cfg, err := parseFlags([]string{"--buffer-size", in}, io.Discard)
		if err != nil || int64(cfg.bufferSize) != want {
			t.Errorf("--buffer-size %q: %v, %v; want %d", in, cfg, err, want)
		}
	}
	for _, bad := range []string{"1MB2", "-1", "lots", "1TiB"} {
		if _, err := parseFlags([]string{"--buffer-size", bad}, io.Discard); err == nil {
			t.Errorf("--buffer-size %q accepted", bad)
		}
	}
	var b strings.Builder
	printVersion(&b)
	for _, want := range []string{"sluice ", runtime.Version(), "github.com/panjf2000/gnet/v2 v2.10.0"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("--version output lacks %q:\n%s", want, b.String())
		}
	}
	var h strings.Builder
	if _, err := parseFlags([]string{"-h"}, &h); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	grouped := map[string]bool{}
	for _, g := range flagGroups {
		if !strings.Contains(h.String(), "\n"+g.title+":\n") {
			t.Errorf("-h lacks the group %q", g.title)
		}
		for _, n := range g.names {
			if grouped[n] {
				t.Errorf("flag --%s is in two groups", n)
			}
			grouped[n] = true
		}
	}
	// Every flag defined is in a group, so -h shows it, and every name in
	// a group is a flag.
	fs := newFlagSet(&config{}, io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		if !grouped[f.Name] {
			t.Errorf("flag --%s is in no group: -h does not show it", f.Name)
		}
		if !strings.Contains(h.String(), "  --"+f.Name+" ") && !strings.Contains(h.String(), "  --"+f.Name+"\n") {
			t.Errorf("-h does not show --%s", f.Name)
		}
		delete(grouped, f.Name)
	})
	for n := range grouped {
		t.Errorf("group entry %q is not a flag", n)
	}
}

// TestE2EFlagsConnectResponse: --connect-response replaces the head of an
// HTTP/1.1 CONNECT's success, byte for byte, and the tunnel's bytes
// follow it; a head that would give the answer a body is refused at start.
func TestE2EFlagsConnectResponse(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t, "--connect-response", `HTTP/1.1 200 OK\r\nProxy-Agent: edge-7`)
	const want = "HTTP/1.1 200 OK\r\nProxy-Agent: edge-7\r\n\r\n"
	for _, useTLS := range []bool{false, true} {
		c := dialProxy(t, p.addr(useTLS), useTLS)
		if _, err := io.WriteString(c, connectReq(echo.addr())); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if n, err := io.ReadFull(c, got); err != nil || string(got) != want {
			t.Fatalf("%s: CONNECT answered %q (%v); want exactly %q", listenerName(useTLS), got[:n], err, want)
		}
		echoRoundTrip(t, c, 4096)
	}
	for _, bad := range []string{`HTTP/1.1 302 Found`, `HTTP/1.1 200 OK\r\nContent-Length: 5`, `not a head`} {
		if _, err := parseFlags([]string{"--connect-response", bad}, io.Discard); err == nil {
			t.Errorf("--connect-response %q accepted", bad)
		}
	}
}

// TestE2EFlagsTCPKeepAlive: with --tcp-keepalive both sockets of a tunnel
// probe after that idle time (read back from the proxy's own sockets,
// which live in this process); without it neither does.
func TestE2EFlagsTCPKeepAlive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		on   int
		idle int
	}{{[]string{"--tcp-keepalive", "45s"}, 1, 45}, {nil, 0, 0}} {
		echo := startEcho(t) // its own, so the upstream socket found is this tunnel's
		p := startOpenProxy(t, tc.args...)
		c := openTunnel(t, p, false, echo.addr())
		echoRoundTrip(t, c, 64)
		client := socketFD(t, 0, portOf(t, c.LocalAddr().String()))
		upstream := socketFD(t, 0, portOf(t, echo.addr()))
		for name, fd := range map[string]int{"client": client, "upstream": upstream} {
			on, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE)
			if err != nil {
				t.Fatal(err)
			}
			if on != tc.on {
				t.Errorf("%v: %s socket SO_KEEPALIVE %d; want %d", tc.args, name, on, tc.on)
			}
			if tc.on == 1 {
				if idle, _ := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE); idle != tc.idle {
					t.Errorf("%v: %s socket TCP_KEEPIDLE %d; want %d", tc.args, name, idle, tc.idle)
				}
			}
		}
		_ = c.Close()
	}
}
