package capsule

import "strconv"

// Type is a Capsule Type (RFC 9297 section 3.2), a 62-bit value. Types this
// package does not know are legal on the wire: receivers skip them.
type Type uint64

// TypeDatagram is the DATAGRAM capsule (RFC 9297 section 3.5), the only
// type connect-udp uses (RFC 9298 section 5).
const TypeDatagram Type = 0x00

// MaxHeaderLen is the longest capsule header: a Type and a Length varint of
// 8 bytes each. A caller that holds fewer bytes than this may be holding
// only part of a header.
const MaxHeaderLen = 16

// String returns the registered name of t, or a hex form for the others.
func (t Type) String() string {
	if t == TypeDatagram {
		return "DATAGRAM"
	}
	return "UNKNOWN_CAPSULE_TYPE_0x" + strconv.FormatUint(uint64(t), 16)
}

// Reserved reports whether t is one of the types RFC 9297 section 5.4
// keeps for greasing, 0x29*N + 0x17 (0x17, 0x40, 0x69, ...). They exist so
// that peers exercise the rule that unknown types are skipped; a sender may
// put any value in them.
func (t Type) Reserved() bool {
	return t >= 0x17 && (t-0x17)%0x29 == 0
}

// ParseHeader parses the Type and Length at the start of b and returns
// them with the header's size in bytes. When b ends inside the header it
// returns ErrNeedMore and n == 0; that is the only error. It applies no
// bound to length: that is for the caller, who knows what it will buffer.
func ParseHeader(b []byte) (t Type, length uint64, n int, err error) {
	tv, tn, err := ParseVarint(b)
	if err != nil {
		return 0, 0, 0, ErrNeedMore
	}
	length, ln, err := ParseVarint(b[tn:])
	if err != nil {
		return 0, 0, 0, ErrNeedMore
	}
	return Type(tv), length, tn + ln, nil
}

// Parse parses the capsule at the start of b and returns its type, its
// value and the number of bytes it took. value aliases b (with its capacity
// cut at the end of the capsule): it is valid only as long as b is.
//
// When b holds only part of a capsule Parse returns ErrNeedMore and
// n == 0. A Length above max fails with ErrTooLarge as soon as the header
// is in, before the value arrives; a negative max refuses every capsule.
// Parse does not look inside the value, so it accepts every type.
func Parse(b []byte, max int) (t Type, value []byte, n int, err error) {
	t, length, hn, err := ParseHeader(b)
	if err != nil {
		return 0, nil, 0, err
	}
	if max < 0 || length > uint64(max) {
		return 0, nil, 0, ErrTooLarge
	}
	// Compare before adding so that hn+length cannot overflow an int.
	if uint64(len(b)-hn) < length {
		return 0, nil, 0, ErrNeedMore
	}
	n = hn + int(length)
	return t, b[hn:n:n], n, nil
}

// AppendHeader appends a capsule header, for writers that append the
// length bytes of value themselves right after it. It panics if length is
// negative.
func AppendHeader(dst []byte, t Type, length int) []byte {
	if length < 0 {
		panic("capsule: negative length")
	}
	dst = AppendVarint(dst, uint64(t))
	return AppendVarint(dst, uint64(length))
}

// Append appends a whole capsule of type t carrying value, with minimal
// varints.
func Append(dst []byte, t Type, value []byte) []byte {
	dst = AppendHeader(dst, t, len(value))
	return append(dst, value...)
}
