package engine

import "testing"

// A buffer put back holding a short read, or emptied, is still kept once
// the pool has calibrated: large buffers are reused, not allocated for
// every read.
func TestPoolKeepsLargeBuffers(t *testing.T) {
	var p Pool
	const size = 32 << 10
	reused := 0
	for i := 0; i < 60000; i++ { // calibration happens after 42,000 Puts
		b := p.Get()
		if cap(b.B) >= size && i >= 50000 {
			reused++
		} else if cap(b.B) < size {
			b.B = make([]byte, size)
		}
		b.B = b.B[:64] // a short read
		if i%2 == 0 {
			b.B = b.B[:0] // or drained
		}
		p.Put(b)
	}
	// sync.Pool may drop some (always some under -race); most must come back.
	if reused < 5000 {
		t.Fatalf("%d of the last 10000 Gets reused a 32 KiB buffer", reused)
	}
}
