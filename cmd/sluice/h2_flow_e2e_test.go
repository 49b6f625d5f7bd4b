package main

import (
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestH2SlowUpstreamWithholdsCredit: an upstream that does not read makes
// the proxy stop returning flow-control credit on the CONNECT stream, so
// an HTTP/2 client that keeps sending is held to the windows plus the
// socket buffers, not the whole upload; once the upstream reads, every
// byte arrives.
func TestH2SlowUpstreamWithholdsCredit(t *testing.T) {
	t.Parallel()
	data := make([]byte, 48<<20)
	_, _ = rand.Read(data)
	start := make(chan struct{})
	got := make(chan [32]byte, 1)
	ln := funcOrigin(t, func(c net.Conn) {
		_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
		<-start
		h := sha256.New()
		_, _ = io.CopyN(h, c, int64(len(data)))
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		got <- sum
	})
	p := startOpenProxy(t, "--buffer-size", "262144")
	cc := h2ClientConn(t, p, true)
	resp, pw, err := h2Connect(cc, ln.Addr().String())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	defer pw.Close()
	var written atomic.Int64
	go func() {
		for off := 0; off < len(data); off += 64 << 10 {
			n, err := pw.Write(data[off : off+64<<10])
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	// Wait until the client is stuck: no progress for half a second.
	last, still := int64(-1), time.Now()
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if w := written.Load(); w != last {
			last, still = w, time.Now()
		} else if time.Since(still) > 500*time.Millisecond {
			break
		}
	}
	t.Logf("accepted from the client while the upstream read nothing: %d bytes", written.Load())
	const bound = 16 << 20 // windows + --buffer-size + socket buffers, with room
	if w := written.Load(); w > bound {
		t.Fatalf("the client got %d bytes accepted while the upstream read nothing; want <= %d: credit was not withheld", w, bound)
	}
	close(start)
	select {
	case sum := <-got:
		if sum != sha256.Sum256(data) {
			t.Fatal("the upstream got other bytes than were sent")
		}
	case <-time.After(waitLimit):
		t.Fatalf("the upstream got no complete upload (%d bytes written)", written.Load())
	}
}
