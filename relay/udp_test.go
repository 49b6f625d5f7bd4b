package relay

import (
	"testing"
	"time"
)

func udpRequest() *Request {
	return &Request{Proto: ProtoH2, Kind: KindUDP, Method: "CONNECT", Host: "192.0.2.1", Port: 53, Target: "192.0.2.1:53"}
}

// Datagrams keep their boundaries both ways, those sent before the socket
// was connected included: one Write each, in order.
func TestUDPDatagramBoundaries(t *testing.T) {
	h := newHarness(t, udpRequest())
	h.client.ev.Data([]byte("early-1"))
	h.client.ev.Data([]byte{}) // an empty datagram is one too
	h.client.ev.Data([]byte("early-3"))
	h.connect()
	h.client.ev.Data([]byte("late"))
	h.up.ev.Data([]byte("answer"))
	want := []string{"early-1", "", "early-3", "late"}
	if len(h.up.writes) != len(want) {
		t.Fatalf("upstream got %d writes %q; want %q", len(h.up.writes), h.up.writes, want)
	}
	for i, w := range want {
		if string(h.up.writes[i]) != w {
			t.Errorf("datagram %d upstream = %q; want %q", i, h.up.writes[i], w)
		}
	}
	if len(h.client.writes) != 1 || string(h.client.writes[0]) != "answer" {
		t.Errorf("client got %q; want one datagram \"answer\"", h.client.writes)
	}
	if r := h.tun.Rec; r.DatagramsUp != 4 || r.DatagramsDown != 1 || r.Up != 18 || r.Down != 6 {
		t.Errorf("record counts up %d/%d B down %d/%d B", r.DatagramsUp, r.Up, r.DatagramsDown, r.Down)
	}
}

// UDP has no backpressure: toward an end with more than High queued, and
// for a datagram over MaxDatagram, the tunnel drops and counts instead of
// pausing the source.
func TestUDPDropsInsteadOfPausing(t *testing.T) {
	h := newHarness(t, udpRequest())
	h.cfg.MaxDatagram = 100
	h.connect()
	h.client.ev.Data(make([]byte, 101)) // too large
	for h.up.queued <= testHigh {
		h.client.ev.Data(make([]byte, 100))
	}
	sent := len(h.up.writes)
	h.client.ev.Data(make([]byte, 100)) // the upstream is over High
	if h.client.paused {
		t.Fatal("a datagram flow paused its client: UDP must drop, not push back")
	}
	if len(h.up.writes) != sent || h.tun.Rec.Dropped != 2 {
		t.Fatalf("writes %d (want %d), dropped %d (want 2)", len(h.up.writes), sent, h.tun.Rec.Dropped)
	}
	h.up.drain(-1)
	h.client.ev.Data([]byte("after"))
	if string(h.up.writes[len(h.up.writes)-1]) != "after" {
		t.Error("a datagram after the queue drained was not relayed")
	}
}

// Datagrams before the socket is connected are held up to High; past it
// they are dropped, not queued without bound.
func TestUDPEarlyDatagramsBounded(t *testing.T) {
	h := newHarness(t, udpRequest())
	for i := 0; i < 3*testHigh/100; i++ {
		h.client.ev.Data(make([]byte, 100))
	}
	if h.client.paused {
		t.Fatal("client paused while its flow dials")
	}
	h.connect()
	held := len(h.up.writes)
	if held == 0 || held*102 > testHigh || h.tun.Rec.Dropped != int64(3*testHigh/100-held) {
		t.Errorf("held %d datagrams, dropped %d", held, h.tun.Rec.Dropped)
	}
}

// The end of the client's stream ends the flow: there is no half-close
// for datagrams. The access log has the datagram counts.
func TestUDPClientEOFEndsFlow(t *testing.T) {
	h := newHarness(t, udpRequest())
	h.connect()
	h.client.ev.Data([]byte("x"))
	h.client.ev.EOF()
	if !h.up.reset || h.up.fin {
		t.Fatalf("upstream reset %v fin %v; want the socket closed", h.up.reset, h.up.fin)
	}
	h.up.ev.Closed(nil)
	h.client.ev.Closed(nil)
	h.wantEnd(ReasonClientClosed, 200)
	m := h.line()
	if m["kind"] != "udp" || m["datagrams_up"] != 1.0 || m["datagrams_down"] != 0.0 || m["dropped"] != 0.0 {
		t.Errorf("access log %v", m)
	}
}

// A flow's idle timer is UDPIdleTimeout, not the TCP tunnels' IdleTimeout.
func TestUDPIdleTimeout(t *testing.T) {
	h := newHarness(t, udpRequest())
	h.cfg.IdleTimeout = time.Hour
	h.cfg.UDPIdleTimeout = 3 * time.Second
	h.connect()
	if h.loop.idleFor != 3*time.Second {
		t.Fatalf("idle timer %v; want --udp-idle-timeout", h.loop.idleFor)
	}
	h.loop.idle()
	if !h.client.reset || !h.up.reset {
		t.Fatal("idle flow not ended")
	}
}
