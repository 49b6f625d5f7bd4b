package h2

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"unsafe"
)

// goldenFrames are wire vectors written by hand from the frame layouts of
// RFC 9113 (https://www.rfc-editor.org/rfc/rfc9113), each built by an Append
// func and parsed back.
var goldenFrames = []struct {
	name  string
	wire  string
	build func() []byte
	want  Frame
}{
	{
		name:  "6.1 DATA END_STREAM",
		wire:  "\x00\x00\x05\x00\x01\x00\x00\x00\x01hello",
		build: func() []byte { return AppendData(nil, 1, true, []byte("hello")) },
		want:  &DataFrame{FrameHeader: FrameHeader{5, FrameData, FlagDataEndStream, 1}, Data: []byte("hello")},
	},
	{
		name:  "6.1 DATA empty",
		wire:  "\x00\x00\x00\x00\x00\x00\x00\x00\x07",
		build: func() []byte { return AppendData(nil, 7, false, nil) },
		want:  &DataFrame{FrameHeader: FrameHeader{0, FrameData, 0, 7}, Data: []byte{}},
	},
	{
		name:  "6.1 DATA PADDED",
		wire:  "\x00\x00\x06\x00\x08\x00\x00\x00\x03\x03hi\x00\x00\x00",
		build: func() []byte { return AppendDataPadded(nil, 3, false, []byte("hi"), 3) },
		want:  &DataFrame{FrameHeader: FrameHeader{6, FrameData, FlagDataPadded, 3}, Data: []byte("hi"), PadLength: 3},
	},
	{
		name: "6.2 HEADERS END_STREAM|END_HEADERS",
		wire: "\x00\x00\x01\x01\x05\x00\x00\x00\x01\x82",
		build: func() []byte {
			return AppendHeaders(nil, HeadersParam{StreamID: 1, BlockFragment: []byte{0x82}, EndStream: true, EndHeaders: true})
		},
		want: &HeadersFrame{FrameHeader: FrameHeader{1, FrameHeaders, FlagHeadersEndStream | FlagHeadersEndHeaders, 1}, BlockFragment: []byte{0x82}},
	},
	{
		name: "6.2 HEADERS PADDED|PRIORITY",
		wire: "\x00\x00\x0a\x01\x2c\x00\x00\x00\x05\x02\x80\x00\x00\x03\x0f\x82\x86\x00\x00",
		build: func() []byte {
			return AppendHeaders(nil, HeadersParam{StreamID: 5, BlockFragment: []byte{0x82, 0x86}, EndHeaders: true, PadLength: 2,
				Priority: &PriorityParam{StreamDep: 3, Exclusive: true, Weight: 15}})
		},
		want: &HeadersFrame{FrameHeader: FrameHeader{10, FrameHeaders, FlagHeadersEndHeaders | FlagHeadersPadded | FlagHeadersPriority, 5},
			Priority: PriorityParam{StreamDep: 3, Exclusive: true, Weight: 15}, PadLength: 2, BlockFragment: []byte{0x82, 0x86}},
	},
	{
		name:  "6.3 PRIORITY",
		wire:  "\x00\x00\x05\x02\x00\x00\x00\x00\x03\x00\x00\x00\x01\xff",
		build: func() []byte { return AppendPriority(nil, 3, PriorityParam{StreamDep: 1, Weight: 255}) },
		want:  &PriorityFrame{FrameHeader: FrameHeader{5, FramePriority, 0, 3}, PriorityParam: PriorityParam{StreamDep: 1, Weight: 255}},
	},
	{
		name:  "6.4 RST_STREAM CANCEL",
		wire:  "\x00\x00\x04\x03\x00\x00\x00\x00\x01\x00\x00\x00\x08",
		build: func() []byte { return AppendRSTStream(nil, 1, ErrCodeCancel) },
		want:  &RSTStreamFrame{FrameHeader: FrameHeader{4, FrameRSTStream, 0, 1}, Code: ErrCodeCancel},
	},
	{
		name: "6.5 SETTINGS",
		wire: "\x00\x00\x0c\x04\x00\x00\x00\x00\x00\x00\x04\x00\x00\xff\xff\x00\x05\x00\x00\x40\x00",
		build: func() []byte {
			return AppendSettings(nil, []Setting{{SettingInitialWindowSize, 65535}, {SettingMaxFrameSize, 16384}})
		},
		want: &SettingsFrame{FrameHeader: FrameHeader{12, FrameSettings, 0, 0}, p: []byte("\x00\x04\x00\x00\xff\xff\x00\x05\x00\x00\x40\x00")},
	},
	{
		name:  "6.5 SETTINGS ACK",
		wire:  "\x00\x00\x00\x04\x01\x00\x00\x00\x00",
		build: func() []byte { return AppendSettingsAck(nil) },
		want:  &SettingsFrame{FrameHeader: FrameHeader{0, FrameSettings, FlagSettingsAck, 0}, p: []byte{}},
	},
	{
		name:  "6.6 PUSH_PROMISE",
		wire:  "\x00\x00\x05\x05\x04\x00\x00\x00\x01\x00\x00\x00\x02\x82",
		build: func() []byte { return AppendPushPromise(nil, 1, 2, true, []byte{0x82}, 0) },
		want:  &PushPromiseFrame{FrameHeader: FrameHeader{5, FramePushPromise, FlagPushPromiseEndHeaders, 1}, PromiseID: 2, BlockFragment: []byte{0x82}},
	},
	{
		name:  "6.6 PUSH_PROMISE PADDED",
		wire:  "\x00\x00\x07\x05\x0c\x00\x00\x00\x01\x01\x00\x00\x00\x02\x82\x00",
		build: func() []byte { return AppendPushPromise(nil, 1, 2, true, []byte{0x82}, 1) },
		want: &PushPromiseFrame{FrameHeader: FrameHeader{7, FramePushPromise, FlagPushPromiseEndHeaders | FlagPushPromisePadded, 1},
			PromiseID: 2, PadLength: 1, BlockFragment: []byte{0x82}},
	},
	{
		name:  "6.7 PING ACK",
		wire:  "\x00\x00\x08\x06\x01\x00\x00\x00\x0012345678",
		build: func() []byte { return AppendPing(nil, true, [8]byte{'1', '2', '3', '4', '5', '6', '7', '8'}) },
		want:  &PingFrame{FrameHeader: FrameHeader{8, FramePing, FlagPingAck, 0}, Data: [8]byte{'1', '2', '3', '4', '5', '6', '7', '8'}},
	},
	{
		name:  "6.8 GOAWAY",
		wire:  "\x00\x00\x0b\x07\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x01bye",
		build: func() []byte { return AppendGoAway(nil, 7, ErrCodeProtocol, []byte("bye")) },
		want:  &GoAwayFrame{FrameHeader: FrameHeader{11, FrameGoAway, 0, 0}, LastStreamID: 7, Code: ErrCodeProtocol, DebugData: []byte("bye")},
	},
	{
		name:  "6.9 WINDOW_UPDATE",
		wire:  "\x00\x00\x04\x08\x00\x00\x00\x00\x01\x00\x00\x10\x00",
		build: func() []byte { return AppendWindowUpdate(nil, 1, 4096) },
		want:  &WindowUpdateFrame{FrameHeader: FrameHeader{4, FrameWindowUpdate, 0, 1}, Increment: 4096},
	},
	{
		name:  "6.10 CONTINUATION END_HEADERS",
		wire:  "\x00\x00\x01\x09\x04\x00\x00\x00\x01\x84",
		build: func() []byte { return AppendContinuation(nil, 1, true, []byte{0x84}) },
		want:  &ContinuationFrame{FrameHeader: FrameHeader{1, FrameContinuation, FlagContinuationEndHeaders, 1}, BlockFragment: []byte{0x84}},
	},
	{
		name:  "5.5 unknown type is returned, not rejected",
		wire:  "\x00\x00\x01\xff\x00\x00\x00\x00\x00x",
		build: func() []byte { return AppendRawFrame(nil, FrameHeader{Type: 0xff}, []byte("x")) },
		want:  &UnknownFrame{FrameHeader: FrameHeader{1, 0xff, 0, 0}, Payload: []byte("x")},
	},
	{
		name:  "4.1 reserved bit of the stream id is ignored",
		wire:  "\x00\x00\x00\x04\x01\x80\x00\x00\x00",
		build: nil, // Append never sets the reserved bit
		want:  &SettingsFrame{FrameHeader: FrameHeader{0, FrameSettings, FlagSettingsAck, 0}, p: []byte{}},
	},
}

func TestFrameGolden(t *testing.T) {
	for _, tt := range goldenFrames {
		t.Run(tt.name, func(t *testing.T) {
			if tt.build != nil {
				if got := tt.build(); string(got) != tt.wire {
					t.Fatalf("Append = %q; want %q", got, tt.wire)
				}
			}
			var fr Framer
			f, n, err := fr.Parse([]byte(tt.wire))
			if err != nil || n != len(tt.wire) {
				t.Fatalf("Parse = %v, %d, %v", f, n, err)
			}
			if !reflect.DeepEqual(f, tt.want) {
				t.Fatalf("Parse = %#v; want %#v", f, tt.want)
			}
			// Trailing bytes belong to the next frame.
			f, n, err = fr.Parse([]byte(tt.wire + "\x00\x00"))
			if err != nil || n != len(tt.wire) {
				t.Fatalf("Parse with trailing bytes = %d, %v", n, err)
			}
		})
	}
}

func TestFramePrefixes(t *testing.T) {
	var fr Framer
	for _, tt := range goldenFrames {
		b := []byte(tt.wire)
		for i := range len(b) {
			if f, n, err := fr.Parse(b[:i]); err != ErrNeedMore || n != 0 || f != nil {
				t.Fatalf("%s: Parse(b[:%d]) = %v, %d, %v; want ErrNeedMore, 0", tt.name, i, f, n, err)
			}
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var fr Framer
	fr.MaxReadFrameSize = MaxFrameSizeLimit
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1100)
	for _, size := range []int{0, 1, 255, 16384, len(payload)} {
		for _, pad := range []uint8{0, 1, 255} {
			var b []byte
			if pad == 0 {
				b = AppendData(nil, 9, size%2 == 0, payload[:size])
			} else {
				b = AppendDataPadded(nil, 9, size%2 == 0, payload[:size], pad)
			}
			f, n, err := fr.Parse(b)
			if err != nil || n != len(b) {
				t.Fatalf("size %d pad %d: %v", size, pad, err)
			}
			d := f.(*DataFrame)
			if !bytes.Equal(d.Data, payload[:size]) || d.PadLength != pad || d.StreamEnded() != (size%2 == 0) {
				t.Fatalf("size %d pad %d: got %d bytes pad %d", size, pad, len(d.Data), d.PadLength)
			}
			if f := Frame(d); reencode(f) == nil || !bytes.Equal(reencode(f), b) {
				t.Fatalf("size %d pad %d: re-encoding differs", size, pad)
			}
		}
	}
	for _, tt := range goldenFrames {
		f, _, _ := fr.Parse([]byte(tt.wire))
		if got := reencode(f); tt.build != nil && string(got) != tt.wire {
			t.Errorf("%s: re-encoded %q; want %q", tt.name, got, tt.wire)
		}
	}
}

// reencode appends f again with the Append funcs.
func reencode(f Frame) []byte {
	switch f := f.(type) {
	case *DataFrame:
		if f.Flags.Has(FlagDataPadded) {
			return AppendDataPadded(nil, f.StreamID, f.StreamEnded(), f.Data, f.PadLength)
		}
		return AppendData(nil, f.StreamID, f.StreamEnded(), f.Data)
	case *HeadersFrame:
		p := HeadersParam{StreamID: f.StreamID, BlockFragment: f.BlockFragment, EndStream: f.StreamEnded(), EndHeaders: f.HeadersEnded(), PadLength: f.PadLength}
		if f.HasPriority() {
			p.Priority = &f.Priority
		}
		if f.Flags.Has(FlagHeadersPadded) && f.PadLength == 0 {
			return nil // a zero pad cannot be expressed by HeadersParam
		}
		return AppendHeaders(nil, p)
	case *PriorityFrame:
		return AppendPriority(nil, f.StreamID, f.PriorityParam)
	case *RSTStreamFrame:
		return AppendRSTStream(nil, f.StreamID, f.Code)
	case *SettingsFrame:
		if f.IsAck() {
			return AppendSettingsAck(nil)
		}
		s := make([]Setting, f.NumSettings())
		for i := range s {
			s[i] = f.Setting(i)
		}
		return AppendSettings(nil, s)
	case *PushPromiseFrame:
		if f.Flags.Has(FlagPushPromisePadded) && f.PadLength == 0 {
			return nil
		}
		return AppendPushPromise(nil, f.StreamID, f.PromiseID, f.Flags.Has(FlagPushPromiseEndHeaders), f.BlockFragment, f.PadLength)
	case *PingFrame:
		return AppendPing(nil, f.IsAck(), f.Data)
	case *GoAwayFrame:
		return AppendGoAway(nil, f.LastStreamID, f.Code, f.DebugData)
	case *WindowUpdateFrame:
		return AppendWindowUpdate(nil, f.StreamID, f.Increment)
	case *ContinuationFrame:
		return AppendContinuation(nil, f.StreamID, f.HeadersEnded(), f.BlockFragment)
	case *UnknownFrame:
		return AppendRawFrame(nil, f.FrameHeader, f.Payload)
	}
	return nil
}

func TestFrameErrors(t *testing.T) {
	raw := func(typ FrameType, fl Flags, id uint32, payload string) []byte {
		return AppendRawFrame(nil, FrameHeader{Type: typ, Flags: fl, StreamID: id}, []byte(payload))
	}
	tests := []struct {
		name   string
		b      []byte
		code   ErrCode
		stream bool // a StreamError rather than a ConnError
	}{
		{"6.1 DATA on stream 0", raw(FrameData, 0, 0, "x"), ErrCodeProtocol, false},
		{"6.1 DATA pad >= payload", raw(FrameData, FlagDataPadded, 1, "\x01"), ErrCodeProtocol, false},
		{"6.1 DATA PADDED without pad length", raw(FrameData, FlagDataPadded, 1, ""), ErrCodeFrameSize, false},
		{"6.2 HEADERS on stream 0", raw(FrameHeaders, FlagHeadersEndHeaders, 0, "\x82"), ErrCodeProtocol, false},
		{"6.2 HEADERS pad past fragment", raw(FrameHeaders, FlagHeadersPadded|FlagHeadersPriority, 1, "\x02\x00\x00\x00\x03\x0f\x82"), ErrCodeProtocol, false},
		{"6.2 HEADERS too short for priority", raw(FrameHeaders, FlagHeadersPriority, 1, "\x00\x00"), ErrCodeFrameSize, false},
		{"6.3 PRIORITY on stream 0", raw(FramePriority, 0, 0, "\x00\x00\x00\x01\x0f"), ErrCodeProtocol, false},
		{"6.3 PRIORITY length 4", raw(FramePriority, 0, 1, "\x00\x00\x00\x01"), ErrCodeFrameSize, true},
		{"6.4 RST_STREAM length 3", raw(FrameRSTStream, 0, 1, "\x00\x00\x08"), ErrCodeFrameSize, false},
		{"6.4 RST_STREAM on stream 0", raw(FrameRSTStream, 0, 0, "\x00\x00\x00\x08"), ErrCodeProtocol, false},
		{"6.5 SETTINGS ACK with payload", raw(FrameSettings, FlagSettingsAck, 0, "\x00\x04\x00\x00\x00\x01"), ErrCodeFrameSize, false},
		{"6.5 SETTINGS length 5", raw(FrameSettings, 0, 0, "\x00\x04\x00\x00\x00"), ErrCodeFrameSize, false},
		{"6.5 SETTINGS on a stream", raw(FrameSettings, 0, 1, ""), ErrCodeProtocol, false},
		{"6.6 PUSH_PROMISE too short", raw(FramePushPromise, 0, 1, "\x00\x00"), ErrCodeFrameSize, false},
		{"6.7 PING length 7", raw(FramePing, 0, 0, "1234567"), ErrCodeFrameSize, false},
		{"6.7 PING on a stream", raw(FramePing, 0, 1, "12345678"), ErrCodeProtocol, false},
		{"6.8 GOAWAY length 7", raw(FrameGoAway, 0, 0, "1234567"), ErrCodeFrameSize, false},
		{"6.8 GOAWAY on a stream", raw(FrameGoAway, 0, 3, "12345678"), ErrCodeProtocol, false},
		{"6.9 WINDOW_UPDATE length 3", raw(FrameWindowUpdate, 0, 1, "\x00\x00\x01"), ErrCodeFrameSize, false},
		{"6.10 CONTINUATION on stream 0", raw(FrameContinuation, 0, 0, "\x82"), ErrCodeProtocol, false},
		{"4.2 DATA over MAX_FRAME_SIZE", raw(FrameData, 0, 1, string(make([]byte, 16385))), ErrCodeFrameSize, false},
		{"4.2 header alone names an oversized frame", []byte("\x00\x40\x01\x01\x04\x00\x00\x00\x01"), ErrCodeFrameSize, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fr Framer
			_, n, err := fr.Parse(tt.b)
			var se StreamError
			var ce ConnError
			switch {
			case tt.stream && errors.As(err, &se):
				if se.Code != tt.code || n != len(tt.b) {
					t.Fatalf("StreamError %v, n %d; want %v, n %d", se.Code, n, tt.code, len(tt.b))
				}
			case !tt.stream && errors.As(err, &ce):
				if ce.Code != tt.code {
					t.Fatalf("ConnError %v; want %v", ce.Code, tt.code)
				}
			default:
				t.Fatalf("Parse error = %v; want %v (stream error %v)", err, tt.code, tt.stream)
			}
		})
	}
}

func TestFrameHeaderLayout(t *testing.T) {
	if s := unsafe.Sizeof(FrameHeader{}); s != 12 {
		t.Fatalf("FrameHeader is %d bytes; keep it 12", s)
	}
	fh := FrameHeader{Length: 1<<24 - 1, Type: FrameGoAway, Flags: 0xff, StreamID: maxStreamID}
	got, err := ParseFrameHeader(AppendFrameHeader(nil, fh))
	if err != nil || got != fh {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	if FrameType(0x0a).String() != "UNKNOWN_FRAME_TYPE_10" || ErrCode(0xff).String() == "" || ErrCodeConnect.String() != "CONNECT_ERROR" {
		t.Fatal("String tables wrong")
	}
}

func TestFieldValidators(t *testing.T) {
	names := map[string]bool{"x-foo": true, "cookie": true, "a!#$%&'*+-.^_`|~9": true, "": false, "X-Foo": false, "a b": false, "a:b": false, "é": false}
	for n, want := range names {
		if validFieldName(n) != want {
			t.Errorf("validFieldName(%q) = %v", n, !want)
		}
	}
	values := map[string]bool{"": true, "a b": true, "a\tb": true, "\x80\xff": true, " a": false, "a\t": false, "a\x00": false, "a\nb": false, "a\x7f": false}
	for v, want := range values {
		if validFieldValue(v) != want {
			t.Errorf("validFieldValue(%q) = %v", v, !want)
		}
	}
}
