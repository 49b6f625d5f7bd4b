package h1

import (
	"math/rand/v2"
	"testing"
)

func TestAppendResponseHead(t *testing.T) {
	for _, tt := range []struct {
		name   string
		code   int
		reason string
		fields []Field
		want   string
	}{
		{"RFC9112-4/connect-established", 200, "Connection established", nil,
			"HTTP/1.1 200 Connection established\r\n\r\n"},
		{"RFC9298-3.3/upgrade", 101, "Switching Protocols",
			[]Field{{"Connection", "Upgrade"}, {"Upgrade", "connect-udp"}, {"Capsule-Protocol", "?1"}},
			"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: connect-udp\r\nCapsule-Protocol: ?1\r\n\r\n"},
		{"RFC9112-4/no-splitting", 407, "Auth\r\nX: y", []Field{{"Proxy-Authenticate", "Basic realm=\"a\"\r\n\r\ninjected"}},
			"HTTP/1.1 407 AuthX: y\r\nProxy-Authenticate: Basic realm=\"a\"injected\r\n\r\n"},
		{"RFC9110-15/out-of-range-code", 42, "", nil, "HTTP/1.1 500 \r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendResponseHead([]byte("x"), tt.code, tt.reason, tt.fields...)
			if string(got) != "x"+tt.want {
				t.Errorf("got  %q\nwant %q", got, "x"+tt.want)
			}
			if _, n, err := ParseResponse(got[1:], Limits{}); err != nil || n != len(tt.want) {
				t.Errorf("output does not parse back: n=%d err=%v", n, err)
			}
		})
	}
}

func TestAppendError(t *testing.T) {
	got := AppendError(nil, 407, Field{"Proxy-Authenticate", `Basic realm="sluice"`})
	want := "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: 34\r\nProxy-Authenticate: Basic realm=\"sluice\"\r\nConnection: close\r\n\r\n" +
		"407 Proxy Authentication Required\n"
	if string(got) != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Every status the proxy sends must frame correctly.
	for _, code := range []int{400, 403, 405, 407, 414, 429, 431, 501, 502, 504, 505, 599} {
		out := AppendError(nil, code)
		resp, n, err := ParseResponse(out, Limits{})
		if err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		if resp.Code != code || resp.Reason != StatusText(code) || int64(len(out)-n) != resp.ContentLength {
			t.Errorf("%d: got %+v with %d body bytes", code, resp, len(out)-n)
		}
		if code != 599 && StatusText(code) == "" {
			t.Errorf("StatusText(%d) is empty", code)
		}
	}
}

func TestStatusErrorMessage(t *testing.T) {
	if got := errHeadTooLarge.Error(); got != "h1: 431 header section too large" {
		t.Errorf("got %q", got)
	}
}

func BenchmarkAppendError(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendError(buf[:0], 407, Field{"Proxy-Authenticate", `Basic realm="sluice"`})
	}
}

// TestIsClean checks the word-at-a-time test against the table for every
// byte at every position of a word.
func TestIsClean(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 11; pos++ {
			b := []byte("abcdefghijk")
			b[pos] = byte(c)
			if got, want := isClean(string(b)), valueChar[c]; got != want {
				t.Fatalf("isClean with %#x at %d = %v; want %v", c, pos, got, want)
			}
		}
	}
	// Mixed words, high bytes included, against the table.
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, '\t', '\r', 0x1f, 0x20, 'a', 0x7e, 0x7f, 0x80, 0xa0, 0xff}
	for range 20000 {
		b := make([]byte, r.IntN(24))
		want := true
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
			want = want && valueChar[b[i]]
		}
		if got := isClean(string(b)); got != want {
			t.Fatalf("isClean(%q) = %v; want %v", b, got, want)
		}
	}
}
