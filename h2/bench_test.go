package h2

import (
	"testing"
)

func BenchmarkAppendData(b *testing.B) {
	p := make([]byte, DefaultMaxFrameSize)
	buf := make([]byte, 0, 2*DefaultMaxFrameSize)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		buf = AppendData(buf[:0], 1, false, p)
	}
}

func BenchmarkParseData(b *testing.B) {
	wire := AppendData(nil, 1, false, make([]byte, DefaultMaxFrameSize))
	var fr Framer
	b.ReportAllocs()
	b.SetBytes(DefaultMaxFrameSize)
	for b.Loop() {
		if _, _, err := fr.Parse(wire); err != nil {
			b.Fatal(err)
		}
	}
}

// benchConn returns a connection with one open CONNECT stream that has
// answered 200, and a handler that consumes everything.
func benchConn(b *testing.B) (*harness, *Stream) {
	hs := newHarness(b, Config{})
	hs.start(Setting{SettingInitialWindowSize, maxWindow})
	hs.h.onRequest = func(st *Stream, req *Request) { st.WriteHeaders(200, nil, false) }
	hs.h.onData = func(st *Stream, p []byte, end bool) { st.Consumed(len(p)) }
	hs.feed(hs.connect(1, "a:443"))
	hs.c.ResetOutput()
	return hs, hs.h.streams[1]
}

// BenchmarkWriteData is the download direction: 64 KiB of upstream bytes
// framed into 4 DATA frames in the reused output buffer.
func BenchmarkWriteData(b *testing.B) {
	hs, st := benchConn(b)
	p := make([]byte, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		// Keep the windows open as a reading client's WINDOW_UPDATEs would.
		st.out.avail = maxWindow
		hs.c.sendFlow.avail = maxWindow
		if n := st.WriteData(p, false); n != len(p) {
			b.Fatalf("WriteData = %d", n)
		}
		hs.c.ResetOutput()
	}
}

// BenchmarkFeedData is the upload direction: four 16 KiB DATA frames fed,
// delivered to the handler, Consumed, and WINDOW_UPDATEs appended.
func BenchmarkFeedData(b *testing.B) {
	hs, _ := benchConn(b)
	// The recording handler would grow its map; count bytes only.
	hs.c.h = benchHandler{}
	var in []byte
	for range 4 {
		in = AppendData(in, 1, false, make([]byte, DefaultMaxFrameSize))
	}
	b.ReportAllocs()
	b.SetBytes(4 * DefaultMaxFrameSize)
	for b.Loop() {
		if n, err := hs.c.Feed(in); err != nil || n != len(in) {
			b.Fatalf("Feed = %d, %v", n, err)
		}
		hs.c.ResetOutput()
	}
}

type benchHandler struct{}

func (benchHandler) OnRequest(st *Stream, req *Request)          {}
func (benchHandler) OnData(st *Stream, p []byte, endStream bool) { st.Consumed(len(p)) }
func (benchHandler) OnReset(st *Stream, code ErrCode)            {}
func (benchHandler) OnWindow(st *Stream)                         {}

// BenchmarkNewServerConn measures what an idle connection costs before and
// after its preface: B/op is the memory a connection holds at rest.
func BenchmarkNewServerConn(b *testing.B) {
	in := append([]byte(ClientPreface), AppendSettings(nil, nil)...)
	in = AppendSettingsAck(in)
	b.ReportAllocs()
	for b.Loop() {
		c := NewServerConn(Config{}, benchHandler{})
		c.ResetOutput()
		if _, err := c.Feed(in); err != nil {
			b.Fatal(err)
		}
		c.ResetOutput()
		c.ReleaseBuffers()
	}
}

// BenchmarkConnectStream opens a CONNECT stream, answers 200, and resets it:
// the per-tunnel setup cost in the h2 layer.
func BenchmarkConnectStream(b *testing.B) {
	hs := newHarness(b, Config{})
	hs.start()
	hs.c.h = benchHandler{}
	hs.c.cfg.PrematureResetMinStreams = 1 << 30
	id := uint32(1)
	b.ReportAllocs()
	for b.Loop() {
		hs.feed(hs.connect(id, "example.com:443"))
		st := hs.c.streams[id]
		st.WriteHeaders(200, nil, false)
		st.Reset(ErrCodeCancel)
		hs.c.ResetOutput()
		id += 2
	}
}
