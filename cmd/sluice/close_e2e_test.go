package main

import (
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"testing"
	"time"
)

// TestE2ECloseLosesNothing: a side that closes while the proxy still holds
// megabytes queued toward the other side (its peer is not reading yet) has
// every one of them delivered, in order, once the peer reads. The big
// --buffer-size lets the proxy take all of it and see the close first; the
// kernel buffers cannot hold it, so a close that drops the proxy's queue
// shows as missing bytes. splice is off: this is the event-loop path.
func TestE2ECloseLosesNothing(t *testing.T) {
	t.Parallel()
	const n = 12 << 20
	data := make([]byte, n)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	p := startOpenProxy(t, "--buffer-size", "33554432", "--splice-after", "0")

	for _, useTLS := range []bool{false, true} {
		t.Run("upstream-close/"+listenerName(useTLS), func(t *testing.T) {
			origin := funcOrigin(t, func(c net.Conn) {
				_, _ = c.Write(data) // then funcOrigin closes it
			})
			c := openTunnel(t, p, useTLS, origin.Addr().String())
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(64 << 10)
			}
			time.Sleep(300 * time.Millisecond) // the proxy reads the origin to EOF meanwhile
			_ = c.SetReadDeadline(time.Now().Add(waitLimit))
			got, err := io.ReadAll(c)
			if err != nil || len(got) != n || sha256.Sum256(got) != sum {
				t.Fatalf("client got %d of %d bytes (err %v, same bytes %v)", len(got), n, err, sha256.Sum256(got) == sum)
			}
		})

		t.Run("client-close/"+listenerName(useTLS), func(t *testing.T) {
			start := make(chan struct{})
			got := make(chan [2]any, 1)
			origin := funcOrigin(t, func(c net.Conn) {
				_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
				select {
				case <-start:
				case <-time.After(2 * waitLimit):
					return
				}
				_ = c.SetReadDeadline(time.Now().Add(waitLimit))
				b, err := io.ReadAll(c)
				got <- [2]any{b, err}
			})
			c := openTunnel(t, p, useTLS, origin.Addr().String())
			_ = c.SetWriteDeadline(time.Now().Add(waitLimit))
			if _, err := c.Write(data); err != nil {
				t.Fatal(err)
			}
			_ = c.Close()                      // a full close, not a half-close
			time.Sleep(300 * time.Millisecond) // the proxy sees the close meanwhile
			close(start)
			select {
			case r := <-got:
				b, _ := r[0].([]byte)
				if len(b) != n || sha256.Sum256(b) != sum {
					t.Fatalf("origin got %d of %d bytes (read end %v, same bytes %v)", len(b), n, r[1], sha256.Sum256(b) == sum)
				}
			case <-time.After(2 * waitLimit):
				t.Fatal("the origin never reached EOF")
			}
		})
	}
}
