package engine_test

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// packetProbe records a PacketConn's events and hands them to the test.
type packetProbe struct {
	dialed chan *engine.PacketConn
	got    chan []byte
	closed chan error
}

func newPacketProbe() *packetProbe {
	return &packetProbe{dialed: make(chan *engine.PacketConn, 1), got: make(chan []byte, 64), closed: make(chan error, 1)}
}

func (p *packetProbe) DialedUDP(pc *engine.PacketConn, _ engine.DialInfo, err error) {
	if err != nil {
		p.closed <- err
		return
	}
	p.dialed <- pc
}
func (p *packetProbe) OnDatagram(pc *engine.PacketConn, b []byte) { p.got <- append([]byte(nil), b...) }
func (p *packetProbe) OnClose(pc *engine.PacketConn, err error)   { p.closed <- err }

func udpEcho(t *testing.T) *net.UDPConn {
	t.Helper()
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := uc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = uc.WriteToUDP(buf[:n], from)
		}
	}()
	return uc
}

func packetEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e, _ := serve(t, engine.Config{Workers: 1, MaxDatagram: 9000}, engine.ListenerSpec{Open: nopOpen})
	return e
}

func dialUDP(t *testing.T, e *engine.Engine, addr *net.UDPAddr, p *packetProbe) (*engine.Loop, *engine.PacketConn) {
	t.Helper()
	l := e.PickLoop()
	l.Exec(func() {
		l.DialUDP(engine.DialTarget{Host: addr.IP.String(), Port: uint16(addr.Port), Timeout: 5 * time.Second}, p)
	})
	select {
	case pc := <-p.dialed:
		return l, pc
	case err := <-p.closed:
		t.Fatalf("DialUDP: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("DialUDP: no answer")
	}
	return nil, nil
}

// A connected UDP socket on a loop: one Write is one datagram and one
// OnDatagram is one datagram, empty ones included, whatever their sizes.
func TestPacketConnDatagrams(t *testing.T) {
	e := packetEngine(t)
	echo := udpEcho(t)
	p := newPacketProbe()
	l, pc := dialUDP(t, e, echo.LocalAddr().(*net.UDPAddr), p)
	for _, size := range []int{0, 1, 1200, 9000} {
		msg := bytes.Repeat([]byte{byte(size)}, size)
		l.Exec(func() { pc.Write(msg) })
		select {
		case got := <-p.got:
			if !bytes.Equal(got, msg) {
				t.Fatalf("datagram of %d bytes came back as %d bytes", size, len(got))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no echo of a %d-byte datagram", size)
		}
	}
	// Past MaxDatagram a datagram is dropped and counted, and the flow
	// goes on.
	l.Exec(func() { pc.Write(make([]byte, 9001)) })
	l.Exec(func() { pc.Write([]byte("after")) })
	select {
	case got := <-p.got:
		if string(got) != "after" {
			t.Fatalf("got a %d-byte datagram; want the one after the oversized one", len(got))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no datagram after an oversized one")
	}
	if d := pc.Drops(); d != 1 {
		t.Errorf("Drops() = %d; want 1 for the datagram over MaxDatagram", d)
	}
	l.Exec(pc.Close)
	if err := <-p.closed; err != nil {
		t.Fatalf("local close reported %v", err)
	}
}

// An ICMP port unreachable from the target does not end the flow: the
// socket stays open, and later datagrams still go out.
func TestPacketConnSurvivesICMP(t *testing.T) {
	e := packetEngine(t)
	gone, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := gone.LocalAddr().(*net.UDPAddr)
	_ = gone.Close() // nothing listens: datagrams draw ICMP port unreachable
	p := newPacketProbe()
	l, pc := dialUDP(t, e, addr, p)
	for i := 0; i < 5; i++ {
		l.Exec(func() { pc.Write([]byte("anyone?")) })
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-p.closed:
		t.Fatalf("the flow ended on ICMP errors: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	// Something listens there now: the same flow reaches it.
	back, err := net.ListenUDP("udp", addr)
	if err != nil {
		t.Fatalf("port %d was taken meanwhile: %v", addr.Port, err)
	}
	defer back.Close()
	l.Exec(func() { pc.Write([]byte("now?")) })
	_ = back.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, _, err := back.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != "now?" {
		t.Fatalf("after the ICMP errors the flow's datagram did not arrive: %q %v", buf[:n], err)
	}
}
