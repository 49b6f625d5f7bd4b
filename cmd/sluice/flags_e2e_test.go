package main

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// --bind sets the source address of upstream connections.
func TestBindSourceAddress(t *testing.T) {
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

// A client that opens the TLS port and never finishes the handshake is cut
// off at --handshake-timeout.
func TestTLSHandshakeTimeout(t *testing.T) {
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

// --pprof and --metrics serve on their own listeners.
func TestPprofAndMetricsListeners(t *testing.T) {
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
