package h2

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2/hpack"
)

func FuzzFramer(f *testing.F) {
	for _, tt := range goldenFrames {
		f.Add([]byte(tt.wire))
	}
	var all []byte
	for _, tt := range goldenFrames {
		all = append(all, tt.wire...)
	}
	f.Add(all)
	f.Add([]byte("\x00\x00\x01\x00\x08\x00\x00\x00\x01\x01"))
	f.Add([]byte("\x00\x00\x05\x02\x00\x00\x00\x00\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr, fr2 Framer
		fr.MaxReadFrameSize = MaxFrameSizeLimit
		fr2.MaxReadFrameSize = MaxFrameSizeLimit
		for len(b) > 0 {
			f, n, err := fr.Parse(b)
			if err == ErrNeedMore {
				if n != 0 || f != nil {
					t.Fatalf("ErrNeedMore with n=%d", n)
				}
				return
			}
			if n < 0 || n > len(b) {
				t.Fatalf("n = %d of %d", n, len(b))
			}
			var se StreamError
			if errors.As(err, &se) {
				if n < FrameHeaderLen {
					t.Fatalf("StreamError consumed %d", n)
				}
				b = b[n:]
				continue
			}
			if err != nil {
				var ce ConnError
				if !errors.As(err, &ce) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if n < FrameHeaderLen || f.Header().Length != uint32(n-FrameHeaderLen) {
				t.Fatalf("n = %d for %v", n, f.Header())
			}
			// Re-encoding is stable: parse(append(f)) appends the same.
			if re := reencode(f); re != nil {
				f2, n2, err := fr2.Parse(re)
				if err != nil || n2 != len(re) {
					t.Fatalf("re-encoded %v does not parse: %v", f.Header(), err)
				}
				if re2 := reencode(f2); !bytes.Equal(re, re2) {
					t.Fatalf("re-encoding unstable: %q then %q", re, re2)
				}
				if d, ok := f.(*DataFrame); ok && !reflect.DeepEqual(d.Data, f2.(*DataFrame).Data) && len(d.Data) > 0 {
					t.Fatal("DATA payload changed")
				}
			}
			b = b[n:]
		}
	})
}

// fuzzScripts are client byte streams after the preface and SETTINGS that
// seed FuzzServerConn.
func fuzzScripts() [][]byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	block := func(kv ...string) []byte {
		buf.Reset()
		for i := 0; i+1 < len(kv); i += 2 {
			enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return bytes.Clone(buf.Bytes())
	}
	hdr := func(id uint32, end bool, kv ...string) []byte {
		return AppendHeaders(nil, HeadersParam{StreamID: id, BlockFragment: block(kv...), EndStream: end, EndHeaders: true})
	}
	var s [][]byte
	connect := hdr(1, false, ":method", "CONNECT", ":authority", "a:443")
	s = append(s, append(bytes.Clone(connect), AppendData(nil, 1, true, []byte("ping"))...))
	s = append(s, hdr(1, true, ":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a"))
	post := hdr(3, false, ":method", "POST", ":scheme", "https", ":path", "/", ":authority", "a", "content-length", "3")
	post = AppendDataPadded(post, 3, false, []byte("abc"), 4)
	post = append(post, hdr(3, true, "x-trailer", "1")...)
	s = append(s, post)
	ext := hdr(5, false, ":method", "CONNECT", ":protocol", "connect-udp", ":scheme", "https", ":path", "/x", ":authority", "a")
	ext = AppendWindowUpdate(ext, 5, 100)
	ext = AppendWindowUpdate(ext, 0, 100)
	ext = AppendRSTStream(ext, 5, ErrCodeCancel)
	s = append(s, ext)
	split := block(":method", "CONNECT", ":authority", "a:443", "x-long", "abcdefghijklmnop")
	cont := AppendHeaders(nil, HeadersParam{StreamID: 7, BlockFragment: split[:5], Priority: &PriorityParam{StreamDep: 1, Weight: 3}})
	cont = AppendContinuation(cont, 7, true, split[5:])
	cont = AppendSettings(cont, []Setting{{SettingInitialWindowSize, 1}, {SettingMaxFrameSize, 20000}, {SettingHeaderTableSize, 0}})
	cont = AppendPing(cont, false, [8]byte{1})
	cont = AppendPriority(cont, 9, PriorityParam{StreamDep: 7})
	cont = AppendGoAway(cont, 0, ErrCodeNo, nil)
	s = append(s, cont)
	for _, tt := range goldenFrames {
		s = append(s, []byte(tt.wire))
	}
	return s
}

func FuzzServerConn(f *testing.F) {
	for i, s := range fuzzScripts() {
		f.Add(s, uint16(i*7))
	}
	f.Fuzz(func(t *testing.T, script []byte, split uint16) {
		c := NewServerConn(Config{}, siteHandler{})
		in := append([]byte(ClientPreface), AppendSettings(nil, nil)...)
		in = append(in, script...)
		cut := len(ClientPreface) + int(split)%(len(in)-len(ClientPreface)+1)
		var pending []byte
		consumed := 0
		for _, piece := range [][]byte{in[:cut], in[cut:]} {
			pending = append(pending, piece...)
			n, err := c.Feed(pending)
			if n < 0 || n > len(pending) {
				t.Fatalf("Feed consumed %d of %d", n, len(pending))
			}
			pending = pending[n:]
			consumed += n
			if err != nil {
				if !c.Closed() {
					t.Fatal("Feed failed but Closed() = false")
				}
				break
			}
		}
		// The connection window only grows by WINDOW_UPDATE on stream 0, so
		// what we sent is bounded by 65535 plus those increments.
		granted := int64(defaultInitialWindowSize)
		var cfr Framer
		for rest := in[len(ClientPreface):consumed]; len(rest) > 0; {
			f, n, err := cfr.Parse(rest)
			if n == 0 {
				break
			}
			if wu, ok := f.(*WindowUpdateFrame); ok && err == nil && wu.StreamID == 0 {
				granted += int64(wu.Increment)
			}
			rest = rest[n:]
		}
		var sent int64
		// Whatever we wrote must be well-formed HTTP/2.
		out := c.Output()
		var fr Framer
		fr.MaxReadFrameSize = MaxFrameSizeLimit
		dec := hpack.NewDecoder(4096, nil)
		var frag []byte
		for len(out) > 0 {
			f, n, err := fr.Parse(out)
			if err != nil {
				t.Fatalf("our output does not parse: %v", err)
			}
			switch f := f.(type) {
			case *HeadersFrame:
				frag = append(frag[:0], f.BlockFragment...)
				if f.HeadersEnded() {
					if _, err := dec.DecodeFull(frag); err != nil {
						t.Fatalf("our header block: %v", err)
					}
				}
			case *ContinuationFrame:
				frag = append(frag, f.BlockFragment...)
				if f.HeadersEnded() {
					if _, err := dec.DecodeFull(frag); err != nil {
						t.Fatalf("our header block: %v", err)
					}
				}
			case *DataFrame:
				if f.Length > c.peerMaxFrameSize {
					t.Fatalf("DATA of %d > peer MAX_FRAME_SIZE", f.Length)
				}
				sent += int64(f.Length)
			}
			out = out[n:]
		}
		if sent > granted {
			t.Fatalf("sent %d DATA bytes; the client granted %d", sent, granted)
		}
	})
}

// FuzzFieldValidators checks our RFC 9110 validators against x/net's
// httpguts (test-only oracle): names are httpguts tokens that are also
// lowercase, values are httpguts field values without edge whitespace.
func FuzzFieldValidators(f *testing.F) {
	for _, s := range []string{"", "x-foo", "X-Foo", "a b", " a", "a\t", "\x80", "a\x7f", "a\x00b", "te", "cookie"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wantName := httpguts.ValidHeaderFieldName(s) && s == strings.ToLower(s)
		if got := validFieldName(s); got != wantName {
			t.Fatalf("validFieldName(%q) = %v; want %v", s, got, wantName)
		}
		wantValue := httpguts.ValidHeaderFieldValue(s) && strings.Trim(s, " \t") == s
		if got := validFieldValue(s); got != wantValue {
			t.Fatalf("validFieldValue(%q) = %v; want %v", s, got, wantValue)
		}
	})
}
