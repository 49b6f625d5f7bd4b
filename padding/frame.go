package padding

// A Variant1 frame is a 3-byte header, the payload, then the padding:
//
//	+--------+--------+--------+=========+=========+
//	| len hi | len lo |    P   | payload | P zeros |
//	+--------+--------+--------+=========+=========+
//
// The length is big-endian and counts payload bytes only. Padding content is
// meaningless: receivers skip it, senders write zeros so that no stale
// memory ever leaves the process.
const (
	HeaderLen  = 3
	MaxPayload = 1<<16 - 1 // the most the length field can say
	MaxPadding = 255       // the most the P byte can say

	// PaddedFrames is how many frames each direction pads; the bytes after
	// the last of them are raw.
	PaddedFrames = 8
)

// maxFrameLen bounds a whole frame our Encoder writes. The length field would
// allow 3+65535+255 bytes, but every known writer keeps header, payload and
// padding within 64 KiB, so a larger frame would only single us out.
const maxFrameLen = 1 << 16

// MaxUnsplit is the longest write the Encoder is sure to keep in one frame,
// whatever padding it draws. A stage that reads at most this much per read
// gets exactly one frame per Encode call.
const MaxUnsplit = maxFrameLen - HeaderLen - MaxPadding

// AppendFrame appends one Variant1 frame carrying payload and pad zero bytes
// of padding. It panics if payload is longer than MaxPayload, since the
// length field would wrap and desynchronise the peer for good.
func AppendFrame(dst, payload []byte, pad uint8) []byte {
	if len(payload) > MaxPayload {
		panic("padding: payload longer than MaxPayload")
	}
	n := len(payload)
	dst = append(dst, byte(n>>8), byte(n), pad)
	dst = append(dst, payload...)
	return appendZeros(dst, int(pad))
}

var zeros [MaxPadding]byte

func appendZeros(dst []byte, n int) []byte {
	return append(dst, zeros[:n]...)
}
