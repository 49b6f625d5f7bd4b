package h1

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var okResponses = []struct {
	name string
	in   string
	n    int
	want Response
}{
	{
		name: "RFC9112-4/status-line-with-body",
		in:   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		n:    len("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
		want: Response{ProtoMajor: 1, ProtoMinor: 1, Code: 200, Reason: "OK", Fields: []Field{{"Content-Length", "5"}}, ContentLength: 5},
	},
	{
		name: "RFC9112-4/http10-no-fields",
		in:   "HTTP/1.0 404 Not Found\r\n\r\n",
		want: Response{ProtoMajor: 1, ProtoMinor: 0, Code: 404, Reason: "Not Found", ContentLength: -1},
	},
	{
		name: "RFC9112-4/empty-reason",
		in:   "HTTP/1.1 204 \r\nDate: x\r\n\r\n",
		want: Response{ProtoMajor: 1, ProtoMinor: 1, Code: 204, Fields: []Field{{"Date", "x"}}, ContentLength: -1},
	},
	{
		name: "RFC9112-4/missing-reason-space",
		in:   "HTTP/1.1 304\r\n\r\n",
		want: Response{ProtoMajor: 1, ProtoMinor: 1, Code: 304, ContentLength: -1},
	},
	{
		name: "RFC9112-4/reason-with-spaces-and-obs-text",
		in:   "HTTP/1.1 599 Some \xe9rror\there\r\n\r\n",
		want: Response{ProtoMajor: 1, ProtoMinor: 1, Code: 599, Reason: "Some \xe9rror\there", ContentLength: -1},
	},
	{
		name: "RFC9112-6.3/chunked-last-coding",
		in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		want: Response{ProtoMajor: 1, ProtoMinor: 1, Code: 200, Reason: "OK",
			Fields: []Field{{"Transfer-Encoding", "gzip, chunked"}}, ContentLength: -1, Chunked: true},
	},
	{
		name: "RFC9112-6.3/te-and-cl-accepted",
		in:   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		want: Response{ProtoMajor: 1, ProtoMinor: 1, Code: 200, Reason: "OK",
			Fields: []Field{{"Content-Length", "3"}, {"Transfer-Encoding", "chunked"}}, ContentLength: -1, Chunked: true},
	},
	{
		name: "RFC9110-15.2/informational",
		in:   "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		n:    len("HTTP/1.1 100 Continue\r\n\r\n"),
		want: Response{ProtoMajor: 1, ProtoMinor: 1, Code: 100, Reason: "Continue", ContentLength: -1},
	},
}

var badResponses = []struct {
	name string
	in   string
	lim  Limits
}{
	{"RFC9112-2.3/http2-version", "HTTP/2.0 200 OK\r\n\r\n", Limits{}},
	{"RFC9112-2.3/lowercase-version", "http/1.1 200 OK\r\n\r\n", Limits{}},
	{"RFC9112-4/two-digit-status", "HTTP/1.1 20 OK\r\n\r\n", Limits{}},
	{"RFC9112-4/four-digit-status", "HTTP/1.1 2000 OK\r\n\r\n", Limits{}},
	{"RFC9112-4/status-0xx", "HTTP/1.1 099 x\r\n\r\n", Limits{}},
	{"RFC9112-4/double-space", "HTTP/1.1  200 OK\r\n\r\n", Limits{}},
	{"RFC9112-4/nul-in-reason", "HTTP/1.1 200 O\x00K\r\n\r\n", Limits{}},
	{"RFC9112-4/version-only", "HTTP/1.1\r\n\r\n", Limits{}},
	{"RFC9112-2.2/bare-LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", Limits{}},
	{"RFC9112-2.2/bare-LF-end", "HTTP/1.1 200 OK\r\n\n", Limits{}},
	{"RFC9112-2.2/leading-empty-line", "\r\nHTTP/1.1 200 OK\r\n\r\n", Limits{}},
	{"RFC9112-5.2/obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", Limits{}},
	{"RFC9112-5.1/space-before-colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", Limits{}},
	{"RFC9110-8.6/content-length-disagrees", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", Limits{}},
	{"RFC9110-8.6/content-length-sign", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", Limits{}},
	{"RFC9112-5/too-many-fields", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: 1\r\n", 9) + "\r\n", smallLimits},
	{"RFC9112-5/too-large", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 300), smallLimits},
	{"RFC9112-4/status-line-too-long", "HTTP/1.1 200 " + strings.Repeat("a", 100), smallLimits},
}

func TestParseResponseGolden(t *testing.T) {
	for _, tt := range okResponses {
		t.Run(tt.name, func(t *testing.T) {
			resp, n, err := ParseResponse([]byte(tt.in), Limits{})
			if err != nil {
				t.Fatalf("ParseResponse: got err %v; want nil", err)
			}
			wantN := tt.n
			if wantN == 0 {
				wantN = len(tt.in)
			}
			if n != wantN {
				t.Errorf("got n=%d; want %d", n, wantN)
			}
			if !reflect.DeepEqual(resp, tt.want) {
				t.Errorf("got  %+v\nwant %+v", resp, tt.want)
			}
		})
	}
}

func TestParseResponseErrors(t *testing.T) {
	for _, tt := range badResponses {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := ParseResponse([]byte(tt.in), tt.lim)
			if codeOf(err) != 502 || n != 0 {
				t.Fatalf("got n=%d err=%v; want a 502 StatusError", n, err)
			}
			for i := 0; i < len(tt.in); i++ {
				_, n, err := ParseResponse([]byte(tt.in[:i]), tt.lim)
				if !errors.Is(err, ErrNeedMore) && codeOf(err) != 502 || n != 0 {
					t.Fatalf("prefix %q: got n=%d err=%v; want ErrNeedMore or 502", tt.in[:i], n, err)
				}
			}
		})
	}
}

func TestParseResponsePrefixes(t *testing.T) {
	for _, tt := range okResponses {
		t.Run(tt.name, func(t *testing.T) {
			head := tt.in
			if tt.n > 0 {
				head = head[:tt.n]
			}
			checkPrefixes(t, head, func(b []byte) (int, error) {
				_, n, err := ParseResponse(b, Limits{})
				return n, err
			})
		})
	}
}

var benchResponse = []byte("HTTP/1.1 200 OK\r\nDate: Sun, 22 Nov 2026 18:00:00 GMT\r\nServer: origin\r\n" +
	"Content-Type: text/html; charset=utf-8\r\nContent-Length: 1234\r\nConnection: keep-alive\r\n" +
	"Keep-Alive: timeout=5\r\nCache-Control: max-age=60\r\nETag: \"abcdef\"\r\n\r\n")

func BenchmarkParseResponse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchResponse)))
	for b.Loop() {
		if _, _, err := ParseResponse(benchResponse, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
