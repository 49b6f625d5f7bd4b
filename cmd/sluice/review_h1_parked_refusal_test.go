package main

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A CONNECT whose early bytes (sent before the 200) pass the high
// watermark while the target is resolved gets its client paused (parked:
// the engine stops reading it). When the dial then fails, h1 writes the
// 5xx and CloseAfterFlush; for a parked conn serviceFlush closes at once,
// with the client's unread bytes still in the socket's receive queue, so
// the kernel answers with RST. The client must still read the 5xx.
func TestReviewH1ParkedClientGetsDialError(t *testing.T) {
	t.Parallel()
	dns, release := heldDNS(t)
	p := startOpenProxy(t, "--resolver", dns, "--buffer-size", "4096")
	c := dialProxy(t, p.plain, false)
	target := "held.invalid:80"
	if _, err := io.WriteString(c, connectReq(target)+strings.Repeat("x", 64<<10)); err != nil {
		t.Fatal(err)
	}
	// DNS holds the dial; wait until the proxy parked the client.
	deadline := time.Now().Add(waitLimit)
	for p.s.eng.Stats().Parks == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the client was never parked")
		}
		time.Sleep(time.Millisecond)
	}
	release()
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("no answer to the failed CONNECT: %v", err)
	}
	if resp.StatusCode/100 != 5 {
		t.Fatalf("status %d, want 5xx", resp.StatusCode)
	}
	p.waitLog(target)
}
