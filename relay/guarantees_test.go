package relay_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

const testHigh = 256 << 10

func testRelay() *relay.Config {
	return &relay.Config{High: testHigh, Low: testHigh / 4, HardCap: 64 * testHigh}
}

// A client that reads slowly from a fast upstream keeps the proxy's
// buffered bytes under a small multiple of the high watermark, reading
// resumes as it drains, and every byte arrives in order.
func TestSlowClientBoundsMemory(t *testing.T) {
	data := randomBytes(t, 24<<20)
	org := origin(t, func(c net.Conn) {
		defer c.Close()
		_, _ = c.Write(data)
	})
	p := startProxy(t, engine.Config{}, testRelay(), org)
	c := dial(t, p.addr)
	_ = c.SetReadBuffer(64 << 10)
	n, sum, err := slowRead(c, 32<<10, 200*time.Microsecond)
	c.Close() // our FIN ends the proxy's linger
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(data)) || sum != sha256.Sum256(data) {
		t.Fatalf("got %d bytes (hash match %v); want %d", n, sum == sha256.Sum256(data), len(data))
	}
	tun := p.nextEnded(t)
	if tun.PeakDown > 2*testHigh+256<<10 {
		t.Errorf("peak buffered toward the client = %d; want <= 2*high (+ one read) = %d", tun.PeakDown, 2*testHigh+256<<10)
	}
	if st := p.eng.Stats(); st.Parks == 0 || st.Unparks == 0 {
		t.Errorf("parks=%d unparks=%d; want reading paused and resumed", st.Parks, st.Unparks)
	}
}

// The reverse: a fast client and an upstream that reads slowly.
func TestSlowUpstreamBoundsMemory(t *testing.T) {
	data := randomBytes(t, 24<<20)
	got := make(chan [32]byte, 1)
	org := origin(t, func(c net.Conn) {
		defer c.Close()
		_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
		n, sum, _ := slowRead(c, 32<<10, 200*time.Microsecond)
		if n != int64(len(data)) {
			sum = [32]byte{}
		}
		got <- sum
	})
	p := startProxy(t, engine.Config{}, testRelay(), org)
	c := dial(t, p.addr)
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	_ = c.CloseWrite()
	select {
	case sum := <-got:
		if sum != sha256.Sum256(data) {
			t.Fatal("upstream got different bytes")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("upstream did not get all bytes within 60 s")
	}
	tun := p.nextEnded(t)
	if tun.PeakUp > 2*testHigh+256<<10 {
		t.Errorf("peak buffered toward the upstream = %d; want <= %d", tun.PeakUp, 2*testHigh+256<<10)
	}
}

// When the upstream sends its last bytes and closes, the client gets all
// of them before its conn closes.
func TestUpstreamCloseLosesNothing(t *testing.T) {
	data := randomBytes(t, 16<<20)
	org := origin(t, func(c net.Conn) {
		_, _ = c.Write(data)
		c.Close()
	})
	p := startProxy(t, engine.Config{}, testRelay(), org)
	c := dial(t, p.addr)
	_ = c.SetReadBuffer(64 << 10)
	n, sum, err := slowRead(c, 64<<10, time.Millisecond)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(data)) || sum != sha256.Sum256(data) {
		t.Fatalf("client got %d of %d bytes", n, len(data))
	}
	if r := p.nextEnded(t).Rec.Reason; r != relay.ReasonUpstreamEOF {
		t.Errorf("reason = %s; want %s", r, relay.ReasonUpstreamEOF)
	}
}

// When the client sends its last bytes and closes (no half-close), the
// upstream gets all of them.
func TestClientCloseLosesNothing(t *testing.T) {
	for _, half := range []bool{false, true} {
		data := randomBytes(t, 16<<20)
		got := make(chan int64, 1)
		org := origin(t, func(c net.Conn) {
			defer c.Close()
			_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
			n, sum, _ := slowRead(c, 64<<10, time.Millisecond)
			if sum != sha256.Sum256(data) {
				n = -n
			}
			got <- n
		})
		p := startProxy(t, engine.Config{HalfClose: half}, testRelay(), org)
		c := dial(t, p.addr)
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
		c.Close()
		select {
		case n := <-got:
			if n != int64(len(data)) {
				t.Fatalf("half-close=%v: upstream got %d bytes (negative: hash mismatch); want %d", half, n, len(data))
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("half-close=%v: upstream did not finish", half)
		}
	}
}

// True half-close: the client's FIN reaches the upstream, whose answer
// still reaches the client.
func TestHalfClose(t *testing.T) {
	data := randomBytes(t, 4<<20)
	org := origin(t, func(c net.Conn) {
		defer c.Close()
		h := sha256.New()
		_, _ = io.Copy(h, c) // to the client's FIN
		_, _ = c.Write(h.Sum(nil))
	})
	p := startProxy(t, engine.Config{HalfClose: true}, testRelay(), org)
	c := dial(t, p.addr)
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	reply, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	if !bytes.Equal(reply, want[:]) {
		t.Fatalf("reply = %x; want %x", reply, want)
	}
}

// Without --half-close the proxy behaves as nginx: what the client sent is
// delivered, then both sides close, so the answer never comes.
func TestNoHalfCloseIsNginxLike(t *testing.T) {
	data := randomBytes(t, 1<<20)
	got := make(chan [32]byte, 1)
	org := origin(t, func(c net.Conn) {
		defer c.Close()
		h := sha256.New()
		_, _ = io.Copy(h, c)
		var s [32]byte
		copy(s[:], h.Sum(nil))
		got <- s
		_, _ = c.Write(s[:])
	})
	p := startProxy(t, engine.Config{HalfClose: false}, testRelay(), org)
	c := dial(t, p.addr)
	_, _ = c.Write(data)
	_ = c.CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	reply, _ := io.ReadAll(c)
	if s := <-got; s != sha256.Sum256(data) {
		t.Fatal("upstream got different bytes")
	}
	if len(reply) != 0 {
		t.Fatalf("got a %d-byte reply after the client's FIN; want none without half-close", len(reply))
	}
}

// Idle tunnels hold no engine buffers: after traffic stops, every pooled
// buffer is back.
func TestIdleTunnelsHoldNoBuffers(t *testing.T) {
	org := origin(t, echo)
	p := startProxy(t, engine.Config{}, testRelay(), org)
	var conns []*net.TCPConn
	msg := randomBytes(t, 100<<10)
	for range 20 {
		c := dial(t, p.addr)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for engine.HeldBuffers() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := engine.HeldBuffers(); n != 0 {
		t.Fatalf("%d engine buffers held by %d idle tunnels; want 0", n, len(conns))
	}
}
