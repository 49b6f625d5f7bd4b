package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
)

// A forwarded absolute-form request is relayed through a tunnel whose
// client handler (h1 forwarding) passes exactly one request body upstream
// and drops whatever the client sends after it: the origin was told
// Connection: close, and a pipelined request must not reach it unrewritten
// (its Proxy-Authorization and hop-by-hop fields unstripped, no ACL check).
// relay.maybeSplice does not know about that cut: once the tunnel has
// carried --splice-after bytes it swaps the client's handler for
// spliceHold and hands the raw client socket to splice(2), which copies
// everything the client sends next straight to the origin.
func TestReviewSplicedForwardKeepsBodyCut(t *testing.T) {
	t.Parallel()
	const size = 4 << 20
	extra := make(chan []byte, 1)
	ln := funcOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			extra <- []byte("origin: " + err.Error())
			return
		}
		_ = req.Body.Close()
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size)
		_, _ = c.Write(make([]byte, size))
		rest, _ := io.ReadAll(br) // until the proxy's FIN or close
		extra <- rest
	})
	target := ln.Addr().String()
	p := startOpenProxy(t, "--splice-after", "1048576")
	c := dialProxy(t, p.plain, false)
	if _, err := fmt.Fprintf(c, "GET http://%s/big HTTP/1.1\r\nHost: %s\r\n\r\n", target, target); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != size {
		t.Fatalf("body: %d bytes, %v; want %d", n, err, size)
	}
	smuggled := "GET /second HTTP/1.1\r\nHost: " + target + "\r\nProxy-Authorization: Basic c2VjcmV0OnNlY3JldA==\r\n\r\n"
	if _, err := io.WriteString(c, smuggled); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	got := <-extra // funcOrigin's 30 s deadline bounds the wait
	if len(got) > 0 {
		t.Fatalf("the origin received %d bytes sent after the forwarded request: %q", len(got), bytes.TrimSpace(got))
	}
	l := p.waitLog("http://" + target + "/big")
	t.Logf("access log: spliced=%v reason=%v", l["spliced"], l["reason"])
}
