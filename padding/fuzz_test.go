package padding

import (
	"bytes"
	"testing"
)

// FuzzDecoder checks that a stream decodes the same whole and cut in two
// anywhere, through Decode and through Next, and as the reference reading
// does; that Next always makes progress and never copies.
func FuzzDecoder(f *testing.F) {
	for _, tt := range goldenFrames[:6] {
		f.Add([]byte(tt.wire), uint16(len(tt.wire)/2))
	}
	f.Add([]byte(streamExample), uint16(5))
	f.Fuzz(func(t *testing.T, b []byte, split uint16) {
		var whole Decoder
		want := whole.Decode(nil, b)

		ref, frames := refDecode(b)
		if !bytes.Equal(want, ref) || whole.Frames() != frames {
			t.Fatalf("Decode = %q, %d frames; reference %q, %d", want, whole.Frames(), ref, frames)
		}
		if len(want) > len(b) || whole.Frames() > PaddedFrames || whole.Passthrough() != (whole.Frames() == PaddedFrames) {
			t.Fatalf("%d bytes out of %d, Frames = %d, Passthrough = %v", len(want), len(b), whole.Frames(), whole.Passthrough())
		}

		cut := int(split) % (len(b) + 1)
		var d, dn Decoder
		got := d.Decode(nil, b[:cut])
		got = d.Decode(got, b[cut:])
		var gotNext []byte
		for _, piece := range [][]byte{b[:cut], b[cut:]} {
			for rest := piece; len(rest) > 0; {
				p, n := dn.Next(rest)
				if n <= 0 || n > len(rest) {
					t.Fatalf("Next consumed %d of %d", n, len(rest))
				}
				if !within(p, rest[:n]) {
					t.Fatal("Next returned bytes it did not consume")
				}
				gotNext = append(gotNext, p...)
				rest = rest[n:]
			}
		}
		for _, x := range []struct {
			name string
			out  []byte
			d    *Decoder
		}{{"Decode", got, &d}, {"Next", gotNext, &dn}} {
			if !bytes.Equal(x.out, want) || x.d.Frames() != whole.Frames() || x.d.InFrame() != whole.InFrame() {
				t.Fatalf("%s cut at %d: %q, %d frames, in frame %v; whole: %q, %d, %v",
					x.name, cut, x.out, x.d.Frames(), x.d.InFrame(), want, whole.Frames(), whole.InFrame())
			}
		}
	})
}
