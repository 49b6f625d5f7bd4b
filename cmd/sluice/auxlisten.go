package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenAux opens an operator-facing listener (--pprof, --metrics) the way
// engine opens the proxy's: with SO_REUSEPORT, so that a sluice started
// with --takeover can bind the same address while this one drains, and,
// without --takeover, only if no other process listens there (an address
// in use is an error, not a silent share).
func listenAux(addr string, takeover bool) (net.Listener, error) {
	if !takeover {
		probe, err := net.Listen("tcp", addr)
		if errors.Is(err, unix.EADDRINUSE) {
			return nil, fmt.Errorf("%w (another process listens there; --takeover shares it deliberately)", err)
		}
		if err != nil {
			return nil, err
		}
		addr = probe.Addr().String() // ":0" stays the port the probe got
		_ = probe.Close()
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
	return lc.Listen(context.Background(), "tcp", addr)
}
