package h2

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"
)

func TestLimitConcurrentStreams(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	var b []byte
	for i := range 100 {
		b = append(b, hs.connect(uint32(2*i+1), "a:443")...)
	}
	hs.feed(b)
	noGoAway(t, hs, hs.frames())
	if hs.c.NumStreams() != 100 {
		t.Fatalf("open streams = %d", hs.c.NumStreams())
	}
	// RFC 9113 section 5.1.2: past the limit, PROTOCOL_ERROR or
	// REFUSED_STREAM; we refuse so the client may retry.
	hs.feed(hs.connect(201, "a:443"))
	fs := hs.frames()
	wantRST(t, fs, 201, ErrCodeRefusedStream)
	noGoAway(t, hs, fs)
	if hs.h.reqs[201] != nil {
		t.Fatal("refused stream reached the handler")
	}
	// Once one closes, a new one fits; HPACK stayed in step meanwhile.
	hs.h.streams[1].Reset(ErrCodeCancel)
	hs.feed(hs.connect(203, "b:443"))
	if r := hs.h.reqs[203]; r == nil || r.Authority != "b:443" {
		t.Fatalf("stream after a free slot = %+v", r)
	}
}

func TestLimitNewStreamsPerFeed(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.h.onRequest = func(st *Stream, req *Request) { st.WriteHeaders(200, nil, true) }
	var b []byte
	for i := range 201 {
		b = append(b, hs.get(uint32(2*i+1))...)
	}
	hs.feed(b)
	fs := hs.frames()
	wantRST(t, fs, 401, ErrCodeRefusedStream)
	if len(hs.h.reqs) != 200 {
		t.Fatalf("requests handled in one Feed = %d; want 200", len(hs.h.reqs))
	}
}

func TestLimitRapidReset(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	id := uint32(1)
	for round := 0; round < 10 && hs.err == nil; round++ {
		var b []byte
		for range 100 {
			b = append(b, hs.connect(id, "a:443")...)
			b = AppendRSTStream(b, id, ErrCodeCancel)
			id += 2
		}
		hs.feed(b)
	}
	fs := hs.frames()
	wantGoAway(t, hs, fs, ErrCodeEnhanceYourCalm)
	if got := len(hs.h.reqs); got < 500 || got > 600 {
		t.Fatalf("streams before the rule tripped = %d; want just past 500", got)
	}
}

func TestLimitRapidResetSlowIsFine(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	id := uint32(1)
	for range 700 {
		hs.feed(hs.connect(id, "a:443"))
		hs.clock = hs.clock.Add(2 * time.Second) // lived longer than 1 s
		hs.feed(AppendRSTStream(nil, id, ErrCodeCancel))
		id += 2
	}
	noGoAway(t, hs, hs.frames())
}

// Tunnels answered with 200 and then closed by RST_STREAM at once, as
// browsers close them, are not rapid resets.
func TestLimitRapidResetAnsweredIsFine(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.h.onRequest = func(st *Stream, req *Request) { st.WriteHeaders(200, nil, false) }
	id := uint32(1)
	for range 10 {
		var b []byte
		for range 100 {
			b = append(b, hs.connect(id, "a:443")...)
			b = AppendRSTStream(b, id, ErrCodeCancel)
			id += 2
		}
		hs.feed(b)
	}
	noGoAway(t, hs, hs.frames())
}

// MadeYouReset (CVE-2025-8671): the client makes us reset streams.
func TestLimitMadeYouReset(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	id := uint32(1)
	for round := 0; round < 10 && hs.err == nil; round++ {
		var b []byte
		for range 100 {
			b = append(b, hs.connect(id, "a:443")...)
			b = AppendWindowUpdate(b, id, 0) // stream PROTOCOL_ERROR
			id += 2
		}
		hs.feed(b)
	}
	wantGoAway(t, hs, hs.frames(), ErrCodeEnhanceYourCalm)
	if len(hs.h.resets) < 500 {
		t.Fatalf("resets before tripping = %d", len(hs.h.resets))
	}
}

func TestLimitContinuationFlood(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	frag := hs.block(":method", "CONNECT", ":authority", "a:443")
	b := AppendHeaders(nil, HeadersParam{StreamID: 1, BlockFragment: frag[:1]})
	for i := 0; i < 9; i++ {
		b = AppendContinuation(b, 1, false, nil)
	}
	hs.feed(b)
	wantGoAway(t, hs, hs.frames(), ErrCodeEnhanceYourCalm)

	// 8 CONTINUATIONs are fine.
	hs = newHarness(t, Config{})
	hs.start()
	frag = hs.block(":method", "CONNECT", ":authority", "a:443", "x-a", "1", "x-b", "2", "x-c", "3")
	b = AppendHeaders(nil, HeadersParam{StreamID: 1, BlockFragment: frag[:1]})
	for i := 1; i <= 8; i++ {
		end := min(len(frag), 1+i*len(frag)/8)
		b = AppendContinuation(b, 1, i == 8, frag[min(len(frag), 1+(i-1)*len(frag)/8):end])
	}
	hs.feed(b)
	noGoAway(t, hs, hs.frames())
	if hs.h.reqs[1] == nil {
		t.Fatal("request over 8 CONTINUATIONs not delivered")
	}
}

func TestLimitContinuationPastBudget(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	var kv []string
	kv = append(kv, ":method", "CONNECT", ":authority", "a:443")
	for i := range 6 {
		kv = append(kv, "x-"+strconv.Itoa(i), strings.Repeat("v", 12000))
	}
	// Huffman-free, unindexed literals so the block is as big as it decodes.
	hs.encBuf.Reset()
	for i := 0; i < len(kv); i += 2 {
		hs.encBuf.Write(hpackLiteral(kv[i], kv[i+1]))
	}
	frag := hs.encBuf.Bytes()
	b := AppendHeaders(nil, HeadersParam{StreamID: 1, BlockFragment: frag[:16000]})
	b = AppendContinuation(b, 1, false, frag[16000:32000])
	b = AppendContinuation(b, 1, false, frag[32000:48000])
	b = AppendContinuation(b, 1, false, frag[48000:64000])
	b = AppendContinuation(b, 1, false, frag[64000:])
	b = AppendContinuation(b, 1, true, nil) // the budget blew in the last one
	hs.feed(b)
	wantGoAway(t, hs, hs.frames(), ErrCodeEnhanceYourCalm)
}

// hpackLiteral encodes a literal field without indexing and without Huffman
// (RFC 7541 section 6.2.2), lengths up to 2^21.
func hpackLiteral(name, value string) []byte {
	b := []byte{0x00}
	b = appendHpackInt(b, 7, uint64(len(name)))
	b = append(b, name...)
	b = appendHpackInt(b, 7, uint64(len(value)))
	return append(b, value...)
}

func appendHpackInt(b []byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(b, byte(v))
	}
	b = append(b, byte(max))
	v -= max
	for v >= 128 {
		b = append(b, byte(v%128)|0x80)
		v /= 128
	}
	return append(b, byte(v))
}

func TestLimitHPACKBomb(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	// One 4000-byte field enters the dynamic table, then a tiny block names
	// it 20 times: 80 KB decoded from 20 bytes.
	hs.h.onRequest = func(st *Stream, req *Request) { st.WriteHeaders(200, nil, true) }
	hs.encBuf.Reset()
	hs.enc.WriteField(hpack.HeaderField{Name: ":method", Value: "GET"})
	hs.enc.WriteField(hpack.HeaderField{Name: ":scheme", Value: "https"})
	hs.enc.WriteField(hpack.HeaderField{Name: ":path", Value: "/"})
	hs.enc.WriteField(hpack.HeaderField{Name: "x-bomb", Value: strings.Repeat("b", 4000)})
	hs.feed(AppendHeaders(nil, HeadersParam{StreamID: 1, BlockFragment: hs.encBuf.Bytes(), EndStream: true, EndHeaders: true}))
	if hs.h.reqs[1] == nil {
		t.Fatal("priming request not delivered")
	}
	hs.frames()
	bomb := []byte{0x82, 0x87, 0x84} // :method GET, :scheme https, :path /
	for range 20 {
		bomb = append(bomb, 0xbe) // dynamic index 62: x-bomb
	}
	hs.feed(AppendHeaders(nil, HeadersParam{StreamID: 3, BlockFragment: bomb, EndStream: true, EndHeaders: true}))
	fs := hs.frames()
	noGoAway(t, hs, fs)
	if hs.h.reqs[3] != nil {
		t.Fatal("over-budget request reached the handler")
	}
	if h := framesOf(fs, FrameHeaders); len(h) != 1 || h[0].field(":status") != "431" || !h[0].Flags.Has(FlagHeadersEndStream) {
		t.Fatalf("response = %v; want 431 with END_STREAM", fs)
	}
	// HPACK is still in step: the next request decodes.
	hs.feed(hs.get(5))
	if hs.h.reqs[5] == nil {
		t.Fatal("request after the bomb not delivered")
	}
}

func TestLimitHeaderFields(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	kv := []string{":method", "CONNECT", ":authority", "a:443"}
	for i := range 99 {
		kv = append(kv, "cookie", "c"+strconv.Itoa(i)) // crumbs count one by one
	}
	hs.feed(hs.headers(1, false, kv...))
	fs := hs.frames()
	if h := framesOf(fs, FrameHeaders); len(h) != 1 || h[0].field(":status") != "431" {
		t.Fatalf("101 fields: response %v; want 431", fs)
	}
	wantRST(t, fs, 1, ErrCodeNo) // the body the client may still send is cut
	hs.feed(hs.headers(3, false, kv[:len(kv)-2]...))
	if hs.h.reqs[3] == nil || len(hs.h.reqs[3].Header) != 98 {
		t.Fatal("100 fields not accepted")
	}
}

func TestLimitFieldSize(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.encBuf.Reset()
	hs.encBuf.Write(hpackLiteral("x-huge", strings.Repeat("v", 16<<10+1)))
	b := hs.encBuf.Bytes()
	h := AppendHeaders(nil, HeadersParam{StreamID: 1, BlockFragment: b[:16000]})
	h = AppendContinuation(h, 1, true, b[16000:])
	hs.feed(h)
	wantGoAway(t, hs, hs.frames(), ErrCodeEnhanceYourCalm)
}

func TestLimitTableSizeUpdate(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	// RFC 7541 section 6.3: 0x3f e1 1f = size update to 4097 > 4096.
	hs.feed(AppendHeaders(nil, HeadersParam{StreamID: 1, BlockFragment: []byte{0x3f, 0xe2, 0x1f}, EndHeaders: true}))
	wantGoAway(t, hs, hs.frames(), ErrCodeCompression)
}

func TestLimitSettingsFlood(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	var b []byte
	for range 1001 {
		b = AppendSettings(b, []Setting{{SettingInitialWindowSize, 65535}})
	}
	hs.feed(b) // the client never reads our ACKs: no ResetOutput
	wantGoAway(t, hs, hs.frames(), ErrCodeEnhanceYourCalm)

	hs = newHarness(t, Config{})
	hs.start()
	s := make([]Setting, 33)
	for i := range s {
		s[i] = Setting{SettingID(0x100 + i), 1}
	}
	hs.feed(AppendSettings(nil, s))
	wantGoAway(t, hs, hs.frames(), ErrCodeEnhanceYourCalm)
}

func TestLimitPingFlood(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	// A client that reads its socket may ping within the rate...
	for range 2000 {
		hs.feed(AppendPing(nil, false, [8]byte{1}))
		hs.c.ResetOutput()
		hs.clock = hs.clock.Add(20 * time.Millisecond) // 50/s
	}
	noGoAway(t, hs, hs.frames())
	// ...one that does not read gets cut off at the queued-ACK cap.
	var b []byte
	for range 1001 {
		b = AppendPing(b, false, [8]byte{2})
	}
	hs.feed(b)
	fs := hs.frames()
	wantGoAway(t, hs, fs, ErrCodeEnhanceYourCalm)
	if n := len(framesOf(fs, FramePing)); n != 1000 {
		t.Fatalf("PING ACKs queued = %d; want 1000", n)
	}
}

func TestLimitControlRate(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	for range 999 { // the burst of 1000, SETTINGS from start included
		hs.feed(AppendPing(nil, false, [8]byte{1}))
		hs.c.ResetOutput()
	}
	noGoAway(t, hs, hs.frames())
	hs.clock = hs.clock.Add(time.Second) // refills 100
	for range 100 {
		hs.feed(AppendSettings(nil, nil))
		hs.c.ResetOutput()
	}
	noGoAway(t, hs, hs.frames())
	hs.feed(AppendPing(nil, false, [8]byte{1}))
	wantGoAway(t, hs, hs.frames(), ErrCodeEnhanceYourCalm)
}

func TestLimitEmptyFrames(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	var b []byte
	for range 17 {
		b = AppendData(b, 1, false, nil)
	}
	hs.feed(b)
	wantGoAway(t, hs, hs.frames(), ErrCodeEnhanceYourCalm)

	// 16 in a row, then a real one, resets the count.
	hs = newHarness(t, Config{})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	for range 3 {
		b = b[:0]
		for range 16 {
			b = AppendData(b, 1, false, nil)
		}
		b = AppendData(b, 1, false, []byte("x"))
		hs.feed(b)
	}
	noGoAway(t, hs, hs.frames())
}

func TestLimitJunkRatio(t *testing.T) {
	hs := newHarness(t, Config{JunkAllowance: 10000})
	hs.start()
	var b []byte
	for range 10000 {
		b = AppendPriority(b, 3, PriorityParam{StreamDep: 1, Weight: 15})
		b = AppendWindowUpdate(b, 0, 1)
	}
	hs.feed(b)
	wantGoAway(t, hs, hs.frames(), ErrCodeEnhanceYourCalm)
}

// The adapter's zero-window hold needs to know when a stream cannot send:
// SendWindow reports it, and OnWindow fires exactly when it reopens.
func TestZeroWindowExposed(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start(Setting{SettingInitialWindowSize, 0})
	hs.h.onRequest = func(st *Stream, req *Request) { st.WriteHeaders(200, nil, false) }
	hs.feed(hs.connect(1, "a:443"))
	st := hs.h.streams[1]
	if st.SendWindow() != 0 || st.WriteData([]byte("x"), false) != 0 {
		t.Fatal("wrote into a zero window")
	}
	if hs.h.windows[1] != 0 {
		t.Fatal("OnWindow before any WINDOW_UPDATE")
	}
	hs.feed(AppendWindowUpdate(nil, 1, 1))
	if hs.h.windows[1] != 1 || st.SendWindow() != 1 {
		t.Fatalf("OnWindow %d, SendWindow %d", hs.h.windows[1], st.SendWindow())
	}
}
