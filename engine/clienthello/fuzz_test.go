package clienthello

import (
	"errors"
	"reflect"
	"testing"
)

// Fuzz properties of Parse: no panic; every error is one of the five;
// the verdict on b does not change when bytes arrive after it (success
// keeps the Hello, a hard error keeps its value); every proper prefix of
// a parsed ClientHello is ErrNeedMore and every prefix of a refused input
// is ErrNeedMore or the same error; and a parsed ClientHello re-framed
// into other records gives the same Hello.

// fuzzExtra is what a client may send after its ClientHello.
var fuzzExtra = []byte("\x14\x03\x03\x00\x01\x01\x16\x03\x03\x00\x05\x01\x00\x00\x01\x00GET /")

// fuzzLimit is small enough for the fuzzer to reach.
const fuzzLimit = 600

func FuzzParse(f *testing.F) {
	for _, tt := range goldenHellos {
		in := capture(f, tt.file)
		f.Add(in)
		f.Add(records(unframe(in), 500))
	}
	for _, tt := range okBodies {
		f.Add(tt.in)
	}
	for _, set := range [][]badInput{badRecords, badBodies} {
		for _, tt := range set {
			if len(tt.in) < 4096 {
				f.Add(tt.in)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, limit := range []int{0, fuzzLimit} {
			h, err := ParseLimit(b, limit)
			checkResult(t, b, limit, h, err)
			more := append(b[:len(b):len(b)], fuzzExtra...)
			h2, err2 := ParseLimit(more, limit)
			if err != ErrNeedMore && (err2 != err || !reflect.DeepEqual(h, h2)) {
				t.Fatalf("extra bytes changed the verdict: %+v, %v -> %+v, %v", h, err, h2, err2)
			}
			switch {
			case err == nil || err == ErrNoSNI:
				checkParsedPrefixes(t, b, limit, h)
				checkReframed(t, b[:h.Len], h, err)
			case err != ErrNeedMore:
				for i := 0; i < len(b); i = nextPrefix(i, len(b)) {
					if _, e := ParseLimit(b[:i], limit); e != ErrNeedMore && e != err {
						t.Fatalf("prefix of %d bytes: %v; whole: %v", i, e, err)
					}
				}
			}
		}
	})
}

// checkResult asserts the result contract of ParseLimit.
func checkResult(t *testing.T, b []byte, limit int, h Hello, err error) {
	t.Helper()
	if limit <= 0 {
		limit = MaxHelloSize
	}
	switch {
	case err == nil, err == ErrNoSNI:
		if h.Len <= 0 || h.Len > len(b) || h.Len > limit {
			t.Fatalf("Len %d for %d bytes, limit %d", h.Len, len(b), limit)
		}
		if (err == nil) != (h.ServerName != "") {
			t.Fatalf("ServerName %q with %v", h.ServerName, err)
		}
		if err == nil && !validHostName([]byte(h.ServerName)) {
			t.Fatalf("invalid ServerName %q accepted", h.ServerName)
		}
		for _, p := range h.ALPN {
			if p == "" {
				t.Fatal("empty ALPN protocol name accepted")
			}
		}
		if h.ALPN != nil && len(h.ALPN) == 0 {
			t.Fatal("empty ALPN list accepted")
		}
	case err == ErrNeedMore:
		// The limit bounds what a caller buffers before a verdict.
		if len(b) >= limit {
			t.Fatalf("ErrNeedMore with %d bytes, limit %d", len(b), limit)
		}
		fallthrough
	default:
		var pe *parseError
		if !reflect.DeepEqual(h, Hello{}) {
			t.Fatalf("Hello %+v with %v", h, err)
		}
		if err != ErrNeedMore && (!errors.As(err, &pe) ||
			pe.kind != ErrNotTLS && pe.kind != ErrTooLarge && pe.kind != ErrMalformed) {
			t.Fatalf("unexpected error %v", err)
		}
	}
}

// checkParsedPrefixes asserts that every proper prefix of the records is
// ErrNeedMore and every longer prefix gives the same Hello.
func checkParsedPrefixes(t *testing.T, b []byte, limit int, want Hello) {
	t.Helper()
	for i := 0; i < len(b); i = nextPrefix(i, len(b)) {
		h, err := ParseLimit(b[:i], limit)
		if i < want.Len && err != ErrNeedMore || i >= want.Len && !reflect.DeepEqual(h, want) {
			t.Fatalf("prefix of %d bytes: %+v, %v; whole %+v", i, h, err, want)
		}
	}
}

// checkReframed re-frames the handshake message of b (its records only)
// into records of another size and asserts the same Hello.
func checkReframed(t *testing.T, b []byte, want Hello, wantErr error) {
	t.Helper()
	msg := unframe(b)
	for _, size := range []int{1 + len(msg)/3, 1 + int(b[len(b)-1])} {
		in := records(msg, size)
		h, err := ParseLimit(in, len(in))
		want.Len = len(in)
		if err != wantErr || !reflect.DeepEqual(h, want) {
			t.Fatalf("in %d-byte records: %+v, %v; want %+v, %v", size, h, err, want, wantErr)
		}
	}
}
