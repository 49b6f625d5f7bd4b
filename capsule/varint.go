package capsule

// MaxVarint is the largest value a QUIC variable-length integer can hold
// (RFC 9000 section 16): two bits of the first byte give the length, which
// leaves 62 bits.
const MaxVarint uint64 = 1<<62 - 1

// VarintLen returns how many bytes AppendVarint uses for v: the minimal
// encoding, 1, 2, 4 or 8. It panics if v > MaxVarint.
func VarintLen(v uint64) int {
	switch {
	case v < 1<<6:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<30:
		return 4
	case v <= MaxVarint:
		return 8
	}
	panic("capsule: varint out of range")
}

// AppendVarint appends the minimal encoding of v (RFC 9000 section 16). It
// panics if v > MaxVarint: no encoding exists, and every caller in a
// protocol stack has a bound far below it, so reaching it is a bug.
func AppendVarint(dst []byte, v uint64) []byte {
	switch VarintLen(v) {
	case 1:
		return append(dst, byte(v))
	case 2:
		return append(dst, 0x40|byte(v>>8), byte(v))
	case 4:
		return append(dst, 0x80|byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(dst, 0xc0|byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// ParseVarint parses the varint at the start of b and returns it with the
// number of bytes it took. Any length prefix is accepted, minimal or not:
// RFC 9000 section 16 and RFC 9297 section 1.1 both allow non-minimal
// encodings. The only error is ErrNeedMore, with n == 0, when b ends
// before the varint does.
func ParseVarint(b []byte) (v uint64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, ErrNeedMore
	}
	switch b[0] >> 6 {
	case 0:
		return uint64(b[0]), 1, nil
	case 1:
		if len(b) < 2 {
			return 0, 0, ErrNeedMore
		}
		return uint64(b[0]&0x3f)<<8 | uint64(b[1]), 2, nil
	case 2:
		if len(b) < 4 {
			return 0, 0, ErrNeedMore
		}
		_ = b[3]
		return uint64(b[0]&0x3f)<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3]), 4, nil
	}
	if len(b) < 8 {
		return 0, 0, ErrNeedMore
	}
	_ = b[7]
	return uint64(b[0]&0x3f)<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]), 8, nil
}
