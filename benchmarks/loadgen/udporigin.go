package main

import "github.com/sluice-proxy/sluice/benchmarks/internal/udpecho"

// The origin of the dgram mode is udpecho's batched echo on loopback,
// the same one the soak uses.

// udpEchoBuffer is the socket buffer asked for either way: 16 flows with 8
// datagrams of 1,200 B in flight are 128 skbs of ~2.3 KiB (truesize), more
// than the 208 KiB Linux gives a socket by default. The kernel caps it at
// net.core.rmem_max / wmem_max unless the tool runs as root.
const udpEchoBuffer = 4 << 20

// startUDPEcho listens on addr, which must be a loopback address, like the
// TCP origin. When addr's port is taken it falls back to any port on the
// same host (the TCP origin and the echo usually share the number).
func startUDPEcho(addr string) (*udpecho.Echo, error) { return udpecho.Start(addr, udpEchoBuffer) }
