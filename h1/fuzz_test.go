package h1

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Fuzz properties shared by the head parsers: no panic, n <= len(b),
// ErrNeedMore only with n == 0, errors are StatusErrors, and the verdict on
// b does not change when more bytes arrive (success keeps n and the value,
// failure keeps the code).

var fuzzExtra = []byte("\r\nX-More: 1\r\n\r\nGET / HTTP/1.1\r\n")

func FuzzParseRequest(f *testing.F) {
	for _, tt := range okRequests {
		f.Add([]byte(tt.in))
	}
	for _, tt := range badRequests {
		if len(tt.in) < 1024 {
			f.Add([]byte(tt.in))
		}
	}
	for _, tt := range forwardRequests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, lim := range []Limits{{}, smallLimits} {
			req, n, err := ParseRequest(b, lim)
			checkVerdict(t, b, n, err, 400, 414, 431, 501, 505)
			more := append(b[:len(b):len(b)], fuzzExtra...)
			req2, n2, err2 := ParseRequest(more, lim)
			if err == nil && (err2 != nil || n2 != n || !reflect.DeepEqual(req, req2)) {
				t.Fatalf("extra bytes changed a parsed head: n=%d -> n=%d err=%v", n, n2, err2)
			}
			if code := codeOf(err); code > 0 && codeOf(err2) != code {
				t.Fatalf("extra bytes changed the verdict: %v -> %v", err, err2)
			}
			checkIncremental(t, b, func(p *HeadParser, b []byte) (any, int, error) {
				return p.ParseRequest(b, lim)
			}, func(b []byte) (any, int, error) {
				return ParseRequest(b, lim)
			})
			if err != nil {
				continue
			}
			checkFields(t, req.Fields)
			switch req.Form {
			case FormAuthority:
				if _, _, err := ParseAuthority(req.Target); err != nil || req.Method != "CONNECT" {
					t.Fatalf("authority-form %q %q accepted: %v", req.Method, req.Target, err)
				}
			case FormAbsolute:
				checkForwardRoundTrip(t, &req)
			}
		}
	})
}

// checkForwardRoundTrip asserts that a forwarded request parses back as
// the same request in origin-form, with the same framing.
func checkForwardRoundTrip(t *testing.T, req *Request) {
	out, _, port, err := AppendForwardRequest(nil, req, ForwardOptions{Via: "sluice", Connection: "close"})
	if err != nil {
		if codeOf(err) != 400 || len(out) != 0 {
			t.Fatalf("AppendForwardRequest: out=%q err=%v", out, err)
		}
		return
	}
	if port == 0 {
		t.Fatalf("port 0 from %q", req.Target)
	}
	back, n, err := ParseRequest(out, Limits{MaxRequestLine: 1 << 20, MaxHeaderBytes: 1 << 20, MaxFields: 1000})
	if err != nil || n != len(out) {
		t.Fatalf("forwarded head %q does not parse: n=%d err=%v", out, n, err)
	}
	if back.Method != req.Method || back.Form != FormOrigin || !back.Close ||
		back.ContentLength != req.ContentLength || back.Chunked != req.Chunked {
		t.Fatalf("forwarded %+v from %+v", back, req)
	}
	checkVia(t, back.Fields, req.ProtoMinor)
}

// checkVia asserts that a forwarded head has exactly one Via field, which
// ends with the proxy's own entry.
func checkVia(t *testing.T, fields []Field, minor int) {
	t.Helper()
	n := 0
	for _, f := range fields {
		if equalFold(f.Name, "Via") {
			n++
			if want := "1." + string(rune('0'+minor)) + " sluice"; !strings.HasSuffix(f.Value, want) {
				t.Fatalf("Via %q does not end with %q", f.Value, want)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d Via fields in a forwarded head", n)
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, tt := range okResponses {
		f.Add([]byte(tt.in))
	}
	for _, tt := range badResponses {
		f.Add([]byte(tt.in))
	}
	for _, tt := range forwardResponses {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, lim := range []Limits{{}, smallLimits} {
			resp, n, err := ParseResponse(b, lim)
			checkVerdict(t, b, n, err, 502)
			more := append(b[:len(b):len(b)], fuzzExtra...)
			resp2, n2, err2 := ParseResponse(more, lim)
			if err == nil && (err2 != nil || n2 != n || !reflect.DeepEqual(resp, resp2)) {
				t.Fatalf("extra bytes changed a parsed head: n=%d -> n=%d err=%v", n, n2, err2)
			}
			if code := codeOf(err); code > 0 && codeOf(err2) != code {
				t.Fatalf("extra bytes changed the verdict: %v -> %v", err, err2)
			}
			checkIncremental(t, b, func(p *HeadParser, b []byte) (any, int, error) {
				return p.ParseResponse(b, lim)
			}, func(b []byte) (any, int, error) {
				return ParseResponse(b, lim)
			})
			if err != nil {
				continue
			}
			checkFields(t, resp.Fields)
			out := AppendForwardResponse(nil, &resp, ForwardOptions{Via: "sluice"})
			back, n, err := ParseResponse(out, Limits{MaxRequestLine: 1 << 20, MaxHeaderBytes: 1 << 20, MaxFields: 1000})
			if err != nil || n != len(out) {
				t.Fatalf("forwarded head %q does not parse: n=%d err=%v", out, n, err)
			}
			if back.Code != resp.Code || back.Chunked != resp.Chunked || back.ContentLength != resp.ContentLength {
				t.Fatalf("forwarded %+v from %+v", back, resp)
			}
			checkVia(t, back.Fields, resp.ProtoMinor)
		}
	})
}

// checkIncremental feeds b to one HeadParser in three growing prefixes
// and asserts each answer equals the stateless parser's on that prefix.
func checkIncremental(t *testing.T, b []byte, inc func(*HeadParser, []byte) (any, int, error), whole func([]byte) (any, int, error)) {
	t.Helper()
	var p HeadParser
	for _, k := range []int{len(b) / 3, 2 * len(b) / 3, len(b)} {
		v1, n1, err1 := inc(&p, b[:k])
		v2, n2, err2 := whole(b[:k])
		if n1 != n2 || codeOf(err1) != codeOf(err2) || !reflect.DeepEqual(v1, v2) {
			t.Fatalf("HeadParser on %d bytes: n=%d err=%v; stateless n=%d err=%v", k, n1, err1, n2, err2)
		}
		if !errors.Is(err1, ErrNeedMore) {
			return
		}
	}
}

// checkVerdict asserts the result contract of a head parser.
func checkVerdict(t *testing.T, b []byte, n int, err error, codes ...int) {
	t.Helper()
	if n < 0 || n > len(b) {
		t.Fatalf("n=%d out of range for %d bytes", n, len(b))
	}
	switch {
	case err == nil:
		if n == 0 {
			t.Fatal("success with n == 0")
		}
	case errors.Is(err, ErrNeedMore):
		if n != 0 {
			t.Fatalf("ErrNeedMore with n=%d", n)
		}
	default:
		code := codeOf(err)
		ok := false
		for _, c := range codes {
			ok = ok || c == code
		}
		if !ok || n != 0 {
			t.Fatalf("unexpected failure n=%d err=%v", n, err)
		}
	}
}

// checkFields asserts that parsed fields are safe to forward verbatim.
func checkFields(t *testing.T, fields []Field) {
	t.Helper()
	for _, f := range fields {
		if !isToken(f.Name) || trimOWS(f.Value) != f.Value {
			t.Fatalf("bad field %q", f)
		}
		for i := 0; i < len(f.Value); i++ {
			if !valueChar[f.Value[i]] {
				t.Fatalf("bad byte in field %q", f)
			}
		}
	}
}

func FuzzParseAuthority(f *testing.F) {
	for _, tt := range okAuthorities {
		f.Add(tt.in)
	}
	for _, tt := range badAuthorities {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := ParseAuthority(s)
		if err != nil {
			if codeOf(err) != 400 || host != "" || port != 0 {
				t.Fatalf("ParseAuthority(%q) = %q, %d, %v", s, host, port, err)
			}
			return
		}
		if host == "" || port == 0 || strings.ContainsAny(s, "/?#@% \t\r\n") {
			t.Fatalf("ParseAuthority(%q) accepted %q, %d", s, host, port)
		}
		// Re-encoding gives the same result.
		re := host + ":" + strconv.Itoa(int(port))
		if strings.Contains(host, ":") {
			re = "[" + host + "]:" + strconv.Itoa(int(port))
		}
		h2, p2, err := ParseAuthority(re)
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("re-encoded %q: %q, %d, %v; want %q, %d", re, h2, p2, err, host, port)
		}
	})
}

func FuzzChunkedScanner(f *testing.F) {
	for _, tt := range okChunked {
		f.Add([]byte(tt.in+"NEXT"), uint16(len(tt.in)/2))
	}
	for _, tt := range badChunked {
		if len(tt.in) < 1024 {
			f.Add([]byte(tt.in), uint16(1))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, split uint16) {
		var whole ChunkedScanner
		n, done, err := whole.Scan(b)
		if n < 0 || n > len(b) || done && err != nil || !done && err == nil && n != len(b) {
			t.Fatalf("Scan: n=%d done=%v err=%v for %d bytes", n, done, err, len(b))
		}
		if err != nil && codeOf(err) != 400 {
			t.Fatalf("Scan: unexpected error %v", err)
		}
		// Any split gives the same end and the same verdict.
		i := int(split) % (len(b) + 1)
		var parts ChunkedScanner
		n1, done1, err1 := parts.Scan(b[:i])
		n2, done2, err2 := 0, done1, err1
		if !done1 && err1 == nil {
			n2, done2, err2 = parts.Scan(b[i:])
		}
		if (err == nil) != (err2 == nil) || done != done2 {
			t.Fatalf("split at %d: done=%v err=%v; whole done=%v err=%v", i, done2, err2, done, err)
		}
		if done && n1+n2 != n {
			t.Fatalf("split at %d: end %d; whole %d", i, n1+n2, n)
		}
	})
}

// FuzzChunkedAppendData: decoding finds the same end and verdict as Scan,
// whatever the split, and the data of a body that ended is what a plain
// reference decoder makes of it.
func FuzzChunkedAppendData(f *testing.F) {
	for _, tt := range okChunked {
		f.Add([]byte(tt.in+"NEXT"), uint16(len(tt.in)/2))
	}
	f.Fuzz(func(t *testing.T, b []byte, split uint16) {
		var scan ChunkedScanner
		n, done, err := scan.Scan(b)
		i := int(split) % (len(b) + 1)
		var dec ChunkedScanner
		out, n1, done1, err1 := dec.AppendData(nil, b[:i])
		n2, done2, err2 := 0, done1, err1
		if !done1 && err1 == nil {
			out, n2, done2, err2 = dec.AppendData(out, b[i:])
		}
		if done2 != done || (err2 == nil) != (err == nil) {
			t.Fatalf("split at %d: done %v, err %v; Scan: done %v, err %v", i, done2, err2, done, err)
		}
		if done && n1+n2 != n {
			t.Fatalf("split at %d: end %d; Scan's %d", i, n1+n2, n)
		}
		if done {
			if want := refDecode(t, string(b[:n])); string(out) != want {
				t.Fatalf("data %q; the reference decoder: %q", out, want)
			}
		}
	})
}
