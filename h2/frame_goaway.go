package h2

// GoAwayFrame is a GOAWAY frame (RFC 9113 section 6.8).
type GoAwayFrame struct {
	FrameHeader
	LastStreamID uint32
	Code         ErrCode
	// DebugData aliases the parsed input.
	DebugData []byte
}

const goAwayMinLen = 8

func parseGoAway(f *GoAwayFrame, fh FrameHeader, p []byte) error {
	if fh.StreamID != 0 {
		return connError(ErrCodeProtocol, "GOAWAY on a stream")
	}
	if len(p) < goAwayMinLen {
		return connError(ErrCodeFrameSize, "GOAWAY too short")
	}
	*f = GoAwayFrame{
		FrameHeader:  fh,
		LastStreamID: be32(p) & maxStreamID,
		Code:         ErrCode(be32(p[4:])),
		DebugData:    p[goAwayMinLen:],
	}
	return nil
}

// AppendGoAway appends a GOAWAY frame. debug is opaque diagnostic text; keep
// it short, and never put secrets in it.
func AppendGoAway(dst []byte, lastStreamID uint32, code ErrCode, debug []byte) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: uint32(goAwayMinLen + len(debug)), Type: FrameGoAway})
	dst = appendBE32(dst, lastStreamID&maxStreamID)
	dst = appendBE32(dst, uint32(code))
	return append(dst, debug...)
}
