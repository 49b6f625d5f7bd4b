package relay

import (
	"testing"
	"unsafe"
)

// Every tunnel, and every HTTP/2 and HTTP/3 stream, holds one Tunnel for as
// long as it lives; past 448 bytes the allocator rounds it up to 480.
func TestTunnelFitsSizeClass(t *testing.T) {
	if s := unsafe.Sizeof(Tunnel{}); s > 448 {
		t.Fatalf("relay.Tunnel is %d bytes, more than its 448-byte size class: move what few tunnels use to pending", s)
	}
}
