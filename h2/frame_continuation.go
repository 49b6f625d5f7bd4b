package h2

// ContinuationFrame is a CONTINUATION frame (RFC 9113 section 6.10). That it
// follows a HEADERS without END_HEADERS on the same stream is checked by the
// connection, which knows what came before.
type ContinuationFrame struct {
	FrameHeader
	// BlockFragment aliases the parsed input.
	BlockFragment []byte
}

// HeadersEnded reports whether the frame carries END_HEADERS.
func (f *ContinuationFrame) HeadersEnded() bool { return f.Flags.Has(FlagContinuationEndHeaders) }

func parseContinuation(f *ContinuationFrame, fh FrameHeader, p []byte) error {
	if fh.StreamID == 0 {
		return connError(ErrCodeProtocol, "CONTINUATION on stream 0")
	}
	*f = ContinuationFrame{FrameHeader: fh, BlockFragment: p}
	return nil
}

// AppendContinuation appends a CONTINUATION frame.
func AppendContinuation(dst []byte, streamID uint32, endHeaders bool, frag []byte) []byte {
	var fl Flags
	if endHeaders {
		fl = FlagContinuationEndHeaders
	}
	dst = AppendFrameHeader(dst, FrameHeader{Length: uint32(len(frag)), Type: FrameContinuation, Flags: fl, StreamID: streamID})
	return append(dst, frag...)
}
