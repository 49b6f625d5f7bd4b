package capsule

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// goldenVarints are the sample encodings of RFC 9000 Appendix A.1, plus
// the edges of each length from section 16. min says whether AppendVarint
// writes the same bytes back.
var goldenVarints = []struct {
	name string
	wire string // hex
	v    uint64
	min  bool
}{
	{"A.1 eight bytes", "c2197c5eff14e88c", 151288809941952652, true},
	{"A.1 four bytes", "9d7f3e7d", 494878333, true},
	{"A.1 two bytes", "7bbd", 15293, true},
	{"A.1 one byte", "25", 37, true},
	{"A.1 37 in two bytes", "4025", 37, false},
	{"16 zero", "00", 0, true},
	{"16 largest one-byte", "3f", 63, true},
	{"16 smallest two-byte", "4040", 64, true},
	{"16 largest two-byte", "7fff", 16383, true},
	{"16 smallest four-byte", "80004000", 16384, true},
	{"16 largest four-byte", "bfffffff", 1<<30 - 1, true},
	{"16 smallest eight-byte", "c000000040000000", 1 << 30, true},
	{"16 largest", "ffffffffffffffff", MaxVarint, true},
	{"16 zero in eight bytes", "c000000000000000", 0, false},
	{"16 63 in four bytes", "8000003f", 63, false},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// appendVarintN appends v in exactly n bytes (1, 2, 4 or 8), a non-minimal
// encoding when n > VarintLen(v); peers may send those.
func appendVarintN(dst []byte, v uint64, n int) []byte {
	if VarintLen(v) > n {
		panic("varint does not fit")
	}
	var prefix byte
	switch n {
	case 2:
		prefix = 0x40
	case 4:
		prefix = 0x80
	case 8:
		prefix = 0xc0
	}
	for i := n - 1; i >= 0; i-- {
		c := byte(v >> (8 * i))
		if i == n-1 {
			c |= prefix
		}
		dst = append(dst, c)
	}
	return dst
}

func TestVarintGolden(t *testing.T) {
	for _, tt := range goldenVarints {
		t.Run(tt.name, func(t *testing.T) {
			wire := unhex(t, tt.wire)
			v, n, err := ParseVarint(wire)
			if err != nil || v != tt.v || n != len(wire) {
				t.Fatalf("ParseVarint = %d, %d, %v; want %d, %d", v, n, err, tt.v, len(wire))
			}
			// Trailing bytes belong to whatever follows.
			if v, n, err = ParseVarint(append(wire, 0xff, 0x00)); err != nil || v != tt.v || n != len(wire) {
				t.Fatalf("ParseVarint with trailing bytes = %d, %d, %v", v, n, err)
			}
			got := AppendVarint(nil, tt.v)
			if (hex.EncodeToString(got) == tt.wire) != tt.min {
				t.Fatalf("AppendVarint(%d) = %x; minimal %v", tt.v, got, tt.min)
			}
			if len(got) != VarintLen(tt.v) {
				t.Fatalf("VarintLen(%d) = %d; AppendVarint wrote %d", tt.v, VarintLen(tt.v), len(got))
			}
			if !tt.min && string(appendVarintN(nil, tt.v, len(wire))) != string(wire) {
				t.Fatalf("appendVarintN(%d, %d) = %x", tt.v, len(wire), appendVarintN(nil, tt.v, len(wire)))
			}
		})
	}
	// RFC 9000 A.1: 37 is one byte when written minimally.
	if got := AppendVarint(nil, 37); string(got) != "\x25" {
		t.Fatalf("AppendVarint(37) = %x; want 25", got)
	}
}

func TestVarintPrefixes(t *testing.T) {
	for _, tt := range goldenVarints {
		wire := unhex(t, tt.wire)
		for i := range len(wire) {
			if v, n, err := ParseVarint(wire[:i]); err != ErrNeedMore || n != 0 || v != 0 {
				t.Fatalf("%s: ParseVarint(b[:%d]) = %d, %d, %v; want ErrNeedMore, 0", tt.name, i, v, n, err)
			}
		}
	}
}

func TestVarintRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		// Spread values over every length, not just the 8-byte ones.
		v := r.Uint64() >> (2 + r.IntN(62))
		b := AppendVarint([]byte{0xaa}, v)[1:]
		got, n, err := ParseVarint(b)
		if err != nil || got != v || n != len(b) || n != VarintLen(v) {
			t.Fatalf("%d: encoded %x, parsed %d, %d, %v", v, b, got, n, err)
		}
		for _, k := range []int{1, 2, 4, 8} {
			if k < VarintLen(v) {
				continue
			}
			if got, n, err := ParseVarint(appendVarintN(nil, v, k)); err != nil || got != v || n != k {
				t.Fatalf("%d in %d bytes: parsed %d, %d, %v", v, k, got, n, err)
			}
		}
	}
}

func TestVarintOutOfRange(t *testing.T) {
	for name, f := range map[string]func(){
		"AppendVarint": func() { AppendVarint(nil, MaxVarint+1) },
		"VarintLen":    func() { VarintLen(1 << 63) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s(2^62) did not panic", name)
				}
			}()
			f()
		}()
	}
}
