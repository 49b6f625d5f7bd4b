package h1

import "testing"

func TestBodyCutter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		req    Request
		in     string
		want   int
		done   bool
		hasErr bool
	}{
		{"content-length cuts pipelined bytes", Request{ContentLength: 5}, "helloGET / HTTP/1.1\r\n", 5, true, false},
		{"content-length short", Request{ContentLength: 5}, "hel", 3, false, false},
		{"no body", Request{ContentLength: -1}, "GET / HTTP/1.1\r\n", 0, true, false},
		{"chunked ends at the last chunk", Request{Chunked: true, ContentLength: -1}, "5\r\nhello\r\n0\r\n\r\nEXTRA", 15, true, false},
		{"chunked bad framing", Request{Chunked: true, ContentLength: -1}, "zz\r\n", 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBodyCutter(&tc.req)
			n, err := b.cut([]byte(tc.in))
			if tc.hasErr != (err != nil) {
				t.Fatalf("err = %v; want error %v", err, tc.hasErr)
			}
			if err == nil && (n != tc.want || b.done != tc.done) {
				t.Fatalf("cut = %d, done %v; want %d, %v", n, b.done, tc.want, tc.done)
			}
		})
	}
	// Byte by byte gives the same end.
	b := newBodyCutter(&Request{Chunked: true, ContentLength: -1})
	in := "3\r\nabc\r\n0\r\n\r\nNEXT"
	total := 0
	for i := 0; i < len(in) && !b.done; i++ {
		n, err := b.cut([]byte{in[i]})
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != len(in)-len("NEXT") {
		t.Fatalf("byte by byte: body is %d bytes; want %d", total, len(in)-len("NEXT"))
	}
}
