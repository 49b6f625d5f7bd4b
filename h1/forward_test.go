package h1

import (
	"reflect"
	"strings"
	"testing"
)

// closeOpts end a head as a one-shot forward did: "Connection: close".
var (
	closeOpts = ForwardOptions{Connection: "close"}
	viaOpts   = ForwardOptions{Via: "sluice"}
)

var forwardRequests = []struct {
	name string
	in   string
	out  string
	host string
	port uint16
}{
	{
		name: "RFC9110-7.6.1/hop-by-hop-removed",
		in: "GET http://example.com/path?q=1 HTTP/1.1\r\nHost: other.example\r\nProxy-Authorization: Basic dTpw\r\n" +
			"Proxy-Connection: keep-alive\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 300\r\n" +
			"TE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\nProxy-Authenticate: x\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
		out:  "GET /path?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\nConnection: close\r\n\r\n",
		host: "example.com", port: 80,
	},
	{
		name: "RFC9112-3.2.2/empty-path-and-port",
		in:   "POST http://h:8080 HTTP/1.1\r\nHost: h:8080\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
		out:  "POST / HTTP/1.1\r\nHost: h:8080\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
		host: "h", port: 8080,
	},
	{
		name: "RFC9110-7.6.1/connection-cannot-strip-framing",
		in: "POST http://h/u HTTP/1.1\r\nHost: h\r\nConnection: Transfer-Encoding, Content-Length, Host\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n",
		out:  "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
		host: "h", port: 80,
	},
	{
		name: "RFC3986-3.2.2/ipv6-query-only",
		in:   "GET http://[::1]:8080?x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
		out:  "GET /?x HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n",
		host: "::1", port: 8080,
	},
	{
		name: "RFC9110-4.2.1/scheme-case-insensitive-empty-port",
		in:   "HEAD HTTP://H.example:/ HTTP/1.0\r\n\r\n",
		out:  "HEAD / HTTP/1.1\r\nHost: H.example\r\nConnection: close\r\n\r\n",
		host: "H.example", port: 80,
	},
	{
		name: "RFC9110-7.6.1/content-length-zero-kept",
		in:   "DELETE http://h/x HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
		out:  "DELETE /x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		host: "h", port: 80,
	},
}

func TestAppendForwardRequest(t *testing.T) {
	for _, tt := range forwardRequests {
		t.Run(tt.name, func(t *testing.T) {
			req, _, err := ParseRequest([]byte(tt.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("keep")
			out, host, port, err := AppendForwardRequest(prefix, &req, closeOpts)
			if err != nil {
				t.Fatalf("AppendForwardRequest: %v", err)
			}
			if string(out) != "keep"+tt.out {
				t.Errorf("got  %q\nwant %q", out, "keep"+tt.out)
			}
			if host != tt.host || port != tt.port {
				t.Errorf("got %q:%d; want %q:%d", host, port, tt.host, tt.port)
			}

			// Round trip: the origin parses what we send as the same
			// request in origin-form.
			back, n, err := ParseRequest(out[len("keep"):], Limits{})
			if err != nil || n != len(tt.out) {
				t.Fatalf("ParseRequest(output): n=%d err=%v", n, err)
			}
			if back.Method != req.Method || back.Form != FormOrigin || back.ProtoMinor != 1 || !back.Close ||
				back.ContentLength != req.ContentLength || back.Chunked != req.Chunked {
				t.Errorf("round trip: got %+v from %+v", back, req)
			}
			for _, f := range back.Fields {
				if isHopByHop(f.Name) && !equalFold(f.Name, "Connection") {
					t.Errorf("round trip: hop-by-hop field %q forwarded", f.Name)
				}
			}
		})
	}
}

func TestAppendForwardRequestErrors(t *testing.T) {
	for _, tt := range []struct{ name, in string }{
		{"RFC9110-4.2.2/https-scheme", "GET https://h/ HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"RFC9110-4.2/ftp-scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"RFC9110-4.2.4/userinfo", "GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"RFC9110-4.2.1/empty-authority", "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"RFC9110-4.2.1/port-zero", "GET http://h:0/ HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"RFC9110-4.2.1/bad-host", "GET http://h%41/ HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"RFC9112-3.2.1/origin-form", "GET / HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"RFC9112-3.2.3/authority-form", "CONNECT h:443 HTTP/1.1\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _, err := ParseRequest([]byte(tt.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			dst := []byte("keep")
			out, host, port, err := AppendForwardRequest(dst, &req, closeOpts)
			if codeOf(err) != 400 || string(out) != "keep" || host != "" || port != 0 {
				t.Errorf("got %q %q:%d %v; want dst unchanged and 400", out, host, port, err)
			}
		})
	}
}

var forwardResponses = []struct {
	name, in, out string
}{
	{
		name: "RFC9110-7.6.1/hop-by-hop-removed",
		in: "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n" +
			"Content-Length: 5\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\nDate: x\r\n\r\n",
		out: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: x\r\nConnection: close\r\n\r\n",
	},
	{
		name: "RFC9112-6.3/te-drops-content-length",
		in:   "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		out:  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
	},
	{
		name: "RFC9110-7.6.1/connection-cannot-strip-framing",
		in:   "HTTP/1.1 404 Not Found\r\nConnection: Content-Length\r\nContent-Length: 0\r\n\r\n",
		out:  "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
	},
	{
		name: "RFC9112-4/empty-reason",
		in:   "HTTP/1.1 204\r\n\r\n",
		out:  "HTTP/1.1 204 \r\nConnection: close\r\n\r\n",
	},
}

func TestAppendForwardResponse(t *testing.T) {
	for _, tt := range forwardResponses {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, err := ParseResponse([]byte(tt.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			out := AppendForwardResponse(nil, &resp, closeOpts)
			if string(out) != tt.out {
				t.Errorf("got  %q\nwant %q", out, tt.out)
			}
			back, n, err := ParseResponse(out, Limits{})
			if err != nil || n != len(out) {
				t.Fatalf("ParseResponse(output): n=%d err=%v", n, err)
			}
			if back.Code != resp.Code || back.Reason != resp.Reason || back.Chunked != resp.Chunked {
				t.Errorf("round trip: got %+v from %+v", back, resp)
			}
			if back.ContentLength != resp.ContentLength {
				t.Errorf("round trip framing: got CL %d from %+v", back.ContentLength, resp)
			}
			if got := back.Fields[len(back.Fields)-1]; !reflect.DeepEqual(got, Field{"Connection", "close"}) {
				t.Errorf("last field %+v; want Connection: close", got)
			}
		})
	}
}

// For an HTTP/1.0 client the chunked body goes out decoded: the head
// loses every Transfer-Encoding field (and the Content-Length beside it,
// which chunked overrides).
func TestAppendForwardResponseDechunk(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\nX-A: b\r\n\r\n"
	resp, _, err := ParseResponse([]byte(in), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out := AppendForwardResponse(nil, &resp, ForwardOptions{Connection: "close", Dechunk: true})
	if want := "HTTP/1.1 200 OK\r\nX-A: b\r\nConnection: close\r\n\r\n"; string(out) != want {
		t.Errorf("got  %q\nwant %q", out, want)
	}
}

func TestResponseOnlyChunked(t *testing.T) {
	for _, tt := range []struct {
		fields string
		want   bool
	}{
		{"Transfer-Encoding: chunked\r\n", true},
		{"Transfer-Encoding: CHUNKED\r\n", true},
		{"Transfer-Encoding: , chunked ,\r\n", true},
		{"Transfer-Encoding: gzip, chunked\r\n", false},
		{"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", false},
		{"Content-Length: 3\r\n", false},
	} {
		resp, _, err := ParseResponse([]byte("HTTP/1.1 200 OK\r\n"+tt.fields+"\r\n"), Limits{})
		if err != nil {
			t.Fatalf("%q: %v", tt.fields, err)
		}
		if got := resp.OnlyChunked(); got != tt.want {
			t.Errorf("%q: OnlyChunked %v, want %v", tt.fields, got, tt.want)
		}
	}
}

func BenchmarkAppendForwardRequest(b *testing.B) {
	req, _, err := ParseRequest(benchGet, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchGet)))
	for b.Loop() {
		if _, _, _, err := AppendForwardRequest(buf[:0], &req, viaOpts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendForwardResponse(b *testing.B) {
	resp, _, err := ParseResponse(benchResponse, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchResponse)))
	for b.Loop() {
		AppendForwardResponse(buf[:0], &resp, viaOpts)
	}
}

// TestForwardManyConnectionFields covers more Connection fields than
// connOptions keeps inline.
func TestForwardManyConnectionFields(t *testing.T) {
	in := "GET http://h/ HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("Connection: keep-alive\r\n", 5) +
		"Connection: X-A\r\nX-A: 1\r\nX-B: 2\r\n\r\n"
	req, _, err := ParseRequest([]byte(in), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out, _, _, err := AppendForwardRequest(nil, &req, closeOpts)
	want := "GET / HTTP/1.1\r\nHost: h\r\nX-B: 2\r\nConnection: close\r\n\r\n"
	if err != nil || string(out) != want {
		t.Errorf("got %q, %v; want %q", out, err, want)
	}
}

// TestForwardVia: the proxy's Via entry (RFC 9110 section 7.6.3) names the
// version of the message it received and follows the entries the message
// came with, in one field; the Connection field the options ask for comes
// last. Without options the head ends with neither, so the origin may keep
// the connection (HTTP/1.1's default).
func TestForwardVia(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		o    ForwardOptions
		out  string
	}{
		{"RFC9110-7.6.3/added", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", viaOpts,
			"GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 sluice\r\n\r\n"},
		{"RFC9110-7.6.3/received-protocol-1.0", "GET http://h/ HTTP/1.0\r\n\r\n", ForwardOptions{Via: "sluice", Connection: "close"},
			"GET / HTTP/1.1\r\nHost: h\r\nVia: 1.0 sluice\r\nConnection: close\r\n\r\n"},
		{"RFC9110-7.6.3/appended", "GET http://h/ HTTP/1.1\r\nHost: h\r\nVia: 1.1 a\r\nX: 1\r\nvia: 1.0 b (c), 1.1 d\r\n\r\n", viaOpts,
			"GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\nVia: 1.1 a, 1.0 b (c), 1.1 d, 1.1 sluice\r\n\r\n"},
		{"RFC9110-7.6.3/kept-without-via", "GET http://h/ HTTP/1.1\r\nHost: h\r\nVia: 1.1 a\r\n\r\n", ForwardOptions{},
			"GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 a\r\n\r\n"},
		{"RFC9110-7.6.1/via-named-by-connection", "GET http://h/ HTTP/1.1\r\nHost: h\r\nConnection: via\r\nVia: 1.1 a\r\n\r\n", viaOpts,
			"GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 sluice\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _, err := ParseRequest([]byte(tt.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			out, _, _, err := AppendForwardRequest(nil, &req, tt.o)
			if err != nil || string(out) != tt.out {
				t.Errorf("got  %q, %v\nwant %q", out, err, tt.out)
			}
			back, n, err := ParseRequest(out, Limits{})
			if err != nil || n != len(out) || back.Close != (tt.o.Connection == "close") {
				t.Errorf("round trip: n=%d err=%v close=%v", n, err, back.Close)
			}
		})
	}
	for _, tt := range []struct {
		name string
		in   string
		o    ForwardOptions
		out  string
	}{
		{"RFC9110-7.6.3/response", "HTTP/1.1 200 OK\r\nVia: 1.1 cdn\r\nContent-Length: 0\r\n\r\n", viaOpts,
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nVia: 1.1 cdn, 1.1 sluice\r\n\r\n"},
		{"RFC9112-9.3/keep-alive-to-1.0", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
			ForwardOptions{Via: "sluice", Connection: "keep-alive"},
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nVia: 1.0 sluice\r\nConnection: keep-alive\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, err := ParseResponse([]byte(tt.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if out := AppendForwardResponse(nil, &resp, tt.o); string(out) != tt.out {
				t.Errorf("got  %q\nwant %q", out, tt.out)
			}
		})
	}
}
