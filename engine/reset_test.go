package engine

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// resetHandler tells the test about its conn's events.
type resetHandler struct {
	conns  chan *Conn
	eof    chan struct{}
	closed chan error
}

func (h *resetHandler) OnData(c *Conn, b []byte) int { return len(b) }
func (h *resetHandler) OnReadEOF(c *Conn)            { h.eof <- struct{}{} }
func (h *resetHandler) OnDrained(c *Conn)            {}
func (h *resetHandler) OnTimeout(c *Conn)            {}
func (h *resetHandler) OnClose(c *Conn, err error)   { h.closed <- err }

// disconnect is connect(fd, AF_UNSPEC): Linux's tcp_disconnect, which
// sends the peer an RST and leaves the socket in TCP_CLOSE with
// ECONNRESET pending, nothing to read and no shutdown bits, so it polls
// EPOLLERR|EPOLLHUP without EPOLLIN: what a socket that is being reset
// shows an epoll_wait that comes in the middle of tcp_reset (the error
// and TCP_CLOSE are set, RCV_SHUTDOWN not yet).
func disconnect(fd int) error {
	sa := [16]byte{} // sa_family = AF_UNSPEC (0)
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
	if e != 0 {
		return e
	}
	return nil
}

// TestResetPolledAsErrorEventIsAnError: a conn whose socket was reset
// is closed with ECONNRESET, and never reported as the peer's FIN, even
// when the reset reaches gnet as an error event with nothing to read,
// which gnet closes without a read and calls io.EOF. A tunnel would end
// its client cleanly (END_STREAM, a QUIC FIN) for an origin that reset.
func TestResetPolledAsErrorEventIsAnError(t *testing.T) {
	for _, halfClose := range []bool{false, true} {
		t.Run(fmt.Sprintf("HalfClose=%v", halfClose), func(t *testing.T) {
			h := &resetHandler{conns: make(chan *Conn, 1), eof: make(chan struct{}, 1), closed: make(chan error, 1)}
			a := startEngine(t, Config{Workers: 1, HalfClose: halfClose, Log: zerolog.Nop()}, ListenerSpec{Open: func(c *Conn) Handler {
				h.conns <- c
				return h
			}})
			peer, err := net.DialTimeout("tcp", a.String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			var c *Conn
			select {
			case c = <-h.conns:
			case <-time.After(10 * time.Second):
				t.Fatal("no conn opened")
			}
			// On the loop, so that gnet polls the socket only after.
			type result struct {
				err     error
				revents int16
			}
			res := make(chan result, 1)
			c.Exec(func() {
				fd := c.gc.Fd()
				err := disconnect(fd)
				p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				_, _ = unix.Poll(p, 0)
				res <- result{err, p[0].Revents}
			})
			var r result
			select {
			case r = <-res:
			case <-time.After(10 * time.Second):
				t.Fatal("Exec did not run within 10 s")
			}
			if r.err != nil {
				t.Skipf("connect(AF_UNSPEC): %v", r.err)
			}
			if r.revents&unix.POLLIN != 0 || r.revents&unix.POLLERR == 0 {
				t.Skipf("the disconnected socket polls %#x, not POLLERR without POLLIN", r.revents)
			}
			select {
			case err = <-h.closed:
			case <-h.eof:
				t.Fatal("a reset socket reported as the peer's FIN (OnReadEOF)")
			case <-time.After(10 * time.Second):
				t.Fatal("the reset conn was not closed within 10 s")
			}
			if err == nil || errors.Is(err, io.EOF) || !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("closed with %v, want ECONNRESET", err)
			}
		})
	}
}
