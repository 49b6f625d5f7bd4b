package h2

// RSTStreamFrame is a RST_STREAM frame (RFC 9113 section 6.4).
type RSTStreamFrame struct {
	FrameHeader
	Code ErrCode
}

const rstStreamLen = 4

func parseRSTStream(f *RSTStreamFrame, fh FrameHeader, p []byte) error {
	if len(p) != rstStreamLen {
		return connError(ErrCodeFrameSize, "RST_STREAM length not 4")
	}
	if fh.StreamID == 0 {
		return connError(ErrCodeProtocol, "RST_STREAM on stream 0")
	}
	*f = RSTStreamFrame{FrameHeader: fh, Code: ErrCode(be32(p))}
	return nil
}

// AppendRSTStream appends a RST_STREAM frame.
func AppendRSTStream(dst []byte, streamID uint32, code ErrCode) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: rstStreamLen, Type: FrameRSTStream, StreamID: streamID})
	return appendBE32(dst, uint32(code))
}
