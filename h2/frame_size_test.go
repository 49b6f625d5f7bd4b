package h2

import (
	"bytes"
	"testing"
)

// TestMaxFrameSize: the SETTINGS_MAX_FRAME_SIZE we advertise is the largest
// frame we take. A DATA frame of exactly that size reaches the stream; one
// byte more is a connection FRAME_SIZE_ERROR (RFC 9113 section 4.2), even
// with the stream window open to it, and it comes on the frame header
// alone: a connection never buffers more than one frame of the limit.
func TestMaxFrameSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want uint32
	}{
		{"default", Config{}, 64 << 10},
		{"protocol's", Config{MaxFrameSize: DefaultMaxFrameSize}, DefaultMaxFrameSize},
		{"below the protocol's", Config{MaxFrameSize: 100}, DefaultMaxFrameSize},
		{"Go's", GoDefaults(Config{}), 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, tc.cfg)
			var got uint32
			for _, s := range hs.frames()[0].settings {
				if s.ID == SettingMaxFrameSize {
					got = s.Val
				}
			}
			if got != tc.want {
				t.Fatalf("SETTINGS_MAX_FRAME_SIZE = %d; want %d", got, tc.want)
			}
			hs.start()
			hs.h.onRequest = func(st *Stream, req *Request) { st.WriteHeaders(200, nil, false) }
			hs.feed(hs.connect(1, "a:443"))
			hs.frames()
			whole := bytes.Repeat([]byte{'x'}, int(tc.want))
			hs.feed(AppendData(nil, 1, false, whole))
			noGoAway(t, hs, hs.frames())
			if n := len(hs.h.data[1]); n != len(whole) {
				t.Fatalf("stream got %d bytes of a %d-byte DATA frame", n, len(whole))
			}
			hs.feed(AppendFrameHeader(nil, FrameHeader{Length: tc.want + 1, Type: FrameData, StreamID: 1}))
			wantGoAway(t, hs, hs.frames(), ErrCodeFrameSize)
		})
	}
}

// TestMaxFrameSizeCeiling: a Config above the protocol's ceiling advertises
// the ceiling, which a peer may otherwise reject (RFC 9113 section 6.5.2).
func TestMaxFrameSizeCeiling(t *testing.T) {
	hs := newHarness(t, Config{MaxFrameSize: 1 << 30})
	for _, s := range hs.frames()[0].settings {
		if s.ID == SettingMaxFrameSize && s.Val != MaxFrameSizeLimit {
			t.Fatalf("SETTINGS_MAX_FRAME_SIZE = %d; want %d", s.Val, MaxFrameSizeLimit)
		}
	}
}
