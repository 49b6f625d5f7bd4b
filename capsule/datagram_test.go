package capsule

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestParseDatagram(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		ctx     uint64
		payload string
		err     error
	}{
		{"RFC9298-5/context-0", "\x00hi", 0, "hi", nil},
		{"RFC9298-5/context-0-empty-payload", "\x00", 0, "", nil},
		{"RFC9298-5/context-2", "\x02hi", 2, "hi", nil},
		{"RFC9298-5/context-0-non-minimal", "\x40\x00hi", 0, "hi", nil},
		{"RFC9298-5/largest-context", "\xff\xff\xff\xff\xff\xff\xff\xff", MaxVarint, "", nil},
		{"RFC9297-3.3/empty-value", "", 0, "", ErrMalformed},
		{"RFC9297-3.3/truncated-2-byte-context", "\x40", 0, "", ErrMalformed},
		{"RFC9297-3.3/truncated-8-byte-context", "\xc0\x00\x00\x00\x00\x00\x00", 0, "", ErrMalformed},
		{"RFC9298-5/context-0-largest-udp", "\x00" + string(make([]byte, MaxUDPPayload)), 0, string(make([]byte, MaxUDPPayload)), nil},
		{"RFC9298-5/context-0-over-udp", "\x00" + string(make([]byte, MaxUDPPayload+1)), 0, "", ErrTooLarge},
		{"RFC9298-5/context-1-over-udp-is-not-ours-to-judge", "\x01" + string(make([]byte, MaxUDPPayload+1)), 1, string(make([]byte, MaxUDPPayload+1)), nil},
	}
	for _, tt := range tests {
		ctx, payload, err := ParseDatagram([]byte(tt.value))
		if err != tt.err || ctx != tt.ctx || string(payload) != tt.payload {
			t.Errorf("%s: ParseDatagram = %d, %d bytes, %v; want %d, %d bytes, %v", tt.name, ctx, len(payload), err, tt.ctx, len(tt.payload), tt.err)
		}
		if err != nil && payload != nil {
			t.Errorf("%s: payload with an error", tt.name)
		}
	}
}

func TestDatagramRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]byte, 1501)
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	for size := range len(src) {
		p := src[:size]
		ctx := uint64(0)
		if size%3 != 0 {
			ctx = r.Uint64() >> (2 + r.IntN(62))
		}
		b := AppendDatagram(nil, ctx, p)
		if ctx == 0 {
			if e := Encode(nil, p); !bytes.Equal(e, b) {
				t.Fatalf("size %d: Encode differs from AppendDatagram(0)", size)
			}
			if len(b) != DatagramCapsuleLen(size) {
				t.Fatalf("size %d: %d bytes; DatagramCapsuleLen says %d", size, len(b), DatagramCapsuleLen(size))
			}
		}
		typ, value, n, err := Parse(b, DefaultMax)
		if err != nil || typ != TypeDatagram || n != len(b) {
			t.Fatalf("size %d ctx %d: Parse = %v, %d, %v", size, ctx, typ, n, err)
		}
		gotCtx, got, err := ParseDatagram(value)
		if err != nil || gotCtx != ctx || !bytes.Equal(got, p) {
			t.Fatalf("size %d ctx %d: ParseDatagram = %d, %d bytes, %v", size, ctx, gotCtx, len(got), err)
		}
	}
}

func TestMaxDatagramPayload(t *testing.T) {
	for limit := -2; limit < 3; limit++ {
		if got := MaxDatagramPayload(limit); got != -1 {
			t.Fatalf("MaxDatagramPayload(%d) = %d; want -1", limit, got)
		}
	}
	// Exhaustive over the lengths a DATAGRAM capsule of one UDP payload
	// can take, and past the 2-to-4-byte Length step.
	for limit := 3; limit <= 70000; limit++ {
		p := MaxDatagramPayload(limit)
		if p < 0 || DatagramCapsuleLen(p) > limit || DatagramCapsuleLen(p+1) <= limit {
			t.Fatalf("MaxDatagramPayload(%d) = %d: len(p) = %d, len(p+1) = %d", limit, p, DatagramCapsuleLen(p), DatagramCapsuleLen(p+1))
		}
	}
	// The varint steps, where the naive limit-3 is wrong.
	for _, tt := range []struct{ limit, want int }{
		{3, 0}, {65, 62}, {66, 62}, {67, 63}, {68, 64},
		{16385, 16381}, {16386, 16382}, {16387, 16382}, {16388, 16382}, {16389, 16383},
		{1 << 30, 1<<30 - 6}, {1<<30 + 4, 1<<30 - 2}, {1<<30 + 8, 1<<30 - 2}, {1<<30 + 9, 1<<30 - 1}, {1<<30 + 10, 1 << 30},
		{1 << 62, 1<<62 - 2 - 8}, {1<<62 + 100, 1<<62 - 2},
	} {
		if got := MaxDatagramPayload(tt.limit); got != tt.want {
			t.Errorf("MaxDatagramPayload(%d) = %d; want %d", tt.limit, got, tt.want)
		}
	}
	if p := MaxDatagramPayload(int(^uint(0) >> 1)); p != int(MaxVarint)-1 {
		t.Errorf("MaxDatagramPayload(MaxInt) = %d", p)
	}
}

func TestAppendDatagramNoAlloc(t *testing.T) {
	p := make([]byte, 1200)
	buf := make([]byte, 0, DatagramCapsuleLen(len(p))+16)
	if n := testing.AllocsPerRun(100, func() {
		buf = AppendDatagram(buf[:0], 5, p)
		buf = Encode(buf[:0], p)
	}); n != 0 {
		t.Errorf("AppendDatagram allocates %v times", n)
	}
	if len(buf) != DatagramCapsuleLen(len(p)) {
		t.Fatalf("Encode wrote %d bytes", len(buf))
	}
}
