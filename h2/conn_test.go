package h2

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

func TestServerPreface(t *testing.T) {
	hs := newHarness(t, Config{})
	fs := hs.frames()
	if len(fs) != 2 || fs[0].Type != FrameSettings || fs[1].Type != FrameWindowUpdate {
		t.Fatalf("server preface = %v; want SETTINGS, WINDOW_UPDATE", fs)
	}
	want := map[SettingID]uint32{
		SettingMaxConcurrentStreams:  100,
		SettingInitialWindowSize:     256 << 10,
		SettingMaxFrameSize:          64 << 10,
		SettingMaxHeaderListSize:     64 << 10,
		SettingEnableConnectProtocol: 1,
	}
	got := map[SettingID]uint32{}
	for _, s := range fs[0].settings {
		got[s.ID] = s.Val
	}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("SETTINGS %v = %d; want %d", id, got[id], v)
		}
	}
	// RFC 9113 section 6.9.2: the connection window starts at 65535 and
	// only a WINDOW_UPDATE grows it.
	if fs[1].StreamID != 0 || fs[1].increment != 1<<20-65535 {
		t.Errorf("conn WINDOW_UPDATE = %+v; want +%d on stream 0", fs[1], 1<<20-65535)
	}

	// The preface may arrive a byte at a time.
	b := append([]byte(ClientPreface), AppendSettings(nil, nil)...)
	var pending []byte
	for i := range b {
		pending = append(pending, b[i])
		n, err := hs.c.Feed(pending)
		if err != nil {
			t.Fatalf("Feed at byte %d: %v", i, err)
		}
		pending = pending[n:]
	}
	fs = hs.frames()
	if len(fs) != 1 || fs[0].Type != FrameSettings || !fs[0].Flags.Has(FlagSettingsAck) {
		t.Fatalf("after client SETTINGS: %v; want SETTINGS ACK", fs)
	}
}

func TestBadPreface(t *testing.T) {
	for _, in := range []string{"GET / HTTP/1.1\r\n", "PRI * HTTP/2.0\r\n\r\nXX"} {
		hs := newHarness(t, Config{})
		hs.frames()
		hs.feed([]byte(in))
		wantGoAway(t, hs, hs.frames(), ErrCodeProtocol)
	}
	// RFC 9113 section 3.4: the first frame must be SETTINGS.
	hs := newHarness(t, Config{})
	hs.frames()
	hs.feed(append([]byte(ClientPreface), AppendPing(nil, false, [8]byte{})...))
	wantGoAway(t, hs, hs.frames(), ErrCodeProtocol)
}

func TestConnectAuthorityOnly(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.h.onRequest = func(st *Stream, req *Request) { st.WriteHeaders(200, nil, false) }
	hs.feed(hs.connect(1, "example.com:443"))
	req := hs.h.reqs[1]
	if req == nil || req.Method != "CONNECT" || req.Authority != "example.com:443" || req.Scheme != "" || req.Path != "" || req.Protocol != "" {
		t.Fatalf("request = %+v", req)
	}
	fs := hs.frames()
	if len(fs) != 1 || fs[0].Type != FrameHeaders || fs[0].field(":status") != "200" || fs[0].Flags.Has(FlagHeadersEndStream) {
		t.Fatalf("response = %+v; want HEADERS :status 200 without END_STREAM", fs)
	}
}

func TestMalformedConnect(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
	}{
		{"path", []string{":method", "CONNECT", ":authority", "a:443", ":path", "/"}},
		{"scheme", []string{":method", "CONNECT", ":authority", "a:443", ":scheme", "https"}},
		{"no authority", []string{":method", "CONNECT"}},
		{"extended without path", []string{":method", "CONNECT", ":protocol", "connect-udp", ":scheme", "https", ":authority", "a"}},
		{"extended without scheme", []string{":method", "CONNECT", ":protocol", "connect-udp", ":path", "/x", ":authority", "a"}},
		{"protocol on GET", []string{":method", "GET", ":protocol", "websocket", ":scheme", "https", ":path", "/", ":authority", "a"}},
		{"uppercase name", []string{":method", "CONNECT", ":authority", "a:443", "X-Foo", "1"}},
		{"connection header", []string{":method", "CONNECT", ":authority", "a:443", "connection", "close"}},
		{"te gzip", []string{":method", "CONNECT", ":authority", "a:443", "te", "gzip"}},
		{"pseudo after regular", []string{":method", "CONNECT", "x", "1", ":authority", "a:443"}},
		{"status in request", []string{":method", "CONNECT", ":authority", "a:443", ":status", "200"}},
		{"host differs from authority", []string{":method", "CONNECT", ":authority", "a:443", "host", "b:443"}},
		{"duplicate authority", []string{":method", "CONNECT", ":authority", "a:443", ":authority", "b:443"}},
		{"value with CR", []string{":method", "CONNECT", ":authority", "a:443", "x", "a\rb"}},
		{"value with edge space", []string{":method", "CONNECT", ":authority", "a:443", "x", "a "}},
		{"GET without path", []string{":method", "GET", ":scheme", "https", ":authority", "a"}},
		{"GET empty path", []string{":method", "GET", ":scheme", "https", ":path", ""}},
		{"GET relative path", []string{":method", "GET", ":scheme", "https", ":path", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, Config{})
			hs.start()
			hs.feed(hs.headers(1, false, tt.kv...))
			fs := hs.frames()
			noGoAway(t, hs, fs)
			wantRST(t, fs, 1, ErrCodeProtocol)
			if len(hs.h.reqs) != 0 {
				t.Fatalf("malformed request reached the handler: %+v", hs.h.reqs[1])
			}
			// The connection carries on.
			hs.feed(hs.connect(3, "a:443"))
			if hs.h.reqs[3] == nil {
				t.Fatal("next request not delivered")
			}
		})
	}
}

func TestExtendedConnect(t *testing.T) {
	hs := newHarness(t, Config{})
	fs := hs.frames()
	enabled := false
	for _, s := range fs[0].settings {
		enabled = enabled || s == Setting{SettingEnableConnectProtocol, 1}
	}
	if !enabled {
		t.Fatal("SETTINGS_ENABLE_CONNECT_PROTOCOL=1 not advertised")
	}
	hs.start()
	hs.h.onRequest = func(st *Stream, req *Request) { st.WriteHeaders(200, nil, false) }
	hs.feed(hs.headers(1, false, ":method", "CONNECT", ":protocol", "connect-udp", ":scheme", "https",
		":authority", "proxy.example", ":path", "/.well-known/masque/udp/192.0.2.6/443/", "capsule-protocol", "?1"))
	req := hs.h.reqs[1]
	if req == nil || req.Protocol != "connect-udp" || req.Path != "/.well-known/masque/udp/192.0.2.6/443/" ||
		len(req.Header) != 1 || req.Header[0].Name != "capsule-protocol" {
		t.Fatalf("request = %+v", req)
	}
	if fs := hs.frames(); len(fs) != 1 || fs[0].field(":status") != "200" {
		t.Fatalf("response = %v", fs)
	}
}

func TestEarlyDataDelivered(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	// The handler does not answer yet: it is dialing the upstream.
	b := hs.connect(1, "a:443")
	b = AppendData(b, 1, false, []byte("early bytes"))
	hs.feed(b)
	if got := string(hs.h.data[1]); got != "early bytes" {
		t.Fatalf("data before the 200 = %q; want it delivered", got)
	}
	st := hs.h.streams[1]
	st.WriteHeaders(200, nil, false)
	if n := st.WriteData([]byte("reply"), false); n != 5 {
		t.Fatalf("WriteData = %d", n)
	}
	fs := hs.frames()
	if len(fs) != 2 || fs[0].field(":status") != "200" || string(fs[1].data) != "reply" {
		t.Fatalf("frames = %v", fs)
	}
}

func TestEndStreamBothWays(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	st := hs.h.streams[1]
	st.WriteHeaders(200, nil, false)
	hs.feed(AppendData(nil, 1, true, []byte("last")))
	if !hs.h.ended[1] || string(hs.h.data[1]) != "last" {
		t.Fatalf("END_STREAM not delivered: %q %v", hs.h.data[1], hs.h.ended[1])
	}
	if hs.c.Idle() {
		t.Fatal("stream closed while we may still send (half-closed remote)")
	}
	// DATA after END_STREAM: RFC 9113 section 5.1 STREAM_CLOSED.
	st.WriteData([]byte("x"), false)
	hs.frames()
	if n := st.WriteData(nil, true); n != 0 {
		t.Fatalf("empty END_STREAM WriteData = %d", n)
	}
	fs := hs.frames()
	if len(fs) != 1 || fs[0].Type != FrameData || !fs[0].Flags.Has(FlagDataEndStream) || len(fs[0].data) != 0 {
		t.Fatalf("frames = %v; want an empty DATA with END_STREAM", fs)
	}
	if !hs.c.Idle() || !st.Dead() {
		t.Fatal("stream not closed after END_STREAM both ways")
	}
	// A GET answered at once closes its stream too.
	hs.h.onRequest = func(st *Stream, req *Request) {
		if !req.EndStream {
			t.Error("GET without END_STREAM")
		}
		st.WriteHeaders(200, nil, true)
	}
	hs.feed(hs.get(3))
	if !hs.c.Idle() {
		t.Fatal("GET stream still open")
	}
	// Frames on it now are on a closed stream.
	hs.frames()
	hs.feed(AppendData(nil, 3, false, []byte("x")))
	wantRST(t, hs.frames(), 3, ErrCodeStreamClosed)
}

func TestDataOnHalfClosedRemote(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.feed(hs.headers(1, true, ":method", "POST", ":scheme", "https", ":path", "/", ":authority", "a"))
	hs.feed(AppendData(nil, 1, false, []byte("x")))
	fs := hs.frames()
	wantRST(t, fs, 1, ErrCodeStreamClosed)
	if hs.h.resets[1] != ErrCodeStreamClosed {
		t.Fatalf("OnReset = %v", hs.h.resets[1])
	}
}

func TestPeerReset(t *testing.T) {
	hs := newHarness(t, Config{ConnWindowSize: 65535, InitialWindowSize: 65535})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	for range 4 {
		hs.feed(AppendData(nil, 1, false, make([]byte, 10000)))
	}
	hs.frames()
	hs.feed(AppendRSTStream(nil, 1, ErrCodeCancel))
	if hs.h.resets[1] != ErrCodeCancel || !hs.h.streams[1].Dead() {
		t.Fatalf("OnReset = %v", hs.h.resets[1])
	}
	// The 40000 bytes nobody will consume go back to the connection window.
	fs := hs.frames()
	if len(fs) != 1 || fs[0].Type != FrameWindowUpdate || fs[0].StreamID != 0 || fs[0].increment != 40000 {
		t.Fatalf("frames = %v; want conn WINDOW_UPDATE 40000", fs)
	}
	// RST_STREAM on a closed stream is ignored; on an idle one it is fatal.
	hs.feed(AppendRSTStream(nil, 1, ErrCodeCancel))
	noGoAway(t, hs, hs.frames())
	hs.feed(AppendRSTStream(nil, 5, ErrCodeCancel))
	wantGoAway(t, hs, hs.frames(), ErrCodeProtocol)
}

func TestStreamReset(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	st := hs.h.streams[1]
	st.Reset(ErrCodeConnect)
	wantRST(t, hs.frames(), 1, ErrCodeConnect)
	if _, ok := hs.h.resets[1]; ok {
		t.Fatal("OnReset called for our own Reset")
	}
	// Late DATA after our RST_STREAM is ignored (RFC 9113 section 5.4.2),
	// but its connection credit still comes back eventually.
	hs.feed(AppendData(nil, 1, false, []byte("late")))
	noGoAway(t, hs, hs.frames())
	if len(hs.h.data[1]) != 0 {
		t.Fatal("late DATA delivered")
	}
	if n := st.WriteData([]byte("x"), false); n != 0 {
		t.Fatalf("WriteData on a reset stream = %d", n)
	}
}

func TestSendFlowControl(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start(Setting{SettingInitialWindowSize, 10})
	hs.h.onRequest = func(st *Stream, req *Request) { st.WriteHeaders(200, nil, false) }
	hs.feed(hs.connect(1, "a:443"))
	st := hs.h.streams[1]
	hs.frames()
	if w := st.SendWindow(); w != 10 {
		t.Fatalf("SendWindow = %d; want 10", w)
	}
	if n := st.WriteData(make([]byte, 100), false); n != 10 {
		t.Fatalf("WriteData = %d; want 10 (the peer's window)", n)
	}
	if n := st.WriteData(make([]byte, 90), false); n != 0 {
		t.Fatalf("WriteData with no window = %d", n)
	}
	hs.feed(AppendWindowUpdate(nil, 1, 50))
	if hs.h.windows[1] != 1 {
		t.Fatalf("OnWindow calls = %d; want 1", hs.h.windows[1])
	}
	if n := st.WriteData(make([]byte, 90), false); n != 50 {
		t.Fatalf("WriteData after WINDOW_UPDATE = %d; want 50", n)
	}
	// A SETTINGS change moves open streams' windows (RFC 9113 section 6.9.2).
	hs.feed(AppendSettings(nil, []Setting{{SettingInitialWindowSize, 1 << 20}}))
	if hs.h.windows[1] != 2 {
		t.Fatalf("OnWindow after SETTINGS = %d; want 2", hs.h.windows[1])
	}
	// Now the connection window (65535 - 60 left) is the limit, and frames
	// stay within MAX_FRAME_SIZE.
	n := st.WriteData(make([]byte, 200000), false)
	if n != 65535-60 {
		t.Fatalf("WriteData = %d; want the connection window %d", n, 65535-60)
	}
	total := 0
	for _, f := range hs.frames() {
		if f.Type == FrameData {
			if f.Length > DefaultMaxFrameSize {
				t.Fatalf("DATA of %d bytes > MAX_FRAME_SIZE", f.Length)
			}
			total += len(f.data)
		}
	}
	if total != 10+50+n {
		t.Fatalf("DATA bytes on the wire = %d; want %d", total, 10+50+n)
	}
	hs.feed(AppendWindowUpdate(nil, 0, 1000))
	if hs.h.windows[1] != 3 || st.SendWindow() != 1000 {
		t.Fatalf("after conn WINDOW_UPDATE: OnWindow %d, SendWindow %d", hs.h.windows[1], st.SendWindow())
	}
	// A window pushed past 2^31-1 is a FLOW_CONTROL_ERROR.
	hs.feed(AppendWindowUpdate(nil, 1, maxWindow))
	wantRST(t, hs.frames(), 1, ErrCodeFlowControl)
}

func TestReceiveFlowControl(t *testing.T) {
	hs := newHarness(t, Config{InitialWindowSize: 1000, ConnWindowSize: 65535})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	hs.feed(AppendData(nil, 1, false, make([]byte, 600)))
	if fs := hs.frames(); len(fs) != 0 {
		t.Fatalf("frames before Consumed = %v; want none", fs)
	}
	st := hs.h.streams[1]
	st.Consumed(100)
	if fs := hs.frames(); len(fs) != 0 {
		t.Fatalf("WINDOW_UPDATE below half the window: %v", fs)
	}
	st.Consumed(500)
	fs := hs.frames()
	if len(fs) != 1 || fs[0].StreamID != 1 || fs[0].increment != 600 {
		t.Fatalf("frames = %v; want stream WINDOW_UPDATE 600", fs)
	}
	// Consumed beyond what was delivered gives nothing extra.
	st.Consumed(1 << 20)
	if fs := hs.frames(); len(fs) != 0 {
		t.Fatalf("over-Consumed produced %v", fs)
	}
	// The peer may now send 1000 more; 1001 overruns the stream window.
	hs.feed(AppendData(nil, 1, false, make([]byte, 1001)))
	fs = hs.frames()
	wantRST(t, fs, 1, ErrCodeFlowControl)
	if hs.h.resets[1] != ErrCodeFlowControl {
		t.Fatalf("OnReset = %v", hs.h.resets[1])
	}
	noGoAway(t, hs, fs)
}

func TestConnFlowControlOverrun(t *testing.T) {
	hs := newHarness(t, Config{InitialWindowSize: 60000, ConnWindowSize: 65535})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	hs.feed(hs.connect(3, "a:443"))
	hs.feed(AppendData(nil, 1, false, make([]byte, 16000)))
	hs.feed(AppendData(nil, 1, false, make([]byte, 16000)))
	hs.feed(AppendData(nil, 3, false, make([]byte, 16000)))
	hs.feed(AppendData(nil, 3, false, make([]byte, 16000)))
	noGoAway(t, hs, hs.frames())
	hs.feed(AppendData(nil, 3, false, make([]byte, 16000)))
	fs := hs.frames()
	wantGoAway(t, hs, fs, ErrCodeFlowControl)
	if hs.h.resets[1] != ErrCodeFlowControl || hs.h.resets[3] != ErrCodeFlowControl {
		t.Fatalf("streams not torn down: %v", hs.h.resets)
	}
}

func TestPaddingCreditReturned(t *testing.T) {
	hs := newHarness(t, Config{InitialWindowSize: 1000, ConnWindowSize: 65535})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	hs.feed(AppendDataPadded(nil, 1, false, []byte("abc"), 200))
	if string(hs.h.data[1]) != "abc" {
		t.Fatalf("data = %q", hs.h.data[1])
	}
	hs.feed(AppendDataPadded(nil, 1, false, nil, 255))
	hs.feed(AppendDataPadded(nil, 1, false, nil, 255))
	// 3 + 3*1 pad-length bytes + 710 padding: the padding's 713 bytes of
	// credit come back without Consumed.
	var inc uint32
	for _, f := range hs.frames() {
		if f.Type == FrameWindowUpdate && f.StreamID == 1 {
			inc += f.increment
		}
	}
	if inc != 713 {
		t.Fatalf("stream credit returned for padding = %d; want 713", inc)
	}
}

func TestTrailersAndContentLength(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	post := func(id uint32, cl string) []byte {
		return hs.headers(id, false, ":method", "POST", ":scheme", "https", ":path", "/", ":authority", "a", "content-length", cl)
	}
	b := post(1, "5")
	b = AppendData(b, 1, false, []byte("hello"))
	b = append(b, hs.headers(1, true, "x-checksum", "abc")...)
	hs.feed(b)
	if !hs.h.ended[1] || string(hs.h.data[1]) != "hello" || hs.h.reqs[1].ContentLength != 5 {
		t.Fatalf("POST with trailers: ended %v data %q", hs.h.ended[1], hs.h.data[1])
	}
	noGoAway(t, hs, hs.frames())

	hs.feed(append(post(3, "5"), AppendData(nil, 3, true, []byte("hell"))...))
	wantRST(t, hs.frames(), 3, ErrCodeProtocol)
	hs.feed(append(post(5, "2"), AppendData(nil, 5, false, []byte("hel"))...))
	wantRST(t, hs.frames(), 5, ErrCodeProtocol)
	// Trailers must end the stream and carry no pseudo-header fields.
	hs.feed(append(post(7, "0"), hs.headers(7, false, "x", "1")...))
	wantRST(t, hs.frames(), 7, ErrCodeProtocol)
	hs.feed(append(post(9, "0"), hs.headers(9, true, ":path", "/")...))
	wantRST(t, hs.frames(), 9, ErrCodeProtocol)
}

func TestResponseHeadersSplit(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	big := strings.Repeat("v", 40000)
	hs.h.onRequest = func(st *Stream, req *Request) {
		st.WriteHeaders(200, []hpack.HeaderField{{Name: "x-big", Value: big}, {Name: "connection", Value: "close"}}, true)
	}
	hs.feed(hs.get(1))
	out := bytes.Clone(hs.c.Output())
	fs := hs.frames()
	if len(fs) != 1 || fs[0].field("x-big") != big || fs[0].field("connection") != "" {
		t.Fatalf("decoded response wrong: %d frames", len(fs))
	}
	var types []FrameType
	for len(out) > 0 {
		fh, _ := ParseFrameHeader(out)
		types = append(types, fh.Type)
		out = out[FrameHeaderLen+int(fh.Length):]
	}
	if len(types) != 3 || types[0] != FrameHeaders || types[1] != FrameContinuation || types[2] != FrameContinuation {
		t.Fatalf("frame types = %v; want HEADERS CONTINUATION CONTINUATION", types)
	}
}

func TestGracefulGoAway(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	hs.feed(hs.connect(3, "a:443"))
	hs.c.GoAway(ErrCodeNo, "shutting down")
	fs := hs.frames()
	if g := framesOf(fs, FrameGoAway); len(g) != 1 || g[0].lastID != 3 || g[0].code != ErrCodeNo {
		t.Fatalf("GOAWAY = %v; want last stream 3 NO_ERROR", g)
	}
	if hs.c.Closed() {
		t.Fatal("Closed with streams still open")
	}
	// New streams are refused; old ones carry on.
	hs.feed(hs.connect(5, "a:443"))
	wantRST(t, hs.frames(), 5, ErrCodeRefusedStream)
	hs.feed(AppendData(nil, 1, false, []byte("still here")))
	if string(hs.h.data[1]) != "still here" {
		t.Fatal("open stream stopped working after GOAWAY")
	}
	for _, id := range []uint32{1, 3} {
		st := hs.h.streams[id]
		st.WriteHeaders(200, nil, false)
		st.WriteData(nil, true)
		hs.feed(AppendData(nil, id, true, nil))
	}
	if !hs.c.Closed() || !hs.c.Idle() {
		t.Fatal("not Closed after the last stream finished")
	}
}

func TestPeerGoAway(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	hs.feed(AppendGoAway(nil, 0, ErrCodeNo, nil))
	if hs.c.Closed() {
		t.Fatal("Closed while a stream is open")
	}
	hs.h.streams[1].Reset(ErrCodeCancel)
	if !hs.c.Closed() {
		t.Fatal("not Closed after the peer's GOAWAY and the last stream")
	}
}

func TestAbort(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	hs.c.Abort(ErrCodeCancel)
	if hs.h.resets[1] != ErrCodeCancel || !hs.c.Closed() {
		t.Fatal("Abort did not tear the stream down")
	}
	if _, err := hs.c.Feed([]byte{0}); err != ErrClosed {
		t.Fatalf("Feed after Abort = %v", err)
	}
}

func TestOutputOwnership(t *testing.T) {
	hs := newHarness(t, Config{})
	pool := make([]byte, 0, 4096)
	preface := hs.c.TakeOutput()
	if len(preface) == 0 || len(hs.c.Output()) != 0 {
		t.Fatal("TakeOutput did not hand the preface over")
	}
	hs.c.SetOutputBuffer(pool)
	hs.feed(append([]byte(ClientPreface), AppendSettings(nil, nil)...))
	out := hs.c.Output()
	if &out[:1][0] != &pool[:1][0] {
		t.Fatal("SetOutputBuffer's buffer not used")
	}
	hs.c.ResetOutput()
	hs.c.ReleaseBuffers()
	if hs.c.out != nil || hs.c.encBuf.b != nil {
		t.Fatal("ReleaseBuffers kept buffers")
	}
	hs.h.onRequest = func(st *Stream, req *Request) { st.WriteHeaders(200, nil, true) }
	hs.feed(hs.get(1))
	if fs := hs.frames(); len(fs) != 1 || fs[0].field(":status") != "200" {
		t.Fatalf("after ReleaseBuffers: %v", fs)
	}
}

// Until the client acknowledges our SETTINGS it may still assume the
// default 65535 stream window, even when we advertise less.
func TestSmallWindowBeforeAck(t *testing.T) {
	hs := newHarness(t, Config{InitialWindowSize: 1000})
	hs.feed(append([]byte(ClientPreface), AppendSettings(nil, nil)...))
	hs.feed(hs.connect(1, "a:443"))
	hs.feed(AppendData(nil, 1, false, make([]byte, 5000)))
	noGoAway(t, hs, hs.frames())
	if len(hs.h.data[1]) != 5000 {
		t.Fatal("DATA within the pre-ACK default window refused")
	}
	hs.feed(AppendSettingsAck(nil))
	// Now the window is 1000 - 5000 < 0: any more overruns it.
	hs.feed(AppendData(nil, 1, false, []byte("x")))
	wantRST(t, hs.frames(), 1, ErrCodeFlowControl)
}

func TestEagerConnWindow(t *testing.T) {
	hs := newHarness(t, Config{EagerConnWindow: true, ConnWindowSize: 65535, InitialWindowSize: 65535})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	for range 3 {
		hs.feed(AppendData(nil, 1, false, make([]byte, 16000)))
	}
	fs := hs.frames()
	if len(fs) != 1 || fs[0].StreamID != 0 || fs[0].increment != 48000 {
		t.Fatalf("frames = %v; want conn WINDOW_UPDATE 48000 before any Consumed", fs)
	}
	hs.h.streams[1].Consumed(48000)
	fs = hs.frames()
	if len(fs) != 1 || fs[0].StreamID != 1 || fs[0].increment != 48000 {
		t.Fatalf("frames = %v; want only the stream WINDOW_UPDATE", fs)
	}
	hs.feed(AppendDataPadded(nil, 1, false, make([]byte, 100), 255))
	hs.h.streams[1].Reset(ErrCodeCancel)
	for _, f := range hs.frames() {
		if f.Type == FrameWindowUpdate && f.StreamID == 0 && f.increment > 356 {
			t.Fatalf("connection credit returned twice: %v", f)
		}
	}
}

func TestGoAwayNotice(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.c.GoAwayNotice()
	hs.feed(hs.connect(1, "a:443")) // in flight when the notice left
	if hs.h.reqs[1] == nil {
		t.Fatal("stream after the notice refused")
	}
	hs.c.GoAway(ErrCodeNo, "")
	g := framesOf(hs.frames(), FrameGoAway)
	if len(g) != 2 || g[0].lastID != maxStreamID || g[1].lastID != 1 {
		t.Fatalf("GOAWAYs = %v; want 2^31-1 then 1", g)
	}
}
