package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// ListenUDP opens a UDP socket for a front end that runs its own protocol
// on it (QUIC). As for TCP listeners, an address another process holds is
// an error unless takeover; SO_REUSEPORT is set either way, so that a later
// process can take over this one.
func ListenUDP(addr string, takeover bool) (*net.UDPConn, error) {
	if !takeover {
		if _, port, err := net.SplitHostPort(addr); err == nil && port != "0" {
			probe, err := net.ListenPacket("udp", addr)
			if errors.Is(err, unix.EADDRINUSE) {
				return nil, fmt.Errorf("%w (another process listens there; --takeover shares it deliberately)", err)
			}
			if err == nil {
				_ = probe.Close()
			}
		}
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}
