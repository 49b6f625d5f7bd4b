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

func spliceRelay() *relay.Config {
	return &relay.Config{High: testHigh, Low: testHigh / 4, HardCap: 64 * testHigh,
		SpliceAfter: 1 << 20, Splices: &relay.Splices{Max: 16}, IdleTimeout: time.Minute}
}

// A bulk tunnel moves to splice(2) once past SpliceAfter, and every byte
// still arrives in order, both ways at once, with half-close.
func TestSpliceBulkBothWays(t *testing.T) {
	org := origin(t, func(c net.Conn) {
		defer c.Close()
		h := sha256.New()
		_, _ = io.Copy(io.MultiWriter(h, c), c) // echo to the client's FIN
		_, _ = c.Write(h.Sum(nil))
	})
	p := startProxy(t, engine.Config{HalfClose: true}, spliceRelay(), org)
	c := dial(t, p.addr)
	data := randomBytes(t, 24<<20)
	go func() {
		_, _ = c.Write(data)
		_ = c.CloseWrite()
	}()
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := append(append([]byte(nil), data...), sum[:]...)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes; want the %d echoed plus the hash (equal: %v)", len(got), len(want), bytes.Equal(got[:min(len(got), len(data))], data[:min(len(got), len(data))]))
	}
	c.Close()
	tun := p.nextEnded(t)
	if !tun.Rec.Spliced {
		t.Fatal("the tunnel was never spliced")
	}
	if tun.Rec.Up != int64(len(data)) || tun.Rec.Down != int64(len(want)) {
		t.Errorf("counted up %d down %d; want %d and %d", tun.Rec.Up, tun.Rec.Down, len(data), len(want))
	}
}

// A download that the upstream ends with close: every byte reaches the
// client, then EOF.
func TestSpliceDownloadThenClose(t *testing.T) {
	data := randomBytes(t, 32<<20)
	org := origin(t, func(c net.Conn) {
		_, _ = c.Write(data)
		c.Close()
	})
	p := startProxy(t, engine.Config{}, spliceRelay(), org)
	c := dial(t, p.addr)
	n, sum, err := slowRead(c, 256<<10, 0)
	c.Close()
	if err != nil || n != int64(len(data)) || sum != sha256.Sum256(data) {
		t.Fatalf("got %d of %d bytes (err %v)", n, len(data), err)
	}
	if tun := p.nextEnded(t); !tun.Rec.Spliced {
		t.Fatal("not spliced")
	}
}

// A spliced tunnel that goes quiet is ended by the idle timeout too.
func TestSpliceIdleTimeout(t *testing.T) {
	org := origin(t, echo)
	rcfg := spliceRelay()
	rcfg.IdleTimeout = 500 * time.Millisecond
	p := startProxy(t, engine.Config{}, rcfg, org)
	c := dial(t, p.addr)
	data := randomBytes(t, 4<<20)
	go func() { _, _ = c.Write(data) }()
	if _, err := io.ReadFull(c, make([]byte, len(data))); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after going idle: %v; want EOF from the idle timeout", err)
	}
	tun := p.nextEnded(t)
	if !tun.Rec.Spliced || tun.Rec.Reason != relay.ReasonIdle {
		t.Fatalf("spliced %v reason %s; want a spliced tunnel ended by %s", tun.Rec.Spliced, tun.Rec.Reason, relay.ReasonIdle)
	}
}

// Draining waits for spliced tunnels and cuts them at its deadline.
func TestSpliceDrain(t *testing.T) {
	org := origin(t, echo)
	rcfg := spliceRelay()
	p := startProxy(t, engine.Config{}, rcfg, org)
	c := dial(t, p.addr)
	data := randomBytes(t, 4<<20)
	go func() { _, _ = c.Write(data) }()
	if _, err := io.ReadFull(c, make([]byte, len(data))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for rcfg.Splices.Active() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if rcfg.Splices.Active() != 1 {
		t.Fatalf("%d spliced tunnels; want 1", rcfg.Splices.Active())
	}
	ctx, cancel := contextWithTimeout(300 * time.Millisecond)
	defer cancel()
	if err := rcfg.Splices.Drain(ctx); err == nil {
		t.Fatal("Drain returned nil with a spliced tunnel still open")
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the spliced tunnel survived the drain deadline")
	}
	if tun := p.nextEnded(t); !tun.Rec.Spliced {
		t.Fatal("not spliced")
	}
}
