package h2

import "testing"

// TestProfileGoErrors: under ProfileGo connection errors and malformed
// frames are answered as Go's server answers them, which differs from
// sluice's own answers in code, debug data, last stream id or kind.
func TestProfileGoErrors(t *testing.T) {
	goAway := func(t *testing.T, hs *harness, code ErrCode, last uint32) {
		t.Helper()
		fs := hs.frames()
		wantGoAway(t, hs, fs, code)
		g := framesOf(fs, FrameGoAway)[0]
		if g.lastID != last || len(g.payload) != 8 {
			t.Fatalf("GOAWAY last=%d payload % x; want last=%d and no debug data", g.lastID, g.payload, last)
		}
	}
	raw := func(typ FrameType, flags Flags, id uint32, p ...byte) []byte {
		return AppendRawFrame(nil, FrameHeader{Type: typ, Flags: flags, StreamID: id}, p)
	}
	cases := []struct {
		name string
		run  func(t *testing.T, hs *harness)
	}{
		{"DATA on an idle stream names it", func(t *testing.T, hs *harness) {
			hs.feed(raw(FrameData, FlagDataEndStream, 5, 'x'))
			goAway(t, hs, ErrCodeProtocol, 5)
		}},
		{"CONTINUATION alone does not", func(t *testing.T, hs *harness) {
			hs.feed(raw(FrameContinuation, FlagContinuationEndHeaders, 3, 0x82))
			goAway(t, hs, ErrCodeProtocol, 0)
		}},
		{"PRIORITY of the wrong length fails the connection", func(t *testing.T, hs *harness) {
			hs.feed(raw(FramePriority, 0, 1, 0, 0, 0))
			goAway(t, hs, ErrCodeFrameSize, 0)
		}},
		{"too much HEADERS padding resets the stream", func(t *testing.T, hs *harness) {
			hs.feed(raw(FrameHeaders, FlagHeadersEndHeaders|FlagHeadersPadded, 1, 200, 0x82, 0x84))
			fs := hs.frames()
			noGoAway(t, hs, fs)
			wantRST(t, fs, 1, ErrCodeProtocol)
		}},
		{"duplicate SETTINGS", func(t *testing.T, hs *harness) {
			hs.feed(AppendSettings(nil, []Setting{{SettingInitialWindowSize, 1}, {SettingInitialWindowSize, 2}}))
			goAway(t, hs, ErrCodeProtocol, 0)
		}},
		{"a second SETTINGS ACK", func(t *testing.T, hs *harness) {
			hs.feed(AppendSettingsAck(nil))
			goAway(t, hs, ErrCodeProtocol, 0)
		}},
		{"HEADERS on a closed stream", func(t *testing.T, hs *harness) {
			hs.feed(hs.get(1))
			hs.h.streams[1].WriteHeaders(200, nil, true)
			hs.frames()
			hs.feed(hs.get(1))
			goAway(t, hs, ErrCodeProtocol, 1)
		}},
		{"a client GOAWAY gets one back, later streams are ignored", func(t *testing.T, hs *harness) {
			hs.feed(hs.get(1))
			hs.feed(AppendGoAway(nil, 0, ErrCodeNo, nil))
			g := framesOf(hs.frames(), FrameGoAway)
			if len(g) != 1 || g[0].code != ErrCodeNo || g[0].lastID != 1 {
				t.Fatalf("GOAWAY frames %v; want one NO_ERROR last=1", g)
			}
			hs.feed(hs.get(3))
			if fs := hs.frames(); len(fs) != 0 || hs.h.reqs[3] != nil {
				t.Fatalf("stream 3 after GOAWAY: frames %v", fs)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, GoDefaults(Config{}))
			hs.start()
			tc.run(t, hs)
		})
	}
}

// TestProfileGoBadPreface: Go's server hangs up on a broken preface
// without a GOAWAY.
func TestProfileGoBadPreface(t *testing.T) {
	hs := newHarness(t, GoDefaults(Config{}))
	hs.frames() // the server's preface
	hs.feed([]byte("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"))
	if hs.err == nil || !hs.c.Closed() {
		t.Fatalf("Feed error %v, Closed %v; want a failed connection", hs.err, hs.c.Closed())
	}
	if fs := hs.frames(); len(fs) != 0 {
		t.Fatalf("frames after a bad preface: %v", fs)
	}
}

// TestProfileGoBadPrefaceWaitsFor24Bytes: Go's server reads the whole
// 24-byte preface before it judges it, so a client that sent fewer wrong
// bytes is still waited for; the 24th ends the connection.
func TestProfileGoBadPrefaceWaitsFor24Bytes(t *testing.T) {
	hs := newHarness(t, GoDefaults(Config{}))
	hs.frames() // the server's preface
	bad := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	for i := range 23 {
		hs.feed(bad[i : i+1])
		if hs.err != nil || hs.c.Closed() {
			t.Fatalf("after %d bytes: Feed error %v, Closed %v; want a conn still waiting", i+1, hs.err, hs.c.Closed())
		}
	}
	hs.feed(bad[23:24])
	if hs.err == nil || !hs.c.Closed() {
		t.Fatalf("after 24 bytes: Feed error %v, Closed %v; want a failed connection", hs.err, hs.c.Closed())
	}
	if fs := hs.frames(); len(fs) != 0 {
		t.Fatalf("frames after a bad preface: %v", fs)
	}
}
