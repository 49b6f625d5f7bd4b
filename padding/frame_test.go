package padding

import (
	"bytes"
	"strings"
	"testing"
)

// goldenFrames are Variant1 wire vectors written out by hand from the frame
// layout, named after what they show.
var goldenFrames = []struct {
	name    string
	wire    string
	payload string
	pad     uint8
}{
	{
		name:    "client hello, short payload padded to 260 bytes",
		wire:    "\x00\x05\xfchello" + strings.Repeat("\x00", 252),
		payload: "hello",
		pad:     252,
	},
	{
		name:    "server ok, P=3",
		wire:    "\x00\x02\x03ok\x00\x00\x00",
		payload: "ok",
		pad:     3,
	},
	{
		name:    "1000-byte payload, P=17",
		wire:    "\x03\xe8\x11" + strings.Repeat("x", 1000) + strings.Repeat("\x00", 17),
		payload: strings.Repeat("x", 1000),
		pad:     17,
	},
	{
		name:    "no padding",
		wire:    "\x00\x01\x00A",
		payload: "A",
	},
	{
		name: "pure padding, empty payload",
		wire: "\x00\x00\x02\x00\x00",
		pad:  2,
	},
	{
		name: "empty frame",
		wire: "\x00\x00\x00",
	},
	{
		name:    "largest frame the length field allows",
		wire:    "\xff\xff\xff" + strings.Repeat("y", MaxPayload) + strings.Repeat("\x00", MaxPadding),
		payload: strings.Repeat("y", MaxPayload),
		pad:     MaxPadding,
	},
}

func TestFrameGolden(t *testing.T) {
	for _, tt := range goldenFrames {
		t.Run(tt.name, func(t *testing.T) {
			if got := AppendFrame(nil, []byte(tt.payload), tt.pad); string(got) != tt.wire {
				t.Fatalf("AppendFrame = %q; want %q", got[:min(len(got), 16)], tt.wire[:min(len(tt.wire), 16)])
			}
			var d Decoder
			if got := d.Decode(nil, []byte(tt.wire)); string(got) != tt.payload {
				t.Fatalf("Decode = %d bytes; want %d", len(got), len(tt.payload))
			}
			if d.Frames() != 1 || d.InFrame() {
				t.Fatalf("Frames = %d, InFrame = %v; want 1, false", d.Frames(), d.InFrame())
			}
			// The next frame's bytes belong to the next frame.
			d = Decoder{}
			if got := d.Decode(nil, []byte(tt.wire+"\x00\x01\x00Z\x00")); string(got) != tt.payload+"Z" || !d.InFrame() {
				t.Fatalf("Decode with a following frame: %d bytes, InFrame %v", len(got), d.InFrame())
			}
		})
	}
}

func TestFrameWorkedSizes(t *testing.T) {
	for _, tt := range []struct {
		payload string
		pad     uint8
		want    int
	}{
		{"hello", 252, 260},
		{"ok", 3, 8},
		{strings.Repeat("x", 1000), 17, 1020},
	} {
		if got := len(AppendFrame(nil, []byte(tt.payload), tt.pad)); got != tt.want {
			t.Errorf("%d-byte payload, P=%d: %d bytes; want %d", len(tt.payload), tt.pad, got, tt.want)
		}
	}
}

// TestFramePrefixes feeds every prefix of each golden frame: the decoder
// releases exactly the payload bytes the prefix holds and counts the frame
// only at its last byte.
func TestFramePrefixes(t *testing.T) {
	for _, tt := range goldenFrames {
		if len(tt.wire) > 4096 {
			continue // quadratic; the round-trip tests cover large frames
		}
		for i := range len(tt.wire) + 1 {
			var d Decoder
			got := d.Decode(nil, []byte(tt.wire[:i]))
			want := tt.payload[:min(max(i-HeaderLen, 0), len(tt.payload))]
			if string(got) != want {
				t.Fatalf("%s: Decode(wire[:%d]) = %q; want %q", tt.name, i, got, want)
			}
			complete := i == len(tt.wire)
			if (d.Frames() == 1) != complete || d.InFrame() != (i > 0 && !complete) {
				t.Fatalf("%s: wire[:%d]: Frames = %d, InFrame = %v", tt.name, i, d.Frames(), d.InFrame())
			}
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 4100)
	for _, size := range []int{0, 1, 99, 100, 255, 16384, MaxUnsplit, MaxPayload} {
		for _, pad := range []uint8{0, 1, 255} {
			wire := AppendFrame(nil, payload[:size], pad)
			if len(wire) != HeaderLen+size+int(pad) {
				t.Fatalf("size %d pad %d: %d wire bytes", size, pad, len(wire))
			}
			var d Decoder
			if got := d.Decode(nil, wire); !bytes.Equal(got, payload[:size]) || d.Frames() != 1 {
				t.Fatalf("size %d pad %d: got %d bytes, %d frames", size, pad, len(got), d.Frames())
			}
		}
	}
}

func TestAppendFrameTooLong(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("AppendFrame took a payload longer than MaxPayload")
		}
	}()
	AppendFrame(nil, make([]byte, MaxPayload+1), 0)
}

func TestAppendFrameAppends(t *testing.T) {
	got := AppendFrame([]byte("prefix"), []byte("ab"), 1)
	if string(got) != "prefix\x00\x02\x01ab\x00" {
		t.Fatalf("AppendFrame = %q", got)
	}
}
