package padding

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestRoundTrip encodes runs of writes of random sizes, up to past what one
// frame holds, cuts the wire anywhere, and decodes: the payload comes back
// whole and both ends agree on the frames.
func TestRoundTrip(t *testing.T) {
	src := chacha(7)
	r := rand.New(src)
	for trial := range 40 {
		strategy := Strategy(trial % 2)
		writes := 1 + r.IntN(14)
		var in, wire []byte
		e := Encoder{Strategy: strategy, Rand: r}
		for range writes {
			size := r.IntN(70001)
			if r.IntN(4) == 0 {
				size = r.IntN(200) // small writes are what the first frames carry
			}
			p := make([]byte, size)
			src.Read(p)
			in = append(in, p...)
			wire = e.Encode(wire, p)
		}
		for _, limit := range []int{1, 7, 300, 20000, len(wire) + 1} {
			if limit == 1 && len(wire) > 100000 {
				continue // byte by byte is covered by the shorter trials
			}
			var d, dn Decoder
			var out, outNext []byte
			for _, piece := range pieces(r, wire, limit) {
				out = d.Decode(out, piece)
				for b := piece; len(b) > 0; {
					p, n := dn.Next(b)
					outNext = append(outNext, p...)
					b = b[n:]
				}
			}
			if !bytes.Equal(out, in) || !bytes.Equal(outNext, in) {
				t.Fatalf("trial %d, pieces of <= %d: decoded %d / %d bytes of %d", trial, limit, len(out), len(outNext), len(in))
			}
			if d.Frames() != e.Frames() || d.Passthrough() != e.Passthrough() || d.InFrame() {
				t.Fatalf("trial %d: decoder %d frames (passthrough %v, in frame %v); encoder %d",
					trial, d.Frames(), d.Passthrough(), d.InFrame(), e.Frames())
			}
		}
	}
}

// TestRoundTripByteByByte uses a short stream so every byte is its own
// piece, including the headers of frames that split a long write.
func TestRoundTripByteByByte(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	var in, wire []byte
	e := Encoder{Strategy: ClientPadding, Rand: r}
	for _, size := range []int{1, 517, 0, 70000, 3, 99, 100, 2, 40} {
		p := bytes.Repeat([]byte{byte(size)}, size)
		in = append(in, p...)
		wire = e.Encode(wire, p)
	}
	var d Decoder
	var out []byte
	for i := range wire {
		out = d.Decode(out, wire[i:i+1])
	}
	if !bytes.Equal(out, in) || d.Frames() != e.Frames() || !d.Passthrough() {
		t.Fatalf("decoded %d of %d bytes, %d frames of %d", len(out), len(in), d.Frames(), e.Frames())
	}
}
