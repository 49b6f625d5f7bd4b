package padding

import "testing"

// The padded phase is the eight frames of a tunnel's start, so those
// benchmarks run a fresh codec through all eight per iteration; the
// passthrough phase is everything after.

const benchWrite = 16 << 10 // a DATA frame's worth at the default h2 size

func BenchmarkEncodePadded(b *testing.B) {
	p := make([]byte, benchWrite)
	buf := make([]byte, 0, maxFrameLen)
	var r Rand = chacha(1)
	b.ReportAllocs()
	b.SetBytes(PaddedFrames * benchWrite)
	for b.Loop() {
		e := Encoder{Rand: r}
		for range PaddedFrames {
			buf = e.Encode(buf[:0], p)
		}
	}
}

func BenchmarkEncodePassthrough(b *testing.B) {
	p := make([]byte, benchWrite)
	buf := make([]byte, 0, benchWrite)
	e := Encoder{Rand: chacha(1)}
	for range PaddedFrames {
		e.Encode(nil, p)
	}
	b.ReportAllocs()
	b.SetBytes(benchWrite)
	for b.Loop() {
		buf = e.Encode(buf[:0], p)
	}
}

func benchWire() []byte {
	e := Encoder{Rand: chacha(1)}
	var wire []byte
	for range PaddedFrames {
		wire = e.Encode(wire, make([]byte, benchWrite))
	}
	return wire
}

func BenchmarkDecodePadded(b *testing.B) {
	wire := benchWire()
	buf := make([]byte, 0, len(wire))
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		var d Decoder
		buf = d.Decode(buf[:0], wire)
	}
}

// BenchmarkNextPadded is the relay's way: runs of the input, no copy.
func BenchmarkNextPadded(b *testing.B) {
	wire := benchWire()
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		var d Decoder
		for in := wire; len(in) > 0; {
			_, n := d.Next(in)
			in = in[n:]
		}
	}
}

func BenchmarkDecodePassthrough(b *testing.B) {
	var d Decoder
	d.Decode(nil, benchWire())
	p := make([]byte, benchWrite)
	buf := make([]byte, 0, benchWrite)
	b.ReportAllocs()
	b.SetBytes(benchWrite)
	for b.Loop() {
		buf = d.Decode(buf[:0], p)
	}
}
