package h1

import (
	"slices"
	"testing"
)

// framed is what a caller of a ResponseFramer saw of one response.
type framed struct {
	codes []int // every head's status, interim ones too
	body  int   // body bytes
	used  int   // bytes consumed in all
	done  bool
	err   error
}

// frame feeds wire to a fresh framer in the given chunks, as a caller that
// keeps a partial head does, and stops at the response's end.
func frame(method string, chunks [][]byte) framed {
	f := NewResponseFramer(method)
	var got framed
	var pend []byte
	for _, c := range chunks {
		pend = append(pend, c...)
		for len(pend) > 0 {
			p, n, resp, err := f.Next(pend, Limits{})
			if err != nil {
				got.err = err
				return got
			}
			if p == PartNeedMore || p == PartDone {
				break
			}
			if n <= 0 || n > len(pend) {
				panic("framer consumed nothing or more than it was given")
			}
			if p == PartHead {
				got.codes = append(got.codes, resp.Code)
			} else {
				got.body += n
			}
			got.used += n
			pend = pend[n:]
		}
		if f.Done() {
			got.done = true
			return got
		}
	}
	return got
}

// splits returns wire cut every way into two pieces, and into single
// bytes.
func splits(wire []byte) [][][]byte {
	var out [][][]byte
	for i := 0; i <= len(wire); i++ {
		out = append(out, [][]byte{wire[:i], wire[i:]})
	}
	var bytes [][]byte
	for i := range wire {
		bytes = append(bytes, wire[i:i+1])
	}
	return append(out, bytes)
}

var framerCases = []struct {
	name   string
	method string
	wire   string // one response; "NEXT" follows it on the wire
	codes  []int
	body   int
	mode   BodyMode
	done   bool // false: the body ends with the connection
}{
	{"RFC9112-6.3/content-length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", []int{200}, 5, BodyLength, true},
	{"RFC9112-6.3/content-length-zero", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", []int{200}, 0, BodyLength, true},
	{"RFC9112-7.1/chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\n\r\n",
		[]int{200}, 27, BodyChunked, true},
	{"RFC9112-7.1.2/chunked-trailers", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nhi\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n",
		[]int{200}, 30, BodyChunked, true},
	{"RFC9112-6.3/te-overrides-cl", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		[]int{200}, 5, BodyChunked, true},
	{"RFC9110-9.3.2/head", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", []int{200}, 0, BodyNone, true},
	{"RFC9110-9.3.2/head-chunked", "HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", []int{200}, 0, BodyNone, true},
	{"RFC9110-15.3.5/204", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", []int{204}, 0, BodyNone, true},
	{"RFC9110-15.4.5/304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\nETag: \"x\"\r\n\r\n", []int{304}, 0, BodyNone, true},
	{"RFC9110-15.2/interim-then-final", "POST", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
		[]int{100, 103, 201}, 2, BodyLength, true},
	{"RFC9112-6.3/close-delimited", "GET", "HTTP/1.0 200 OK\r\n\r\nall of it", []int{200}, 9 + 4, BodyClose, false},
	{"RFC9112-6.3/te-not-chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", []int{200}, 2 + 4, BodyClose, false},
	{"RFC9110-15.2.2/101", "GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nraw", []int{101}, 3 + 4, BodyClose, false},
}

// TestResponseFramer: every response ends exactly where its framing says,
// however its bytes are cut, and what follows it ("NEXT", the start of
// another response) is left alone; a close-delimited body takes
// everything.
func TestResponseFramer(t *testing.T) {
	for _, tt := range framerCases {
		t.Run(tt.name, func(t *testing.T) {
			wire := []byte(tt.wire + "NEXT")
			end := len(tt.wire)
			for _, chunks := range splits(wire) {
				got := frame(tt.method, chunks)
				if got.err != nil {
					t.Fatalf("%q: %v", chunks, got.err)
				}
				if got.done != tt.done || got.body != tt.body || !slices.Equal(got.codes, tt.codes) {
					t.Fatalf("%q: done %v body %d codes %v; want %v %d %v", chunks, got.done, got.body, got.codes, tt.done, tt.body, tt.codes)
				}
				if tt.done && got.used != end {
					t.Fatalf("%q: the response ended after %d bytes; want %d", chunks, got.used, end)
				}
			}
			f := NewResponseFramer(tt.method)
			frameAll(f, wire)
			if f.Mode() != tt.mode {
				t.Errorf("mode %d; want %d", f.Mode(), tt.mode)
			}
		})
	}
}

// TestResponseFramerTruncated: no strict prefix of a response is a
// complete response.
func TestResponseFramerTruncated(t *testing.T) {
	for _, tt := range framerCases {
		if !tt.done {
			continue
		}
		for i := 0; i < len(tt.wire); i++ {
			got := frame(tt.method, [][]byte{[]byte(tt.wire[:i])})
			if got.done || got.err != nil {
				t.Errorf("%s: prefix of %d bytes: done %v err %v", tt.name, i, got.done, got.err)
			}
		}
	}
}

// TestResponseFramerRoundTrip: a response rewritten by
// AppendForwardResponse frames the same as the origin's.
func TestResponseFramerRoundTrip(t *testing.T) {
	for _, tt := range framerCases {
		resp, n, err := ParseResponse([]byte(tt.wire), Limits{})
		if err != nil || resp.Code < 200 {
			continue
		}
		out := AppendForwardResponse(nil, &resp, ForwardOptions{Via: "sluice", Connection: "close"})
		wire := append(out, tt.wire[n:]...)
		a, b := frame(tt.method, [][]byte{[]byte(tt.wire)}), frame(tt.method, [][]byte{wire})
		if a.done != b.done || a.body != b.body || b.done && b.used != len(wire) {
			t.Errorf("%s: origin's %+v, forwarded %+v", tt.name, a, b)
		}
	}
}

// TestResponseFramerErrors: a response that breaks HTTP is a 502, after
// the body bytes before the bad one.
func TestResponseFramerErrors(t *testing.T) {
	for _, tt := range []struct {
		name, wire string
		body       int
	}{
		{"RFC9112-4/not-http", "SSH-2.0-OpenSSH_9.2\r\n", 0},
		{"RFC9112-6.3/bad-content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 0},
		{"RFC9112-7.1/bad-chunk-size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\nzz\r\n", 7},
		{"RFC9112-7.1/bare-lf", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nhi\r\n0\r\n\r\n", 1},
	} {
		for _, chunks := range splits([]byte(tt.wire)) {
			got := frame("GET", chunks)
			if codeOf(got.err) != 502 || got.body != tt.body {
				t.Fatalf("%s %q: err %v body %d; want 502 after %d body bytes", tt.name, chunks, got.err, got.body, tt.body)
			}
		}
	}
}

func TestResponseKeepsAlive(t *testing.T) {
	for in, want := range map[string]bool{
		"HTTP/1.1 200 OK\r\n\r\n":                                            true,
		"HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n":                       false,
		"HTTP/1.1 200 OK\r\nConnection: x, close\r\n\r\n":                    false,
		"HTTP/1.0 200 OK\r\n\r\n":                                            false,
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n":                  true,
		"HTTP/1.1 200 OK\r\nConnection: keep-alive, x\r\n\r\n":               true,
		"HTTP/1.1 200 OK\r\nConnection: closed\r\n\r\n":                      true,
		"HTTP/1.0 200 OK\r\nConnection: x\r\nConnection: keep-alive\r\n\r\n": true,
	} {
		resp, _, err := ParseResponse([]byte(in), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.KeepsAlive(); got != want {
			t.Errorf("%q: KeepsAlive %v; want %v", in, got, want)
		}
	}
}

// frameAll runs f over b until it stops, and reports how much it used.
func frameAll(f *ResponseFramer, b []byte) (used int, err error) {
	for len(b) > 0 {
		p, n, _, err := f.Next(b, Limits{})
		if err != nil || p == PartNeedMore || p == PartDone {
			return used, err
		}
		used += n
		b = b[n:]
	}
	return used, nil
}

// FuzzResponseFramer: whatever an origin sends, the framer never takes
// more than it is given, always moves on, and finds the same end and the
// same verdict however the bytes are cut: at one point, or one at a time.
func FuzzResponseFramer(f *testing.F) {
	for _, tt := range framerCases {
		f.Add([]byte(tt.wire+"NEXT"), tt.method == "HEAD", uint16(len(tt.wire)/2))
	}
	f.Fuzz(func(t *testing.T, b []byte, head bool, split uint16) {
		if len(b) > 4096 {
			return // byte at a time is quadratic in the test's own copies
		}
		method := "GET"
		if head {
			method = "HEAD"
		}
		i := int(split) % (len(b) + 1)
		whole := frame(method, [][]byte{b})
		for _, chunks := range [][][]byte{{b[:i], b[i:]}, splits(b)[len(b)+1]} {
			got := frame(method, chunks)
			if got.done != whole.done || got.used != whole.used || got.body != whole.body ||
				!slices.Equal(got.codes, whole.codes) || codeOf(got.err) != codeOf(whole.err) {
				t.Fatalf("cut %d: %+v; whole: %+v", i, got, whole)
			}
		}
		if whole.err != nil && codeOf(whole.err) != 502 {
			t.Fatalf("error %v; want a 502", whole.err)
		}
		if whole.done && whole.used > len(b) {
			t.Fatalf("used %d of %d bytes", whole.used, len(b))
		}
	})
}
