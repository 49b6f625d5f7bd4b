package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// bigOrigin is an HTTPS origin that serves n deterministic bytes.
func bigOrigin(t *testing.T, n int) (*httptest.Server, [32]byte) {
	t.Helper()
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 7)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv, sha256.Sum256(data)
}

// downloadThrough fetches the origin's bytes over TLS inside tunnel c,
// asking the origin to close after them, and closes the tunnel.
func downloadThrough(t *testing.T, c net.Conn, origin *httptest.Server) [32]byte {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(origin.Certificate())
	tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	fmt.Fprintf(tc, "GET /big HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", hostOf(origin))
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatal(err)
	}
	_ = tc.Close() // close_notify, then the FIN: after the origin has closed
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// TestE2ESpliceCleanDownloadLogged: a clean 20 MB download through a
// tunnel that moved to splice(2) is logged as the upstream's orderly end,
// not as a client error, even though the client's close_notify then finds
// the origin gone.
func TestE2ESpliceCleanDownloadLogged(t *testing.T) {
	t.Parallel()
	origin, want := bigOrigin(t, 20<<20)
	p := startOpenProxy(t, "--splice-after", "1MiB")
	c := openTunnel(t, p, false, hostOf(origin))
	if got := downloadThrough(t, c, origin); got != want {
		t.Fatal("the download differs")
	}
	l := p.waitLog(hostOf(origin))
	if l["spliced"] != true || l.str("reason") != "upstream_eof" || l.num("bytes_down") < 20<<20 {
		t.Errorf("access log %v; want spliced, reason upstream_eof, all bytes counted", l)
	}
}

// TestE2ESpliceDrainCutLogged: a spliced tunnel still open when the drain
// timeout passes is cut and logged as cut by the shutdown.
func TestE2ESpliceDrainCutLogged(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t, "--splice-after", "64KiB")
	c := openTunnel(t, p, false, echo.addr())
	echoRoundTrip(t, c, 1<<20) // past --splice-after: spliced from here on
	deadline := time.Now().Add(waitLimit)
	for p.s.splices.Active() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.s.splices.Active() == 0 {
		t.Fatal("the tunnel was never spliced")
	}
	p.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := p.s.shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown with a spliced tunnel open = %v, want DeadlineExceeded", err)
	}
	if l := p.waitLog(echo.addr()); l["spliced"] != true || l.str("reason") != "shutdown" {
		t.Errorf("access log %v; want spliced, reason shutdown", l)
	}
}
