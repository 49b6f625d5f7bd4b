package padding

import (
	"bytes"
	"strings"
	"testing"
)

// TestEncoderGolden makes the encoder produce the worked examples: a
// deterministic Rand picks the padding offset within the strategy's range.
func TestEncoderGolden(t *testing.T) {
	for _, tt := range []struct {
		name     string
		strategy Strategy
		draw     uint64
		payload  string
		wire     string
	}{
		// 5 bytes < 100: P comes from [250, 255]; offset 2 is 252.
		{"client hello", ClientPadding, 2, "hello", goldenFrames[0].wire},
		{"server ok", ServerPadding, 3, "ok", goldenFrames[1].wire},
		{"server 1000 bytes", ServerPadding, 17, strings.Repeat("x", 1000), goldenFrames[2].wire},
		{"client 1000 bytes, past the short rule", ClientPadding, 17, strings.Repeat("x", 1000), goldenFrames[2].wire},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := Encoder{Strategy: tt.strategy, Rand: seq(tt.draw)}
			got := e.Encode(nil, []byte(tt.payload))
			if string(got) != tt.wire {
				t.Fatalf("Encode = %x...; want %x...", got[:HeaderLen], tt.wire[:HeaderLen])
			}
			if e.Frames() != 1 || e.Passthrough() {
				t.Fatalf("Frames = %d, Passthrough = %v", e.Frames(), e.Passthrough())
			}
		})
	}
}

func TestEncoderPassthrough(t *testing.T) {
	e := Encoder{Rand: seq(0)}
	var wire []byte
	for i := range PaddedFrames {
		if e.Passthrough() {
			t.Fatalf("Passthrough after %d frames", i)
		}
		wire = e.Encode(wire, []byte{byte('a' + i)})
	}
	if !e.Passthrough() || e.Frames() != PaddedFrames {
		t.Fatalf("after 8 frames: Passthrough = %v, Frames = %d", e.Passthrough(), e.Frames())
	}
	want := "\x00\x01\x00a\x00\x01\x00b\x00\x01\x00c\x00\x01\x00d\x00\x01\x00e\x00\x01\x00f\x00\x01\x00g\x00\x01\x00h"
	if string(wire) != want {
		t.Fatalf("8 frames = %q; want %q", wire, want)
	}
	// Frame-shaped input is data now, copied as is.
	ninth := "\x00\x02\x00hi"
	if got := e.Encode(nil, []byte(ninth)); string(got) != ninth {
		t.Fatalf("9th write = %q; want it unchanged", got)
	}
	if got, n := e.EncodeFrame([]byte("x"), []byte("raw")); string(got) != "xraw" || n != 3 {
		t.Fatalf("EncodeFrame in passthrough = %q, %d", got, n)
	}
	if e.Frames() != PaddedFrames {
		t.Fatalf("Frames = %d after passthrough writes", e.Frames())
	}
}

// TestEncoderEmpty: an empty write is no frame; spending one of the eight
// on nothing would leave fewer to hide real writes.
func TestEncoderEmpty(t *testing.T) {
	var e Encoder
	if got := e.Encode([]byte("x"), nil); string(got) != "x" || e.Frames() != 0 {
		t.Fatalf("Encode(empty) = %q, Frames = %d", got, e.Frames())
	}
	if got, n := e.EncodeFrame(nil, []byte{}); len(got) != 0 || n != 0 {
		t.Fatalf("EncodeFrame(empty) = %q, %d", got, n)
	}
}

// TestEncoderSplit: a write longer than fits in 64 KiB with its padding
// becomes several frames, each counted, none over 64 KiB.
func TestEncoderSplit(t *testing.T) {
	p := bytes.Repeat([]byte("z"), 70000)
	for _, tt := range []struct {
		draw     uint64
		payloads []int
	}{
		{255, []int{MaxUnsplit, 70000 - MaxUnsplit}},
		{0, []int{maxFrameLen - HeaderLen, 70000 - (maxFrameLen - HeaderLen)}},
	} {
		e := Encoder{Rand: seq(tt.draw)}
		wire := e.Encode(nil, p)
		payloads, pads, rest := frameSizes(t, wire, len(tt.payloads))
		if len(rest) != 0 || e.Frames() != len(tt.payloads) {
			t.Fatalf("P=%d: %d bytes after the frames, Frames = %d", tt.draw, len(rest), e.Frames())
		}
		for i := range payloads {
			if payloads[i] != tt.payloads[i] || pads[i] != int(tt.draw) {
				t.Fatalf("P=%d: frame %d is %d+%d; want %d+%d", tt.draw, i, payloads[i], pads[i], tt.payloads[i], tt.draw)
			}
			if HeaderLen+payloads[i]+pads[i] > maxFrameLen {
				t.Fatalf("frame %d is %d bytes", i, HeaderLen+payloads[i]+pads[i])
			}
		}
	}
}

// TestEncoderSplitIntoPassthrough: when the last padded frame cannot hold
// the whole write, the rest follows raw in the same call.
func TestEncoderSplitIntoPassthrough(t *testing.T) {
	e := Encoder{Rand: seq(10)}
	for range PaddedFrames - 1 {
		e.Encode(nil, []byte("x"))
	}
	p := bytes.Repeat([]byte("q"), 70000)
	wire := e.Encode(nil, p)
	payloads, pads, rest := frameSizes(t, wire, 1)
	if payloads[0] != maxFrameLen-HeaderLen-10 || pads[0] != 10 || !e.Passthrough() {
		t.Fatalf("last frame %d+%d, Passthrough = %v", payloads[0], pads[0], e.Passthrough())
	}
	if !bytes.Equal(rest, p[payloads[0]:]) {
		t.Fatalf("%d raw bytes after the last frame; want %d", len(rest), len(p)-payloads[0])
	}
}

// TestEncodeFrameOneAtATime: EncodeFrame never writes more than one frame,
// so a caller can send each as its own write.
func TestEncodeFrameOneAtATime(t *testing.T) {
	e := Encoder{Rand: seq(7)}
	p := bytes.Repeat([]byte("w"), 3*MaxUnsplit)
	var all []byte
	for calls := 0; len(p) > 0; calls++ {
		out, n := e.EncodeFrame(nil, p)
		if e.Frames() != calls+1 {
			t.Fatalf("call %d: Frames = %d", calls, e.Frames())
		}
		payloads, _, rest := frameSizes(t, out, 1)
		if len(rest) != 0 || payloads[0] != n {
			t.Fatalf("call %d: one frame of %d plus %d bytes for n = %d", calls, payloads[0], len(rest), n)
		}
		all = append(all, out...)
		p = p[n:]
	}
	var d Decoder
	if got := d.Decode(nil, all); len(got) != 3*MaxUnsplit {
		t.Fatalf("decoded %d bytes", len(got))
	}
}

// TestEncoderPaddingRanges draws many frames under each strategy and checks
// every padding length against its rule, and that the ends of each range
// are reached (a rule that is off by one shows up here).
func TestEncoderPaddingRanges(t *testing.T) {
	r := chacha(1)
	for _, tt := range []struct {
		strategy Strategy
		size     int
		lo, hi   int
	}{
		{ServerPadding, 1, 0, 255},
		{ServerPadding, 5000, 0, 255},
		{ClientPadding, 1, 254, 255},
		{ClientPadding, 5, 250, 255},
		{ClientPadding, 99, 156, 255},
		{ClientPadding, 100, 0, 255},
		{ClientPadding, 1400, 0, 255},
	} {
		p := make([]byte, tt.size)
		seen := map[int]bool{}
		for range 4000 {
			e := Encoder{Strategy: tt.strategy, Rand: r}
			wire := e.Encode(nil, p)
			_, pads, _ := frameSizes(t, wire, 1)
			if pads[0] < tt.lo || pads[0] > tt.hi {
				t.Fatalf("strategy %d, %d bytes: P = %d outside [%d, %d]", tt.strategy, tt.size, pads[0], tt.lo, tt.hi)
			}
			seen[pads[0]] = true
		}
		if !seen[tt.lo] || !seen[tt.hi] {
			t.Errorf("strategy %d, %d bytes: never drew %d or %d", tt.strategy, tt.size, tt.lo, tt.hi)
		}
		if tt.hi-tt.lo == 255 && len(seen) < 250 {
			t.Errorf("strategy %d, %d bytes: only %d distinct lengths in 4000 draws", tt.strategy, tt.size, len(seen))
		}
	}
}

// TestEncoderClientShortFrames: the point of the client rule is that no
// frame of a short write is shorter than 258 bytes on the wire.
func TestEncoderClientShortFrames(t *testing.T) {
	r := chacha(2)
	for size := 1; size < shortPayload; size++ {
		e := Encoder{Strategy: ClientPadding, Rand: r}
		if n := len(e.Encode(nil, make([]byte, size))); n < HeaderLen+MaxPadding {
			t.Fatalf("%d-byte write: %d-byte frame", size, n)
		}
	}
}

func TestEncoderDefaultRand(t *testing.T) {
	var e Encoder
	wire := e.Encode(nil, []byte("abc"))
	if len(wire) < HeaderLen+3 || len(wire) > HeaderLen+3+MaxPadding || string(wire[HeaderLen:HeaderLen+3]) != "abc" {
		t.Fatalf("Encode with the default Rand = %q", wire)
	}
}

func TestEncoderAllocs(t *testing.T) {
	p := make([]byte, 16<<10)
	buf := make([]byte, 0, 2*maxFrameLen)
	var r Rand = chacha(3)
	for _, tt := range []struct {
		name string
		rand Rand
	}{{"ChaCha8", r}, {"default", nil}} {
		if n := testing.AllocsPerRun(100, func() {
			e := Encoder{Rand: tt.rand}
			for range PaddedFrames {
				buf = e.Encode(buf[:0], p)
			}
		}); n != 0 {
			t.Errorf("%s: padded Encode allocates %v times per 8 frames", tt.name, n)
		}
	}
	e := Encoder{Rand: r}
	for range PaddedFrames {
		e.Encode(nil, p)
	}
	if n := testing.AllocsPerRun(100, func() { buf = e.Encode(buf[:0], p) }); n != 0 {
		t.Errorf("passthrough Encode allocates %v times", n)
	}
}
