package engine

import (
	"testing"
	"unsafe"
)

// Every HTTP/1.1 tunnel holds two Conns for as long as it lives; past 256
// bytes the allocator rounds one up to 288, then 320 and 352.
func TestConnFitsSizeClass(t *testing.T) {
	if s := unsafe.Sizeof(Conn{}); s > 256 {
		t.Fatalf("engine.Conn is %d bytes, more than its 256-byte size class: move what few conns use to connRare", s)
	}
}
