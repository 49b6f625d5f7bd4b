package main

import (
	"io"
	"net"
	"testing"
	"time"
	"unsafe"

	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http2"
	"golang.org/x/sys/unix"
)

// TestE2EUpstreamResetPolledAsErrorEvent: an upstream socket reset while
// its tunnel is idle ends the tunnel as an upstream error (h2, h3: the
// stream reset with CONNECT_ERROR), also when the event loop's poll sees
// the reset as an error event with nothing to read, which is how a poll
// on another CPU can catch a socket in the middle of Linux's tcp_reset
// (the error and TCP_CLOSE set, not yet the shutdown bits). The test puts
// the proxy's upstream socket in that state with connect(AF_UNSPEC),
// which resets it (the origin gets the RST) and leaves it polling
// EPOLLERR|EPOLLHUP without EPOLLIN.
func TestE2EUpstreamResetPolledAsErrorEvent(t *testing.T) {
	p := startOpenProxy(t)
	for _, pr := range faultProtos {
		t.Run(pr.name, func(t *testing.T) {
			ports := make(chan int, 1)
			o := startWatchedOrigin(t, func(c net.Conn) error {
				if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
					return err
				}
				if _, err := c.Write([]byte("hi")); err != nil {
					return err
				}
				ports <- c.RemoteAddr().(*net.TCPAddr).Port
				_, err := drainUntilEnd(c)
				return err
			})
			c := pr.dial(t, p)
			t.Cleanup(c.close)
			tun := mustConnect(t, c, o.addr())
			if _, err := tun.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(tun, make([]byte, 2)); err != nil {
				t.Fatal(err)
			}
			var port int
			select {
			case port = <-ports:
			case <-time.After(waitLimit):
				t.Fatal("the origin got no bytes")
			}
			fd := socketFD(t, port, o.ln.Addr().(*net.TCPAddr).Port)
			var sa [16]byte // AF_UNSPEC
			if _, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa))); e != 0 {
				t.Skipf("connect(AF_UNSPEC): %v", e)
			}
			_ = o.waitEnded(t, "upstream reset")
			rest, err := io.ReadAll(tun)
			if _, isH1 := tun.(*h1FaultTunnel); !isH1 && !isTunnelReset(err, http2.ErrCodeConnect, http3.ErrCodeConnectError) {
				t.Errorf("after the upstream's reset the client read %d more bytes, then %v; want CONNECT_ERROR", len(rest), err)
			}
			// h1: the client's connection ends either way; the log tells.
			if l := p.waitLog(o.addr()); l.str("reason") != "upstream_error" {
				t.Errorf("access log reason %q; want upstream_error (%v)", l.str("reason"), l)
			}
		})
	}
}
