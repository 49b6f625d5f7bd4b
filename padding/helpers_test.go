package padding

import (
	"math/rand/v2"
	"testing"
)

// seqRand returns its values in turn and then starts over. Since a padding
// length in a range of n values is the draw modulo n, a test picks the
// offset it wants by value.
type seqRand struct {
	v []uint64
	i int
}

func seq(v ...uint64) *seqRand { return &seqRand{v: v} }

func (r *seqRand) Uint64() uint64 {
	x := r.v[r.i%len(r.v)]
	r.i++
	return x
}

func chacha(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// refDecode is a second, deliberately naive reading of a stream: it holds
// the whole input and walks whole frames, releasing the part of the payload
// that is there when the input ends mid-frame.
func refDecode(b []byte) (payload []byte, frames int) {
	for frames < PaddedFrames {
		if len(b) < HeaderLen {
			return payload, frames
		}
		n, pad := int(b[0])<<8|int(b[1]), int(b[2])
		b = b[HeaderLen:]
		payload = append(payload, b[:min(n, len(b))]...)
		if len(b) < n+pad {
			return payload, frames
		}
		b = b[n+pad:]
		frames++
	}
	return append(payload, b...), frames
}

// frameSizes walks the padded frames at the start of wire and returns each
// one's payload and padding length; rest is what follows them.
func frameSizes(t testing.TB, wire []byte, frames int) (payloads, pads []int, rest []byte) {
	t.Helper()
	for range frames {
		if len(wire) < HeaderLen {
			t.Fatalf("wire ends inside a header")
		}
		n, pad := int(wire[0])<<8|int(wire[1]), int(wire[2])
		if len(wire) < HeaderLen+n+pad {
			t.Fatalf("wire ends inside a frame of %d+%d", n, pad)
		}
		for _, z := range wire[HeaderLen+n : HeaderLen+n+pad] {
			if z != 0 {
				t.Fatalf("padding byte %#x; want 0", z)
			}
		}
		payloads, pads = append(payloads, n), append(pads, pad)
		wire = wire[HeaderLen+n+pad:]
	}
	return payloads, pads, wire
}

// pieces cuts b at random points into chunks of 1 to limit bytes.
func pieces(r *rand.Rand, b []byte, limit int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := min(len(b), 1+r.IntN(limit))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}
