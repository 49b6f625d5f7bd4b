package padding

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// streamExample is two frames in one DATA frame: payload "A" with no
// padding, then "BC" with one padding byte.
const streamExample = "\x00\x01\x00\x41\x00\x02\x01\x42\x43\x00"

func TestDecoderStreamExample(t *testing.T) {
	var d Decoder
	if got := d.Decode(nil, []byte(streamExample)); string(got) != "ABC" || d.Frames() != 2 || d.InFrame() {
		t.Fatalf("Decode = %q, Frames = %d, InFrame = %v; want ABC, 2, false", got, d.Frames(), d.InFrame())
	}

	// Next gives each frame's payload as its own run, inside the input.
	d = Decoder{}
	b := []byte(streamExample)
	var runs []string
	for rest := b; len(rest) > 0; {
		p, n := d.Next(rest)
		if n <= 0 || n > len(rest) {
			t.Fatalf("Next consumed %d of %d", n, len(rest))
		}
		if len(p) > 0 {
			if !within(p, b) {
				t.Fatal("Next returned bytes outside its input")
			}
			runs = append(runs, string(p))
		}
		rest = rest[n:]
	}
	if strings.Join(runs, "|") != "A|BC" || d.Frames() != 2 {
		t.Fatalf("runs = %q, Frames = %d; want A|BC, 2", runs, d.Frames())
	}
}

func TestDecoderOneBytePieces(t *testing.T) {
	var d Decoder
	var got []byte
	frames := []int{}
	for i := range len(streamExample) {
		got = d.Decode(got, []byte{streamExample[i]})
		frames = append(frames, d.Frames())
	}
	if string(got) != "ABC" {
		t.Fatalf("Decode byte by byte = %q", got)
	}
	// Frame 1 ends at its payload byte (no padding), frame 2 at its padding.
	if want := []int{0, 0, 0, 1, 1, 1, 1, 1, 1, 2}; !slices.Equal(frames, want) {
		t.Fatalf("Frames after each byte = %v; want %v", frames, want)
	}
}

// TestDecoderPurePadding: empty-payload frames are frames; their padding is
// skipped and they count toward the eight.
func TestDecoderPurePadding(t *testing.T) {
	var wire []byte
	for i := range PaddedFrames {
		wire = AppendFrame(wire, nil, uint8(i*3))
	}
	wire = append(wire, "raw"...)
	var d Decoder
	if got := d.Decode(nil, wire); string(got) != "raw" || d.Frames() != PaddedFrames || !d.Passthrough() {
		t.Fatalf("Decode = %q, Frames = %d, Passthrough = %v", got, d.Frames(), d.Passthrough())
	}
	// And byte by byte, counting each one as its last byte arrives.
	d = Decoder{}
	var got []byte
	for i := range wire {
		got = d.Decode(got, wire[i:i+1])
	}
	if string(got) != "raw" || d.Frames() != PaddedFrames {
		t.Fatalf("byte by byte: %q, Frames = %d", got, d.Frames())
	}
}

// TestDecoderPassthrough: after the eighth frame, a frame-shaped input is
// data, and nothing is parsed any more.
func TestDecoderPassthrough(t *testing.T) {
	var wire []byte
	for i := range PaddedFrames {
		wire = AppendFrame(wire, []byte{byte('a' + i)}, 2)
	}
	var d Decoder
	if got := d.Decode(nil, wire); string(got) != "abcdefgh" || !d.Passthrough() || d.InFrame() {
		t.Fatalf("8 frames: %q, Passthrough = %v", got, d.Passthrough())
	}
	ninth := AppendFrame(nil, []byte("hi"), 4)
	if got := d.Decode(nil, ninth); !bytes.Equal(got, ninth) {
		t.Fatalf("9th frame = %q; want it unchanged", got)
	}
	if p, n := d.Next(ninth); !within(p, ninth) || len(p) != len(ninth) || n != len(ninth) {
		t.Fatalf("Next in passthrough = %d bytes, %d", len(p), n)
	}
	if d.Frames() != PaddedFrames || d.InFrame() {
		t.Fatalf("Frames = %d, InFrame = %v", d.Frames(), d.InFrame())
	}
}

// TestDecoderJoinsTail: when the eighth frame has no padding, its payload
// and the raw bytes after it are one run of the input.
func TestDecoderJoinsTail(t *testing.T) {
	var wire []byte
	for range PaddedFrames - 1 {
		wire = AppendFrame(wire, []byte("."), 1)
	}
	var d Decoder
	d.Decode(nil, wire)
	last := append(AppendFrame(nil, []byte("last"), 0), "+raw"...)
	p, n := d.Next(last)
	if string(p) != "last+raw" || n != len(last) || !within(p, last) {
		t.Fatalf("Next = %q, %d; want last+raw, %d", p, n, len(last))
	}
	// With padding in between, the raw tail comes in the same call too.
	d = Decoder{}
	d.Decode(nil, wire)
	last = append(AppendFrame(nil, nil, 3), "raw"...)
	if p, n := d.Next(last); string(p) != "raw" || n != len(last) {
		t.Fatalf("Next = %q, %d; want raw, %d", p, n, len(last))
	}
}

// TestDecoderPartialPayload: payload bytes are released as they come; the
// decoder holds no copy of an unfinished frame.
func TestDecoderPartialPayload(t *testing.T) {
	wire := AppendFrame(nil, []byte("0123456789"), 5)
	var d Decoder
	p, n := d.Next(wire[:7])
	if string(p) != "0123" || n != 7 || !d.InFrame() {
		t.Fatalf("Next(first 7) = %q, %d", p, n)
	}
	p, n = d.Next(wire[7:15])
	if string(p) != "456789" || n != 6 {
		t.Fatalf("Next(rest of payload) = %q, %d", p, n)
	}
	if p, n = d.Next(wire[13:]); len(p) != 0 || n != 5 || d.InFrame() || d.Frames() != 1 {
		t.Fatalf("Next(padding) = %q, %d, InFrame = %v", p, n, d.InFrame())
	}
}

func TestDecoderMatchesReference(t *testing.T) {
	var wire []byte
	for i, size := range []int{0, 1, 300, 0, 65535, 2, 0, 7} {
		wire = AppendFrame(wire, bytes.Repeat([]byte{byte(i)}, size), uint8(i*37))
	}
	wire = append(wire, streamExample...)
	want, frames := refDecode(wire)
	var d Decoder
	if got := d.Decode(nil, wire); !bytes.Equal(got, want) || d.Frames() != frames {
		t.Fatalf("Decode = %d bytes, %d frames; reference %d, %d", len(got), d.Frames(), len(want), frames)
	}
}

func TestDecoderAllocs(t *testing.T) {
	var e Encoder
	var wire []byte
	for range PaddedFrames {
		wire = e.Encode(wire, make([]byte, 4096))
	}
	buf := make([]byte, 0, len(wire))
	if n := testing.AllocsPerRun(100, func() {
		var d Decoder
		buf = d.Decode(buf[:0], wire)
	}); n != 0 {
		t.Errorf("padded Decode allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		var d Decoder
		for b := wire; len(b) > 0; {
			_, k := d.Next(b)
			b = b[k:]
		}
	}); n != 0 {
		t.Errorf("padded Next allocates %v times", n)
	}
	var d Decoder
	d.Decode(nil, wire)
	if n := testing.AllocsPerRun(100, func() { buf = d.Decode(buf[:0], wire) }); n != 0 {
		t.Errorf("passthrough Decode allocates %v times", n)
	}
}

// within reports whether p lies inside b's memory, i.e. was not copied.
func within(p, b []byte) bool {
	if len(p) == 0 {
		return true
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return at >= lo && at+uintptr(len(p)) <= lo+uintptr(len(b))
}
