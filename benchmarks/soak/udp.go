package main

import (
	"fmt"
	"net"

	"github.com/sluice-proxy/sluice/benchmarks/internal/udpecho"
)

// udpEchoBuffer is the socket buffer of the UDP origin (udpecho, shared
// with loadgen's dgram mode): up to 2,000 flows with 8 datagrams in
// flight each.
const udpEchoBuffer = 8 << 20

// startUDPEcho starts the UDP origin on a loopback port of its own.
func startUDPEcho() (*udpecho.Echo, error) { return udpecho.Start("127.0.0.1:0", udpEchoBuffer) }

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
