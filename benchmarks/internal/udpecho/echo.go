// Package udpecho is the UDP origin of both load tools (loadgen's dgram
// mode, the soak's connect-udp flows): a loopback socket that sends every
// datagram back to where it came from, unchanged. Both tools need the
// same thing of it, and the same care: it shares its core with the client
// that loads the proxy, so it reads and writes in batches (recvmmsg,
// sendmmsg) rather than a syscall per datagram each way, which would make
// the echo, not the proxy, the limit.
package udpecho

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// batch is the datagrams taken per recvmmsg.
const batch = 64

// maxDatagram is the largest datagram echoed whole.
const maxDatagram = 64 << 10

// Echo is a running UDP echo.
type Echo struct {
	uc     *net.UDPConn
	wg     sync.WaitGroup
	echoed atomic.Int64
}

// Start listens on addr, which must be a loopback address: the tools never
// send traffic anywhere else. When addr's port is taken it falls back to
// any port on the same host (a caller that asks for its TCP origin's
// number gets another one rather than nothing). buffer is the socket
// buffer asked for either way; the kernel caps it at net.core.rmem_max /
// wmem_max unless the tool runs as root.
func Start(addr string, buffer int) (*Echo, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	if ua.IP == nil || !ua.IP.IsLoopback() {
		return nil, fmt.Errorf("udp origin %q: only loopback addresses are allowed", addr)
	}
	uc, err := net.ListenUDP("udp", ua)
	if err != nil && ua.Port != 0 {
		uc, err = net.ListenUDP("udp", &net.UDPAddr{IP: ua.IP})
	}
	if err != nil {
		return nil, err
	}
	_ = uc.SetReadBuffer(buffer)
	_ = uc.SetWriteBuffer(buffer)
	e := &Echo{uc: uc}
	e.wg.Add(1)
	go e.serve()
	return e, nil
}

// Addr is the host:port flows target.
func (e *Echo) Addr() string { return e.uc.LocalAddr().String() }

// Echoed is how many datagrams were sent back so far.
func (e *Echo) Echoed() int64 { return e.echoed.Load() }

// Close stops the echo and waits for its goroutine.
func (e *Echo) Close() {
	e.uc.Close()
	e.wg.Wait()
}

func (e *Echo) serve() {
	defer e.wg.Done()
	pc := ipv4.NewPacketConn(e.uc)
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, maxDatagram)}
	}
	out := make([]ipv4.Message, 0, batch)
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// An ICMP error from a flow that went away: the echo goes on
			// for the others.
			continue
		}
		out = out[:0]
		for _, m := range msgs[:n] {
			out = append(out, ipv4.Message{Buffers: [][]byte{m.Buffers[0][:m.N]}, Addr: m.Addr})
		}
		for len(out) > 0 {
			w, err := pc.WriteBatch(out, 0)
			e.echoed.Add(int64(max(w, 0)))
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// Skip the datagram that failed (its sender is gone), as
				// a busy UDP server would.
				w++
			}
			out = out[min(w, len(out)):]
		}
	}
}
