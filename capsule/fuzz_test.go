package capsule

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, tt := range goldenCapsules {
		f.Add([]byte(tt.wire))
	}
	for _, tt := range goldenVarints {
		f.Add(unhex(f, tt.wire))
	}
	f.Add([]byte("\x00\x00"))
	f.Add([]byte("\x00\x01\x40"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkVarint(t, b)
		for _, max := range []int{-1, 0, 64, DefaultMax} {
			typ, value, n, err := Parse(b, max)
			switch err {
			case ErrNeedMore, ErrTooLarge:
				if n != 0 || value != nil || typ != 0 {
					t.Fatalf("%v with n=%d", err, n)
				}
				_, length, hn, herr := ParseHeader(b)
				tooLarge := herr == nil && (max < 0 || length > uint64(max))
				if (err == ErrTooLarge) != tooLarge {
					t.Fatalf("%v: header %d bytes, length %d, max %d", err, hn, length, max)
				}
				if err == ErrNeedMore && herr == nil && uint64(len(b)-hn) >= length {
					t.Fatalf("ErrNeedMore with the whole capsule in b")
				}
			case nil:
				checkCapsule(t, b, max, typ, value, n)
			default:
				t.Fatalf("Parse: unexpected error %v", err)
			}
		}
	})
}

func checkVarint(t *testing.T, b []byte) {
	v, n, err := ParseVarint(b)
	if err != nil {
		if err != ErrNeedMore || n != 0 || v != 0 || len(b) > 0 && len(b) >= 1<<(b[0]>>6) {
			t.Fatalf("ParseVarint(%x) = %d, %d, %v", b, v, n, err)
		}
		return
	}
	if n != 1<<(b[0]>>6) || v > MaxVarint {
		t.Fatalf("ParseVarint(%x) = %d, %d", b, v, n)
	}
	re := AppendVarint(nil, v)
	if minimal := VarintLen(v) == n; minimal != bytes.Equal(re, b[:n]) {
		t.Fatalf("ParseVarint(%x) = %d; re-encoded %x", b[:n], v, re)
	}
}

// checkCapsule checks a capsule that Parse accepted: it lies within b, its
// value aliases b, every shorter prefix needs more, and appending it again
// gives the same bytes when the input was minimal and the same capsule
// otherwise.
func checkCapsule(t *testing.T, b []byte, max int, typ Type, value []byte, n int) {
	if n < 2 || n > len(b) || len(value) > max || len(value) > n-2 || cap(value) != len(value) {
		t.Fatalf("Parse: n=%d of %d, value %d bytes (cap %d), max %d", n, len(b), len(value), cap(value), max)
	}
	hn := n - len(value)
	if len(value) > 0 && &value[0] != &b[hn] {
		t.Fatal("value does not alias b")
	}
	for i := range n {
		if _, _, k, err := Parse(b[:i], max); err != ErrNeedMore || k != 0 {
			t.Fatalf("Parse(b[:%d]) of a %d-byte capsule = %d, %v", i, n, k, err)
		}
	}
	tn := 1 << (b[0] >> 6)
	minimal := VarintLen(uint64(typ)) == tn && VarintLen(uint64(len(value))) == hn-tn
	re := Append(nil, typ, value)
	if minimal != bytes.Equal(re, b[:n]) || !minimal && len(re) >= n {
		t.Fatalf("re-appended %x from %x (minimal %v)", re, b[:n], minimal)
	}
	typ2, value2, n2, err := Parse(re, max)
	if err != nil || typ2 != typ || !bytes.Equal(value2, value) || n2 != len(re) {
		t.Fatalf("re-appended capsule parses as %v, %x, %d, %v", typ2, value2, n2, err)
	}
	if typ != TypeDatagram {
		return
	}
	ctx, payload, err := ParseDatagram(value)
	switch err {
	case ErrMalformed:
		if _, _, verr := ParseVarint(value); verr == nil {
			t.Fatalf("ErrMalformed for value %x", value)
		}
	case ErrTooLarge:
		if len(value) <= MaxUDPPayload {
			t.Fatalf("ErrTooLarge for a %d-byte value", len(value))
		}
	case nil:
		dg := AppendDatagram(nil, ctx, payload)
		if minimal && VarintLen(ctx) == len(value)-len(payload) && !bytes.Equal(dg, b[:n]) {
			t.Fatalf("AppendDatagram(%d, %x) = %x; parsed from %x", ctx, payload, dg, b[:n])
		}
		_, v, _, _ := Parse(dg, max)
		if ctx2, payload2, err := ParseDatagram(v); err != nil || ctx2 != ctx || !bytes.Equal(payload2, payload) {
			t.Fatalf("AppendDatagram(%d, %x) parses as %d, %x, %v", ctx, payload, ctx2, payload2, err)
		}
	default:
		t.Fatalf("ParseDatagram: unexpected error %v", err)
	}
}

func FuzzDecoder(f *testing.F) {
	for _, tt := range goldenCapsules {
		f.Add([]byte(tt.wire), uint16(len(tt.wire)/2))
	}
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 4 {
		in, _, _ := stream(r, 3, 100)
		f.Add(in, uint16(i*37))
	}
	f.Add([]byte("\x00\x03\x00hi\x00\x01\x40"), uint16(6))
	f.Fuzz(func(t *testing.T, b []byte, split uint16) {
		i := int(split) % (len(b) + 1)
		for _, max := range []int{16, 100, 0} {
			var whole, parts Decoder
			whole.Max, parts.Max = max, max
			bound := MaxHeaderLen + max
			if max == 0 {
				bound = MaxHeaderLen + DefaultMax
			}
			want, held, wantErr := feed(&whole, b)
			checkDecodeErr(t, wantErr)
			if held >= bound {
				t.Fatalf("max %d: kept %d bytes", max, held)
			}
			got, held, err := feed(&parts, b[:i], b[i:])
			if err != wantErr || parts.Skipped != whole.Skipped || held >= bound {
				t.Fatalf("max %d, split at %d: %v, skipped %d, kept %d; whole: %v, skipped %d",
					max, i, err, parts.Skipped, held, wantErr, whole.Skipped)
			}
			checkDatagrams(t, "split", got, want)
			if len(b) <= 64 {
				parts.Reset()
				got, _, err = feed(&parts, bytePieces(b)...)
				if err != wantErr || parts.Skipped != whole.Skipped {
					t.Fatalf("max %d, bytes: %v, skipped %d; whole: %v, skipped %d", max, err, parts.Skipped, wantErr, whole.Skipped)
				}
				checkDatagrams(t, "bytes", got, want)
			}
		}
	})
}

func checkDecodeErr(t *testing.T, err error) {
	for _, e := range []error{nil, ErrTooLarge, ErrMalformed, ErrTruncated} {
		if errors.Is(err, e) {
			return
		}
	}
	t.Fatalf("unexpected error %v", err)
}
