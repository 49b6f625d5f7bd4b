package h1

import (
	"strconv"
	"strings"
	"testing"
)

// okChunked are complete chunked bodies; each test appends "NEXT" to check
// that the scanner stops exactly at the end.
var okChunked = []struct{ name, in string }{
	{"RFC9112-7.1/last-chunk-only", "0\r\n\r\n"},
	{"RFC9112-7.1/one-chunk", "5\r\nhello\r\n0\r\n\r\n"},
	{"RFC9112-7.1/two-chunks-mixed-case-hex", "a\r\n0123456789\r\nB\r\n0123456789a\r\n0\r\n\r\n"},
	{"RFC9112-7.1/leading-zeros", "0005\r\nhello\r\n000\r\n\r\n"},
	{"RFC9112-7.1.1/extension", "5;name=value\r\nhello\r\n0;last\r\n\r\n"},
	{"RFC9112-7.1.1/extension-quoted-bws", "5 ;a=\"b c\"\t;d\r\nhello\r\n0\r\n\r\n"},
	{"RFC9112-7.1.2/trailer-section", "5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\n\r\n"},
	{"RFC9112-7.1/data-contains-crlf", "4\r\n\r\n\r\n\r\n0\r\n\r\n"},
}

var badChunked = []struct{ name, in string }{
	{"RFC9112-7.1/bare-LF-after-size", "5\nhello\r\n0\r\n\r\n"},
	{"RFC9112-7.1/bare-LF-after-data", "5\r\nhello\n0\r\n\r\n"},
	{"RFC9112-7.1/bare-CR-after-size", "5\rhello\r\n0\r\n\r\n"},
	{"RFC9112-7.1/data-longer-than-size", "5\r\nhelloX\r\n0\r\n\r\n"},
	{"RFC9112-7.1/bad-hex", "g\r\n"},
	{"RFC9112-7.1/empty-size", "\r\n"},
	{"RFC9112-7.1/plus-sign", "+5\r\nhello\r\n"},
	{"RFC9112-7.1/minus-sign", "-5\r\n"},
	{"RFC9112-7.1/0x-prefix", "0x5\r\nhello\r\n"},
	{"RFC9112-7.1/overflow-ffff", "ffffffffffffffff1\r\n"},
	{"RFC9112-7.1/overflow-int64", "8000000000000000\r\n"},
	{"RFC9112-7.1.1/bws-without-extension", "5 \r\nhello\r\n"},
	{"RFC9112-7.1.1/nul-in-extension", "5;a\x00\r\nhello\r\n"},
	{"RFC9112-7.1.1/extension-too-long", "5;" + strings.Repeat("a", maxChunkLine) + "\r\n"},
	{"RFC9112-7.1.1/size-line-too-long", strings.Repeat("0", maxChunkLine+1) + "5\r\n"},
	{"RFC9112-7.1.2/bare-LF-in-trailer", "0\r\nX: a\n\r\n"},
	{"RFC9112-7.1.2/bare-LF-at-end", "0\r\n\n"},
	{"RFC9112-7.1.2/obs-fold-in-trailer", "0\r\nX: a\r\n b\r\n\r\n"},
	{"RFC9112-7.1.2/trailer-no-colon", "0\r\nX\r\n\r\n"},
	{"RFC9112-7.1.2/trailer-too-large", "0\r\n" + strings.Repeat("X: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", maxTrailerSize/32) + "\r\n"},
}

// scanAll feeds pieces to a fresh scanner and returns the total body
// length (-1 if never done) and the first error.
func scanAll(pieces ...string) (int, error) {
	var s ChunkedScanner
	total := 0
	for _, p := range pieces {
		n, done, err := s.Scan([]byte(p))
		if err != nil {
			return -1, err
		}
		if n > len(p) {
			panic("n > len(b)")
		}
		total += n
		if done {
			return total, nil
		}
	}
	return -1, nil
}

func TestChunkedScanner(t *testing.T) {
	for _, tt := range okChunked {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in + "NEXT"
			if got, err := scanAll(in); got != len(tt.in) || err != nil {
				t.Fatalf("whole: got %d, %v; want %d", got, err, len(tt.in))
			}
			// Every split point gives the same end.
			for i := 0; i <= len(in); i++ {
				if got, err := scanAll(in[:i], in[i:]); got != len(tt.in) || err != nil {
					t.Fatalf("split at %d: got %d, %v; want %d", i, got, err, len(tt.in))
				}
			}
			// One byte at a time.
			pieces := make([]string, len(in))
			for i := range in {
				pieces[i] = in[i : i+1]
			}
			if got, err := scanAll(pieces...); got != len(tt.in) || err != nil {
				t.Fatalf("bytewise: got %d, %v; want %d", got, err, len(tt.in))
			}
			// Every proper prefix is unfinished, not an error.
			if got, err := scanAll(tt.in[:len(tt.in)-1]); got != -1 || err != nil {
				t.Fatalf("prefix: got %d, %v; want unfinished", got, err)
			}
		})
	}
}

func TestChunkedScannerErrors(t *testing.T) {
	for _, tt := range badChunked {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := scanAll(tt.in); codeOf(err) != 400 {
				t.Fatalf("got %v; want a 400 StatusError", err)
			}
			for i := 0; i <= len(tt.in); i += 1 + len(tt.in)/64 {
				if _, err := scanAll(tt.in[:i], tt.in[i:]); codeOf(err) != 400 {
					t.Fatalf("split at %d: got %v; want a 400 StatusError", i, err)
				}
			}
		})
	}
}

func TestChunkedScannerStates(t *testing.T) {
	var s ChunkedScanner
	if n, done, err := s.Scan([]byte("0\r\n\r\nrest")); n != 5 || !done || err != nil {
		t.Fatalf("got %d %v %v", n, done, err)
	}
	if n, done, err := s.Scan([]byte("more")); n != 0 || !done || err != nil {
		t.Errorf("after done: got %d %v %v; want 0 true nil", n, done, err)
	}
	s.Reset()
	if n, done, err := s.Scan([]byte("zz")); n != 0 || done || codeOf(err) != 400 {
		t.Fatalf("bad: got %d %v %v", n, done, err)
	}
	if _, _, err := s.Scan([]byte("0\r\n\r\n")); codeOf(err) != 400 {
		t.Errorf("error is not sticky: %v", err)
	}
	// The largest chunk size is accepted; the data is just counted.
	s.Reset()
	if n, done, err := s.Scan([]byte("7fffffffffffffff\r\nabc")); n != 21 || done || err != nil {
		t.Errorf("max size: got %d %v %v", n, done, err)
	}
}

func BenchmarkChunkedScanner(b *testing.B) {
	var body []byte
	chunk := strings.Repeat("x", 4096)
	for range 16 {
		body = append(body, "1000\r\n"...)
		body = append(body, chunk...)
		body = append(body, "\r\n"...)
	}
	body = append(body, "0\r\n\r\n"...)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var s ChunkedScanner
		if _, done, err := s.Scan(body); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}

// decodeAll feeds pieces to a fresh scanner's AppendData and returns the
// data, whether the body ended, and the first error.
func decodeAll(pieces ...string) (string, bool, error) {
	var s ChunkedScanner
	var out []byte
	for _, p := range pieces {
		var done bool
		var err error
		var n int
		out, n, done, err = s.AppendData(out, []byte(p))
		if n > len(p) {
			panic("n > len(b)")
		}
		if done || err != nil {
			return string(out), done, err
		}
	}
	return string(out), false, nil
}

// refDecode decodes a chunked body that ChunkedScanner accepted, the
// plain way: a line, its hex size up to ";" or BWS, that many bytes, CRLF.
// (net/http's own reader refuses the BWS RFC 9112 allows before ";".)
func refDecode(t testing.TB, in string) string {
	var out strings.Builder
	for {
		line, rest, ok := strings.Cut(in, "\r\n")
		if !ok {
			t.Fatalf("refDecode: no chunk line in %q", in)
		}
		hex := strings.TrimRight(strings.SplitN(line, ";", 2)[0], " \t")
		size, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			t.Fatalf("refDecode: chunk size %q: %v", hex, err)
		}
		if size == 0 {
			return out.String()
		}
		out.WriteString(rest[:size])
		in = rest[size+2:]
	}
}

func TestChunkedAppendData(t *testing.T) {
	for _, tt := range okChunked {
		t.Run(tt.name, func(t *testing.T) {
			want := refDecode(t, tt.in)
			in := tt.in + "NEXT"
			for i := 0; i <= len(in); i++ {
				got, done, err := decodeAll(in[:i], in[i:])
				if got != want || !done || err != nil {
					t.Fatalf("split at %d: %q, done %v, %v; want %q", i, got, done, err, want)
				}
			}
			pieces := make([]string, len(in))
			for i := range in {
				pieces[i] = in[i : i+1]
			}
			if got, done, err := decodeAll(pieces...); got != want || !done || err != nil {
				t.Fatalf("a byte at a time: %q, done %v, %v; want %q", got, done, err, want)
			}
		})
	}
	for _, tt := range badChunked {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := decodeAll(tt.in); codeOf(err) != 400 {
				t.Fatalf("got %v; want a 400 StatusError", err)
			}
		})
	}
}

func TestChunkedAppendDataTruncated(t *testing.T) {
	in := "5\r\nhello\r\n6\r\n world\r\n0\r\nX: y\r\n\r\n"
	for i := 0; i < len(in); i++ {
		got, done, err := decodeAll(in[:i])
		if done || err != nil {
			t.Fatalf("%d of %d bytes: done %v, %v", i, len(in), done, err)
		}
		if !strings.HasPrefix("hello world", got) {
			t.Fatalf("%d of %d bytes: data %q is not a prefix of the body", i, len(in), got)
		}
	}
	// The data before a framing error still comes out.
	if got, _, err := decodeAll("5\r\nhello\r\n3\r\nabcX"); got != "helloabc" || codeOf(err) != 400 {
		t.Fatalf("got %q, %v; want the 8 data bytes and a 400", got, err)
	}
}
