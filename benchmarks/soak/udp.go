package main

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// udpEcho sends every datagram back to where it came from, unchanged.
type udpEcho struct {
	uc     *net.UDPConn
	wg     sync.WaitGroup
	echoed atomic.Int64
}

func startUDPEcho() (*udpEcho, error) {
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	// Up to 2,000 flows with 8 datagrams in flight each.
	_ = uc.SetReadBuffer(8 << 20)
	_ = uc.SetWriteBuffer(8 << 20)
	e := &udpEcho{uc: uc}
	e.wg.Add(1)
	go e.serve()
	return e, nil
}

func (e *udpEcho) Addr() string { return e.uc.LocalAddr().String() }

func (e *udpEcho) Close() {
	e.uc.Close()
	e.wg.Wait()
}

func (e *udpEcho) serve() {
	defer e.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := e.uc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an ICMP error for a flow that went away
		}
		if _, err := e.uc.WriteToUDPAddrPort(buf[:n], from); err == nil {
			e.echoed.Add(1)
		}
	}
}

// closedUDPPort checks that nothing is bound to UDP port `addr` (the
// reserved TCP port's number): datagrams sent there get ICMP port
// unreachable.
func closedUDPPort(addr string) (string, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return "", err
	}
	uc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return "", fmt.Errorf("udp %s is in use: %w", addr, err)
	}
	uc.Close()
	return addr, nil
}
