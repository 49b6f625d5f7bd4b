package engine

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// keepAliveOf reads a socket's SO_KEEPALIVE and TCP_KEEPIDLE (seconds).
func keepAliveOf(t *testing.T, c *net.TCPConn) (on, idle int) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = rc.Control(func(fd uintptr) {
		on, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		idle, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
	})
	return on, idle
}

// With TCPKeepAlive, accepted and dialed sockets probe after it; without,
// neither does (the idle timeout ends dead tunnels).
func TestTCPKeepAlive(t *testing.T) {
	for _, d := range []time.Duration{0, 7 * time.Second} {
		e := New(Config{Workers: 1, TCPKeepAlive: d, Log: zerolog.Nop()})
		l, err := listen(e, ListenerSpec{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		addr := netip.MustParseAddrPort(l.ln.Addr().String())
		dialed, err := e.connect(context.Background(), "tcp", []netip.Addr{addr.Addr()}, addr.Port(), &DialInfo{})
		if err != nil {
			t.Fatal(err)
		}
		accepted, err := l.ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]*net.TCPConn{"accepted": accepted, "dialed": dialed.(*net.TCPConn)} {
			on, idle := keepAliveOf(t, c)
			if want := d > 0; (on != 0) != want || want && idle != int(d/time.Second) {
				t.Errorf("TCPKeepAlive %v, %s socket: SO_KEEPALIVE %d, TCP_KEEPIDLE %d s", d, name, on, idle)
			}
		}
		_ = accepted.Close()
		_ = dialed.Close()
		l.close()
	}
}
