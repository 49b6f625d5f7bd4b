package main

import (
	"io"
	"net"
	"strings"
	"testing"
)

// A CONNECT to the proxy's own listener would loop through it forever: 403
// even with the private-address guard off.
func TestConnectToSelfRefused(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t)
	for _, target := range []string{p.plain, p.tls} {
		c := dialProxy(t, p.plain, false)
		if _, err := io.WriteString(c, connectReq(target)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil || !strings.HasPrefix(string(buf), "HTTP/1.1 403") {
			t.Fatalf("CONNECT %s (the proxy itself): got %q, %v; want 403", target, buf, err)
		}
		_ = c.(*net.TCPConn).Close()
	}
}
