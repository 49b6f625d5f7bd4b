package main

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"golang.org/x/net/ipv4"
)

// udpEcho is the origin of the dgram mode: a UDP socket on loopback that
// sends every datagram back to where it came from, unchanged. It reads
// and writes in batches (recvmmsg, sendmmsg), because it shares its core
// with the load tool and a syscall per datagram each way would make it,
// not the proxy, the limit.
type udpEcho struct {
	uc *net.UDPConn
	wg sync.WaitGroup
}

// udpEchoBatch is the datagrams taken per recvmmsg.
const udpEchoBatch = 64

// udpEchoBuffer is the socket buffer asked for either way: 16 flows with 8
// datagrams of 1,200 B in flight are 128 skbs of ~2.3 KiB (truesize), more
// than the 208 KiB Linux gives a socket by default. The kernel caps it at
// net.core.rmem_max / wmem_max unless the tool runs as root.
const udpEchoBuffer = 4 << 20

// startUDPEcho listens on addr, which must be a loopback address, like the
// TCP origin. When addr's port is taken it falls back to any port on the
// same host (the TCP origin and the echo usually share the number).
func startUDPEcho(addr string) (*udpEcho, error) {
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
	_ = uc.SetReadBuffer(udpEchoBuffer)
	_ = uc.SetWriteBuffer(udpEchoBuffer)
	e := &udpEcho{uc: uc}
	e.wg.Add(1)
	go e.serve()
	return e, nil
}

// Addr is the host:port flows target.
func (e *udpEcho) Addr() string { return e.uc.LocalAddr().String() }

// Close stops the echo and waits for its goroutine.
func (e *udpEcho) Close() {
	e.uc.Close()
	e.wg.Wait()
}

func (e *udpEcho) serve() {
	defer e.wg.Done()
	pc := ipv4.NewPacketConn(e.uc)
	msgs := make([]ipv4.Message, udpEchoBatch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 64<<10)}
	}
	out := make([]ipv4.Message, 0, udpEchoBatch)
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// An ICMP error from a flow that went away: the echo
			// goes on for the others.
			continue
		}
		out = out[:0]
		for _, m := range msgs[:n] {
			out = append(out, ipv4.Message{Buffers: [][]byte{m.Buffers[0][:m.N]}, Addr: m.Addr})
		}
		for len(out) > 0 {
			w, err := pc.WriteBatch(out, 0)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// Skip the datagram that failed (its sender is gone),
				// as a busy UDP server would.
				w++
			}
			out = out[min(w, len(out)):]
		}
	}
}
