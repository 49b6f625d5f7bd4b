package main

// --half-close=false: a CONNECT tunnel ends at its client's FIN, as
// nginx's proxy_half_close off; HTTP still answers a request a FIN
// followed (a forwarded one, the site's).

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestE2EHalfCloseOffAnswersRequestBeforeFIN(t *testing.T) {
	t.Parallel()
	// The origin answers once the client's FIN, passed on, reached it.
	origin := funcOrigin(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\norigin")
	})
	target := origin.Addr().String()
	p := startOpenProxy(t, "--half-close=false")
	for _, tc := range []struct{ name, req, body string }{
		{"forwarded", "GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n", "origin"},
		{"site", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ""},
	} {
		for _, useTLS := range []bool{false, true} {
			c := dialProxy(t, p.addr(useTLS), useTLS)
			_ = c.SetDeadline(time.Now().Add(waitLimit))
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			if err := closeWrite(c); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s over %s, the client's FIN after the request: %v; want the answer", tc.name, listenerName(useTLS), err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || tc.body != "" && string(b) != tc.body {
				t.Errorf("%s over %s: %d %q; want 200 %q", tc.name, listenerName(useTLS), resp.StatusCode, b, tc.body)
			}
		}
	}
}

// Once the tunnel is up the client's FIN ends it both ways: what the
// upstream sends after it does not reach the client (with half-close on it
// does).
func TestE2EHalfCloseOffTunnelEndsAtFIN(t *testing.T) {
	t.Parallel()
	origin := funcOrigin(t, func(c net.Conn) {
		_, _ = c.Write([]byte("up"))
		_, _ = io.Copy(io.Discard, c) // to the proxy's FIN
		_, _ = c.Write([]byte("late"))
	})
	for _, tc := range []struct {
		flag, want string
	}{
		{"--half-close=false", "up"},
		{"--half-close=true", "uplate"},
	} {
		p := startOpenProxy(t, tc.flag, "--splice-after", "0")
		c := dialProxy(t, p.plain, false)
		_ = c.SetDeadline(time.Now().Add(waitLimit))
		if _, err := io.WriteString(c, connectReq(origin.Addr().String())); err != nil {
			t.Fatal(err)
		}
		readEstablished(t, c)
		got := make([]byte, 2)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("%s: %v", tc.flag, err)
		}
		if err := closeWrite(c); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(c) // EOF or a reset: the tunnel ended either way
		if s := string(got) + string(rest); s != tc.want {
			t.Errorf("%s: the client read %q; want %q", tc.flag, s, tc.want)
		}
	}
}
