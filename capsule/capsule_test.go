package capsule

import (
	"bytes"
	"strings"
	"testing"
)

var payload100 = strings.Repeat("0123456789", 10)

// goldenCapsules are wire vectors written by hand from the layouts of
// RFC 9297 sections 3.2 and 3.5 and RFC 9298 section 5; names start with
// the RFC 9297 section they exercise. build, when set, must append exactly
// wire; min says whether re-appending the parsed capsule gives wire back;
// headerOnly marks a header whose value is still to come.
var goldenCapsules = []struct {
	name       string
	wire       string
	build      func() []byte
	typ        Type
	value      string
	min        bool
	headerOnly bool
}{
	{
		name:  "3.5 DATAGRAM context 0 hi",
		wire:  "\x00\x03\x00hi",
		build: func() []byte { return Encode(nil, []byte("hi")) },
		typ:   TypeDatagram, value: "\x00hi", min: true,
	},
	{
		name:  "3.5 DATAGRAM context 0 empty payload",
		wire:  "\x00\x01\x00",
		build: func() []byte { return AppendDatagram(nil, 0, nil) },
		typ:   TypeDatagram, value: "\x00", min: true,
	},
	{
		name:  "3.5 DATAGRAM context 2 hi",
		wire:  "\x00\x03\x02hi",
		build: func() []byte { return AppendDatagram(nil, 2, []byte("hi")) },
		typ:   TypeDatagram, value: "\x02hi", min: true,
	},
	{
		// 101 = 0x65 needs the 2-byte form 0x4065.
		name:  "3.2 DATAGRAM with a 2-byte length",
		wire:  "\x00\x40\x65\x00" + payload100,
		build: func() []byte { return Encode(nil, []byte(payload100)) },
		typ:   TypeDatagram, value: "\x00" + payload100, min: true,
	},
	{
		// Context ID 64 takes two bytes too: 0x4040.
		name:  "3.5 DATAGRAM context 64",
		wire:  "\x00\x03\x40\x40x",
		build: func() []byte { return AppendDatagram(nil, 64, []byte("x")) },
		typ:   TypeDatagram, value: "\x40\x40x", min: true,
	},
	{
		// 0x29*0 + 0x17.
		name:  "5.4 GREASE 0x17 empty",
		wire:  "\x17\x00",
		build: func() []byte { return Append(nil, 0x17, nil) },
		typ:   0x17, value: "", min: true,
	},
	{
		// 0x29*1 + 0x17 = 0x40, a type that needs a 2-byte varint.
		name:  "5.4 GREASE 0x40 with a value",
		wire:  "\x40\x40\x03abc",
		build: func() []byte { return Append(nil, 0x40, []byte("abc")) },
		typ:   0x40, value: "abc", min: true,
	},
	{
		// 0x29*2 + 0x17 = 0x69.
		name:  "5.4 GREASE 0x69 header only",
		wire:  "\x40\x69\x02",
		build: func() []byte { return AppendHeader(nil, 0x69, 2) },
		typ:   0x69, headerOnly: true,
	},
	{
		name: "1.1 length 3 in two bytes is accepted",
		wire: "\x00\x40\x03\x00hi",
		typ:  TypeDatagram, value: "\x00hi", min: false,
	},
	{
		name: "1.1 type 0 in eight bytes is still DATAGRAM",
		wire: "\xc0\x00\x00\x00\x00\x00\x00\x00\x03\x00hi",
		typ:  TypeDatagram, value: "\x00hi", min: false,
	},
	{
		name: "1.1 context ID 0 in four bytes",
		wire: "\x00\x06\x80\x00\x00\x00hi",
		typ:  TypeDatagram, value: "\x80\x00\x00\x00hi", min: true, // the capsule framing is minimal
	},
}

func TestCapsuleGolden(t *testing.T) {
	for _, tt := range goldenCapsules {
		t.Run(tt.name, func(t *testing.T) {
			if tt.build != nil {
				if got := tt.build(); string(got) != tt.wire {
					t.Fatalf("build = %q; want %q", got, tt.wire)
				}
			}
			if tt.headerOnly {
				typ, length, n, err := ParseHeader([]byte(tt.wire))
				if err != nil || typ != tt.typ || length != 2 || n != len(tt.wire) {
					t.Fatalf("ParseHeader = %v, %d, %d, %v", typ, length, n, err)
				}
				return
			}
			typ, value, n, err := Parse([]byte(tt.wire), DefaultMax)
			if err != nil || n != len(tt.wire) || typ != tt.typ || string(value) != tt.value {
				t.Fatalf("Parse = %v, %q, %d, %v; want %v, %q, %d", typ, value, n, err, tt.typ, tt.value, len(tt.wire))
			}
			if cap(value) != len(value) {
				t.Fatalf("value has capacity %d past its end", cap(value)-len(value))
			}
			// Trailing bytes belong to the next capsule.
			typ, value, n, err = Parse([]byte(tt.wire+"\x00\x01"), DefaultMax)
			if err != nil || n != len(tt.wire) || string(value) != tt.value {
				t.Fatalf("Parse with trailing bytes = %v, %q, %d, %v", typ, value, n, err)
			}
			re := Append(nil, typ, value)
			if (string(re) == tt.wire) != tt.min {
				t.Fatalf("re-appended %q; minimal %v", re, tt.min)
			}
			if typ2, value2, n2, err := Parse(re, DefaultMax); err != nil || typ2 != typ || !bytes.Equal(value2, value) || n2 != len(re) {
				t.Fatalf("re-appended capsule parses as %v, %q, %d, %v", typ2, value2, n2, err)
			}
		})
	}
}

func TestCapsulePrefixes(t *testing.T) {
	for _, tt := range goldenCapsules {
		b := []byte(tt.wire)
		if tt.headerOnly {
			b = append(b, "xy"...)
		}
		for i := range len(b) {
			if typ, value, n, err := Parse(b[:i], DefaultMax); err != ErrNeedMore || n != 0 || typ != 0 || value != nil {
				t.Fatalf("%s: Parse(b[:%d]) = %v, %q, %d, %v; want ErrNeedMore, 0", tt.name, i, typ, value, n, err)
			}
		}
	}
}

func TestCapsuleTooLarge(t *testing.T) {
	big := Append(nil, 0x17, make([]byte, 1000))
	tests := []struct {
		name string
		b    []byte
		max  int
	}{
		{"value over max", big, 999},
		{"header alone names an oversized capsule", big[:3], 999},
		{"DATAGRAM over max", Encode(nil, make([]byte, 100)), 100},
		{"largest varint length", []byte("\x00\xff\xff\xff\xff\xff\xff\xff\xff"), 1 << 20},
		{"negative max refuses even an empty capsule", []byte("\x17\x00"), -1},
	}
	for _, tt := range tests {
		if typ, value, n, err := Parse(tt.b, tt.max); err != ErrTooLarge || n != 0 || value != nil || typ != 0 {
			t.Errorf("%s: Parse = %v, %q, %d, %v; want ErrTooLarge", tt.name, typ, value, n, err)
		}
	}
	// At the bound exactly is fine.
	if _, _, n, err := Parse(big, 1000); err != nil || n != len(big) {
		t.Fatalf("Parse at max = %d, %v", n, err)
	}
	if _, _, n, err := Parse([]byte("\x17\x00"), 0); err != nil || n != 2 {
		t.Fatalf("Parse(empty, 0) = %d, %v", n, err)
	}
}

func TestCapsuleRoundTrip(t *testing.T) {
	value := bytes.Repeat([]byte("capsule!"), 3000)
	for _, typ := range []Type{TypeDatagram, 0x17, 0x40, 0x3f, 0x4000, 1 << 40, Type(MaxVarint)} {
		for _, size := range []int{0, 1, 63, 64, 16383, 16384, len(value)} {
			b := Append([]byte("prefix"), typ, value[:size])[len("prefix"):]
			if want := VarintLen(uint64(typ)) + VarintLen(uint64(size)) + size; len(b) != want {
				t.Fatalf("%v/%d: appended %d bytes; want %d", typ, size, len(b), want)
			}
			got, v, n, err := Parse(b, len(value))
			if err != nil || got != typ || n != len(b) || !bytes.Equal(v, value[:size]) {
				t.Fatalf("%v/%d: Parse = %v, %d bytes, %d, %v", typ, size, got, len(v), n, err)
			}
			// AppendHeader then the value is the same capsule.
			if h := append(AppendHeader(nil, typ, size), value[:size]...); !bytes.Equal(h, b) {
				t.Fatalf("%v/%d: AppendHeader differs from Append", typ, size)
			}
		}
	}
}

func TestType(t *testing.T) {
	if TypeDatagram.String() != "DATAGRAM" || Type(0x17).String() != "UNKNOWN_CAPSULE_TYPE_0x17" {
		t.Fatalf("String: %q, %q", TypeDatagram.String(), Type(0x17).String())
	}
	// RFC 9297 section 5.4: 0x29*N + 0x17.
	for n := range Type(1000) {
		if typ := 0x29*n + 0x17; !typ.Reserved() {
			t.Fatalf("%#x (N=%d) not reserved", uint64(typ), n)
		}
	}
	for _, typ := range []Type{0, 1, 0x16, 0x18, 0x3f, 0x41, 0x68, 0x6a} {
		if typ.Reserved() {
			t.Fatalf("%#x reserved", uint64(typ))
		}
	}
}

func TestAppendHeaderNegative(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("AppendHeader(-1) did not panic")
		}
	}()
	AppendHeader(nil, TypeDatagram, -1)
}
