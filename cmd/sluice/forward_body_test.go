package main

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A forwarded request carries its own body to the origin and nothing the
// client pipelined after it, so a second request cannot ride along
// unrewritten (request smuggling through the proxy). The client's FIN,
// sent before the origin is even connected, reaches the origin too.
func TestForwardCutsBodyAtItsEnd(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	ln := funcOrigin(t, func(c net.Conn) {
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c) // until the proxy passes on the client's FIN
		if err != nil {
			got <- "no FIN from the proxy: " + err.Error()
			return
		}
		got <- string(b)
	})
	p := startOpenProxy(t)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	c := dialProxy(t, p.plain, false)
	req := "POST http://127.0.0.1:" + port + "/x HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Length: 5\r\n\r\nhello" +
		"GET /smuggled HTTP/1.1\r\nHost: evil\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	var seen string
	select {
	case seen = <-got:
	case <-time.After(waitLimit):
		t.Fatal("origin saw nothing")
	}
	if !strings.HasSuffix(seen, "\r\n\r\nhello") || strings.Contains(seen, "smuggled") {
		t.Fatalf("origin got %q; want the rewritten head, exactly the 5-byte body, then the client's FIN", seen)
	}
}

// The origin's response head is forwarded without its hop-by-hop fields
// and with "Connection: close"; an interim 100 head passes first.
func TestForwardStripsResponseHopByHop(t *testing.T) {
	t.Parallel()
	ln := funcOrigin(t, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = io.WriteString(c, "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s3cret\r\nKeep-Alive: timeout=5\r\n"+
			"Proxy-Authenticate: Basic realm=\"inner\"\r\nContent-Length: 5\r\nX-Kept: yes\r\n\r\nhello")
	})
	p := startOpenProxy(t)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	c := dialProxy(t, p.plain, false)
	if _, err := io.WriteString(c, "GET http://127.0.0.1:"+port+"/ HTTP/1.1\r\nHost: 127.0.0.1:"+port+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	s := string(got)
	want := "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\nConnection: close\r\n\r\n"
	if !strings.HasPrefix(s, want) {
		t.Fatalf("response starts %q; want the interim head first, rewritten: %q", s, want)
	}
	final := s[len(want):]
	for _, bad := range []string{"X-Secret", "Keep-Alive", "Proxy-Authenticate", "keep-alive"} {
		if strings.Contains(final, bad) {
			t.Errorf("forwarded response still has %q:\n%s", bad, final)
		}
	}
	if !strings.Contains(final, "X-Kept: yes\r\n") || !strings.Contains(final, "Connection: close\r\n") || !strings.HasSuffix(final, "\r\n\r\nhello") {
		t.Errorf("forwarded response:\n%q", final)
	}
}
