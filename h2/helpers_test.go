package h2

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"
)

// recHandler records every callback, and lets a test plug behaviour in.
type recHandler struct {
	reqs    map[uint32]*Request
	streams map[uint32]*Stream
	data    map[uint32][]byte
	ended   map[uint32]bool
	resets  map[uint32]ErrCode
	windows map[uint32]int

	onRequest func(st *Stream, req *Request)
	onData    func(st *Stream, p []byte, end bool)
	onWindow  func(st *Stream)
}

func newRecHandler() *recHandler {
	return &recHandler{
		reqs:    map[uint32]*Request{},
		streams: map[uint32]*Stream{},
		data:    map[uint32][]byte{},
		ended:   map[uint32]bool{},
		resets:  map[uint32]ErrCode{},
		windows: map[uint32]int{},
	}
}

func (h *recHandler) OnRequest(st *Stream, req *Request) {
	h.reqs[st.ID()] = req
	h.streams[st.ID()] = st
	if h.onRequest != nil {
		h.onRequest(st, req)
	}
}

func (h *recHandler) OnData(st *Stream, p []byte, end bool) {
	h.data[st.ID()] = append(h.data[st.ID()], p...)
	if end {
		h.ended[st.ID()] = true
	}
	if h.onData != nil {
		h.onData(st, p, end)
	}
}

func (h *recHandler) OnReset(st *Stream, code ErrCode) { h.resets[st.ID()] = code }

func (h *recHandler) OnWindow(st *Stream) {
	h.windows[st.ID()]++
	if h.onWindow != nil {
		h.onWindow(st)
	}
}

// gotFrame is a frame decoded from Output, copied out of the buffer.
type gotFrame struct {
	FrameHeader
	payload   []byte
	code      ErrCode // RST_STREAM, GOAWAY
	lastID    uint32  // GOAWAY
	increment uint32  // WINDOW_UPDATE
	settings  []Setting
	fields    []hpack.HeaderField // HEADERS (+CONTINUATION), decoded
	data      []byte              // DATA
}

func (f gotFrame) field(name string) string {
	for _, hf := range f.fields {
		if hf.Name == name {
			return hf.Value
		}
	}
	return ""
}

// harness drives a ServerConn with byte scripts, as a client would.
type harness struct {
	t      testing.TB
	c      *ServerConn
	h      *recHandler
	encBuf bytes.Buffer
	enc    *hpack.Encoder
	dec    *hpack.Decoder
	fr     Framer
	clock  time.Time
	err    error // last Feed error
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	hs := &harness{t: t, h: newRecHandler(), clock: time.Unix(1e9, 0)}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return hs.clock }
	}
	hs.enc = hpack.NewEncoder(&hs.encBuf)
	hs.dec = hpack.NewDecoder(4096, nil)
	hs.fr.MaxReadFrameSize = MaxFrameSizeLimit
	hs.c = NewServerConn(cfg, hs.h)
	return hs
}

// start sends the preface and an empty SETTINGS and drops the server's
// preface and ACK from the output.
func (hs *harness) start(settings ...Setting) {
	hs.t.Helper()
	b := append([]byte(ClientPreface), AppendSettings(nil, settings)...)
	b = AppendSettingsAck(b) // of the server's SETTINGS
	hs.feed(b)
	fs := hs.frames()
	if len(fs) == 0 || fs[len(fs)-1].Type != FrameSettings || !fs[len(fs)-1].Flags.Has(FlagSettingsAck) {
		hs.t.Fatalf("server frames = %v; want ... SETTINGS ACK", fs)
	}
}

// feed passes b to Feed and checks that it was consumed, unless Feed
// failed; the error is kept in hs.err.
func (hs *harness) feed(b []byte) {
	hs.t.Helper()
	n, err := hs.c.Feed(b)
	hs.err = err
	if err == nil && n != len(b) {
		hs.t.Fatalf("Feed consumed %d of %d bytes", n, len(b))
	}
}

// block encodes header fields given as name, value pairs.
func (hs *harness) block(kv ...string) []byte {
	hs.encBuf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		hs.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return bytes.Clone(hs.encBuf.Bytes())
}

func (hs *harness) headers(id uint32, end bool, kv ...string) []byte {
	return AppendHeaders(nil, HeadersParam{StreamID: id, BlockFragment: hs.block(kv...), EndStream: end, EndHeaders: true})
}

func (hs *harness) connect(id uint32, authority string) []byte {
	return hs.headers(id, false, ":method", "CONNECT", ":authority", authority)
}

func (hs *harness) get(id uint32) []byte {
	return hs.headers(id, true, ":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/")
}

// frames decodes and clears the output.
func (hs *harness) frames() []gotFrame {
	hs.t.Helper()
	out := hs.c.Output()
	var fs []gotFrame
	for len(out) > 0 {
		f, n, err := hs.fr.Parse(out)
		if err != nil {
			hs.t.Fatalf("output does not parse: %v (% x)", err, out)
		}
		g := gotFrame{FrameHeader: f.Header(), payload: bytes.Clone(out[FrameHeaderLen:n])}
		switch f := f.(type) {
		case *RSTStreamFrame:
			g.code = f.Code
		case *GoAwayFrame:
			g.code, g.lastID = f.Code, f.LastStreamID
		case *WindowUpdateFrame:
			g.increment = f.Increment
		case *SettingsFrame:
			for i := range f.NumSettings() {
				g.settings = append(g.settings, f.Setting(i))
			}
		case *DataFrame:
			g.data = bytes.Clone(f.Data)
		case *HeadersFrame:
			frag := bytes.Clone(f.BlockFragment)
			for !f.HeadersEnded() {
				out = out[n:]
				cf, m, err := hs.fr.Parse(out)
				if err != nil {
					hs.t.Fatalf("CONTINUATION does not parse: %v", err)
				}
				cont, ok := cf.(*ContinuationFrame)
				if !ok || cont.StreamID != g.StreamID {
					hs.t.Fatalf("HEADERS followed by %v", cf.Header())
				}
				frag = append(frag, cont.BlockFragment...)
				n = m
				if cont.HeadersEnded() {
					break
				}
			}
			var err error
			g.fields, err = hs.dec.DecodeFull(frag)
			if err != nil {
				hs.t.Fatalf("response header block: %v", err)
			}
		}
		fs = append(fs, g)
		out = out[n:]
	}
	hs.c.ResetOutput()
	return fs
}

// framesOf returns the frames of type t.
func framesOf(fs []gotFrame, t FrameType) []gotFrame {
	var r []gotFrame
	for _, f := range fs {
		if f.Type == t {
			r = append(r, f)
		}
	}
	return r
}

// wantRST checks that fs holds a RST_STREAM for id with code.
func wantRST(t testing.TB, fs []gotFrame, id uint32, code ErrCode) {
	t.Helper()
	for _, f := range framesOf(fs, FrameRSTStream) {
		if f.StreamID == id {
			if f.code != code {
				t.Fatalf("RST_STREAM %d code = %v; want %v", id, f.code, code)
			}
			return
		}
	}
	t.Fatalf("no RST_STREAM for stream %d in %v", id, fs)
}

// wantGoAway checks that the connection failed with code.
func wantGoAway(t testing.TB, hs *harness, fs []gotFrame, code ErrCode) {
	t.Helper()
	g := framesOf(fs, FrameGoAway)
	if len(g) != 1 || g[0].code != code {
		t.Fatalf("GOAWAY frames = %v; want one with %v", g, code)
	}
	var ce ConnError
	if !errors.As(hs.err, &ce) || ce.Code != code {
		t.Fatalf("Feed error = %v; want ConnError %v", hs.err, code)
	}
	if !hs.c.Closed() {
		t.Fatal("Closed() = false after a connection error")
	}
}

func noGoAway(t testing.TB, hs *harness, fs []gotFrame) {
	t.Helper()
	if g := framesOf(fs, FrameGoAway); len(g) > 0 || hs.err != nil {
		t.Fatalf("unexpected GOAWAY %v / error %v", g, hs.err)
	}
}
