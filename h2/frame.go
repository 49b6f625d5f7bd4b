package h2

import "strconv"

// FrameType is the 8-bit type of a frame (RFC 9113 section 4.1).
type FrameType uint8

// The frame types RFC 9113 section 6 defines.
const (
	FrameData         FrameType = 0x0
	FrameHeaders      FrameType = 0x1
	FramePriority     FrameType = 0x2
	FrameRSTStream    FrameType = 0x3
	FrameSettings     FrameType = 0x4
	FramePushPromise  FrameType = 0x5
	FramePing         FrameType = 0x6
	FrameGoAway       FrameType = 0x7
	FrameWindowUpdate FrameType = 0x8
	FrameContinuation FrameType = 0x9
)

var frameNames = [...]string{
	FrameData:         "DATA",
	FrameHeaders:      "HEADERS",
	FramePriority:     "PRIORITY",
	FrameRSTStream:    "RST_STREAM",
	FrameSettings:     "SETTINGS",
	FramePushPromise:  "PUSH_PROMISE",
	FramePing:         "PING",
	FrameGoAway:       "GOAWAY",
	FrameWindowUpdate: "WINDOW_UPDATE",
	FrameContinuation: "CONTINUATION",
}

// String returns the RFC name of the type; unknown types are legal
// (RFC 9113 section 5.5) and print with their number.
func (t FrameType) String() string {
	if int(t) < len(frameNames) {
		return frameNames[t]
	}
	return "UNKNOWN_FRAME_TYPE_" + strconv.Itoa(int(t))
}

// Flags is the 8-bit flags field of a frame header. The meaning of a bit
// depends on the frame type.
type Flags uint8

// Has reports whether every bit of v is set in f.
func (f Flags) Has(v Flags) bool { return f&v == v }

// Frame flags, named by the frame type that defines them (RFC 9113 section 6).
const (
	FlagDataEndStream Flags = 0x1
	FlagDataPadded    Flags = 0x8

	FlagHeadersEndStream  Flags = 0x1
	FlagHeadersEndHeaders Flags = 0x4
	FlagHeadersPadded     Flags = 0x8
	FlagHeadersPriority   Flags = 0x20

	FlagSettingsAck Flags = 0x1

	FlagPingAck Flags = 0x1

	FlagPushPromiseEndHeaders Flags = 0x4
	FlagPushPromisePadded     Flags = 0x8

	FlagContinuationEndHeaders Flags = 0x4
)

// FrameHeaderLen is the fixed size of a frame header (RFC 9113 section 4.1).
const FrameHeaderLen = 9

// Frame size limits (RFC 9113 sections 4.2 and 6.5.2): every peer must accept
// frames of DefaultMaxFrameSize, and no SETTINGS value may exceed
// MaxFrameSizeLimit.
const (
	DefaultMaxFrameSize = 1 << 14
	MaxFrameSizeLimit   = 1<<24 - 1
)

// maxStreamID is the largest stream identifier (31 bits).
const maxStreamID = 1<<31 - 1

// FrameHeader is the 9-byte header every frame starts with
// (RFC 9113 section 4.1). The reserved bit of the stream identifier is
// dropped on parse, as the RFC asks receivers to do.
type FrameHeader struct {
	Length   uint32 // payload length, 24 bits
	Type     FrameType
	Flags    Flags
	StreamID uint32
}

// Header returns h itself, so that every frame struct that embeds a
// FrameHeader satisfies Frame.
func (h FrameHeader) Header() FrameHeader { return h }

// String formats the header for test failures and debug logs.
func (h FrameHeader) String() string {
	return h.Type.String() + " stream=" + strconv.FormatUint(uint64(h.StreamID), 10) +
		" len=" + strconv.FormatUint(uint64(h.Length), 10) +
		" flags=0x" + strconv.FormatUint(uint64(h.Flags), 16)
}

// ParseFrameHeader parses the first 9 bytes of b. It returns ErrNeedMore when
// b is shorter than that. It does not check the length against any limit:
// that is the Framer's job, as only it knows SETTINGS_MAX_FRAME_SIZE.
func ParseFrameHeader(b []byte) (FrameHeader, error) {
	if len(b) < FrameHeaderLen {
		return FrameHeader{}, ErrNeedMore
	}
	_ = b[8]
	return FrameHeader{
		Length:   uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]),
		Type:     FrameType(b[3]),
		Flags:    Flags(b[4]),
		StreamID: be32(b[5:]) & maxStreamID,
	}, nil
}

// AppendFrameHeader appends the 9-byte encoding of h to dst. Only the low 24
// bits of Length and the low 31 bits of StreamID are written.
func AppendFrameHeader(dst []byte, h FrameHeader) []byte {
	return append(dst,
		byte(h.Length>>16), byte(h.Length>>8), byte(h.Length),
		byte(h.Type), byte(h.Flags),
		byte(h.StreamID>>24)&0x7f, byte(h.StreamID>>16), byte(h.StreamID>>8), byte(h.StreamID))
}

// startFrame appends a header with a zero length and returns where the frame
// begins; endFrame back-fills the length once the payload is appended. This
// spares every Append func from computing its payload size up front.
func startFrame(dst []byte, t FrameType, f Flags, streamID uint32) ([]byte, int) {
	return AppendFrameHeader(dst, FrameHeader{Type: t, Flags: f, StreamID: streamID}), len(dst)
}

func endFrame(dst []byte, start int) []byte {
	n := len(dst) - start - FrameHeaderLen
	dst[start] = byte(n >> 16)
	dst[start+1] = byte(n >> 8)
	dst[start+2] = byte(n)
	return dst
}

// Frame is a parsed frame. Frames returned by Framer.Parse alias the input
// and the Framer's own storage: they are valid only until the next Parse.
type Frame interface {
	Header() FrameHeader
}

// UnknownFrame is a frame of a type this package does not know. RFC 9113
// section 5.5 says to ignore those, so the parser returns them rather than
// failing.
type UnknownFrame struct {
	FrameHeader
	Payload []byte // aliases the parsed input
}

func be32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func appendBE32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// splitPadding strips the Pad Length byte and the padding of a padded frame
// (RFC 9113 sections 6.1, 6.2 and 6.6). Padding that reaches past the payload
// is a connection PROTOCOL_ERROR.
func splitPadding(fh FrameHeader, p []byte) ([]byte, uint8, error) {
	if len(p) < 1 {
		return nil, 0, connError(ErrCodeFrameSize, fh.Type.String()+" too short for pad length")
	}
	pad := p[0]
	p = p[1:]
	if int(pad) > len(p) {
		return nil, 0, connError(ErrCodeProtocol, fh.Type.String()+" pad length too large")
	}
	return p[:len(p)-int(pad)], pad, nil
}

// appendPadding appends n zero bytes; RFC 9113 requires padding to be zero.
func appendPadding(dst []byte, n uint8) []byte {
	for i := uint8(0); i < n; i++ {
		dst = append(dst, 0)
	}
	return dst
}
