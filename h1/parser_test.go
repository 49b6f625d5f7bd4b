package h1

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// feedRequest feeds growing prefixes of in, step bytes more each time, to
// one HeadParser and returns the first result that is not ErrNeedMore.
func feedRequest(in string, step int, lim Limits) (Request, int, error) {
	var p HeadParser
	for k := step; ; k += step {
		if k > len(in) {
			k = len(in)
		}
		req, n, err := p.ParseRequest([]byte(in[:k]), lim)
		if !errors.Is(err, ErrNeedMore) || k == len(in) {
			return req, n, err
		}
	}
}

func feedResponse(in string, step int, lim Limits) (Response, int, error) {
	var p HeadParser
	for k := step; ; k += step {
		if k > len(in) {
			k = len(in)
		}
		resp, n, err := p.ParseResponse([]byte(in[:k]), lim)
		if !errors.Is(err, ErrNeedMore) || k == len(in) {
			return resp, n, err
		}
	}
}

// TestHeadParserIncremental checks that a head arriving in pieces gets
// the verdict it gets in one piece. For an invalid head the code must
// match; the verdict may come earlier.
func TestHeadParserIncremental(t *testing.T) {
	for _, step := range []int{1, 2, 7, 64} {
		for _, tt := range okRequests {
			want, wantN, _ := ParseRequest([]byte(tt.in), Limits{})
			got, n, err := feedRequest(tt.in, step, Limits{})
			if err != nil || n != wantN || !reflect.DeepEqual(got, want) {
				t.Errorf("%s step %d: got n=%d err=%v %+v; want n=%d %+v", tt.name, step, n, err, got, wantN, want)
			}
		}
		for _, tt := range badRequests {
			if len(tt.in) > 20000 && step < 64 {
				continue
			}
			if _, _, err := feedRequest(tt.in, step, tt.lim); codeOf(err) != tt.code {
				t.Errorf("%s step %d: got %v; want code %d", tt.name, step, err, tt.code)
			}
		}
		for _, tt := range okResponses {
			want, wantN, _ := ParseResponse([]byte(tt.in), Limits{})
			got, n, err := feedResponse(tt.in, step, Limits{})
			if err != nil || n != wantN || !reflect.DeepEqual(got, want) {
				t.Errorf("%s step %d: got n=%d err=%v; want n=%d", tt.name, step, n, err, wantN)
			}
		}
		for _, tt := range badResponses {
			if _, _, err := feedResponse(tt.in, step, tt.lim); codeOf(err) != 502 {
				t.Errorf("%s step %d: got %v; want 502", tt.name, step, err)
			}
		}
	}
}

func TestHeadParserResets(t *testing.T) {
	var p HeadParser
	in := []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, _, err := p.ParseRequest(in[:10], Limits{}); !errors.Is(err, ErrNeedMore) {
		t.Fatal(err)
	}
	if _, n, err := p.ParseRequest(in, Limits{}); err != nil || n != len(in) {
		t.Fatalf("got n=%d err=%v", n, err)
	}
	// After a success the next head starts afresh, here in a new buffer.
	next := []byte("CONNECT h:1 HTTP/1.1\r\n\r\n")
	if req, n, err := p.ParseRequest(next, Limits{}); err != nil || n != len(next) || req.Method != "CONNECT" {
		t.Fatalf("second head: got n=%d err=%v", n, err)
	}
	// A buffer that shrinks against the contract does not panic.
	if _, _, err := p.ParseRequest(in[:20], Limits{}); !errors.Is(err, ErrNeedMore) {
		t.Fatal(err)
	}
	if _, _, err := p.ParseRequest(in[:3], Limits{}); !errors.Is(err, ErrNeedMore) {
		t.Fatal(err)
	}
	p.Reset()
	if _, n, err := p.ParseRequest(in, Limits{}); err != nil || n != len(in) {
		t.Fatalf("after Reset: got n=%d err=%v", n, err)
	}
}

// dripHead is a maximal head (64 KiB, 60 fields) for the slow-drip case.
var dripHead = func() string {
	var sb strings.Builder
	sb.WriteString("GET / HTTP/1.1\r\nHost: a\r\n")
	field := "X-Pad: " + strings.Repeat("p", 1000) + "\r\n"
	for sb.Len()+len(field)+2 <= DefaultMaxHeaderBytes {
		sb.WriteString(field)
	}
	sb.WriteString("\r\n")
	return sb.String()
}()

// BenchmarkDrip feeds a 64 KiB head one byte per call, as a slowloris
// client can. HeadParser keeps this linear; calling ParseRequest on the
// whole buffer every time is quadratic (shown on an 8 KiB head only).
func BenchmarkDrip(b *testing.B) {
	b.Run("HeadParser-64KiB", func(b *testing.B) {
		buf := []byte(dripHead)
		b.ReportAllocs()
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			var p HeadParser
			for k := 1; k <= len(buf); k++ {
				if _, _, err := p.ParseRequest(buf[:k], Limits{}); err != nil && err != ErrNeedMore {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("stateless-8KiB", func(b *testing.B) {
		buf := []byte(dripHead[:8000] + "\r\n\r\n")
		b.ReportAllocs()
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			for k := 1; k <= len(buf); k++ {
				if _, _, err := ParseRequest(buf[:k], Limits{}); err != nil && err != ErrNeedMore {
					b.Fatal(err)
				}
			}
		}
	})
}
