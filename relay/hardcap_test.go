package relay_test

import (
	"net"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

// When both ends send and neither reads, neither socket can be parked (a
// side is parked only once its own outbound queue is empty), so the
// watermarks alone cannot stop the proxy from buffering. The hard cap must
// then end the tunnel, with memory still bounded by it.
func TestHardCapEndsTunnelWhenNeitherEndReads(t *testing.T) {
	const hardCap = 4 << 20
	rcfg := &relay.Config{High: testHigh, Low: testHigh / 4, HardCap: hardCap}
	junk := make([]byte, 64<<10)
	flood := func(c net.Conn) {
		_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for i := 0; i < 4096; i++ { // 256 MiB at most
			if _, err := c.Write(junk); err != nil {
				return
			}
		}
	}
	org := origin(t, func(c net.Conn) {
		defer c.Close()
		_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
		flood(c) // never reads
	})
	p := startProxy(t, engine.Config{}, rcfg, org)
	c := dial(t, p.addr)
	_ = c.SetReadBuffer(64 << 10)
	go flood(c) // never reads either

	tun := p.nextEnded(t)
	if tun.Rec.Reason != relay.ReasonOverflow {
		t.Fatalf("tunnel ended with %q; want %q", tun.Rec.Reason, relay.ReasonOverflow)
	}
	// One read past the cap at most (gnet's read buffer is 256 KiB).
	if limit := int32(hardCap + 256<<10); tun.PeakUp > limit || tun.PeakDown > limit {
		t.Errorf("peak buffered up %d, down %d; want <= hard cap + one read = %d", tun.PeakUp, tun.PeakDown, limit)
	}
}
