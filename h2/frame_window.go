package h2

// WindowUpdateFrame is a WINDOW_UPDATE frame (RFC 9113 section 6.9). A zero
// Increment parses fine: whether it is a stream or a connection error
// depends on the stream state, which the connection knows.
type WindowUpdateFrame struct {
	FrameHeader
	Increment uint32
}

const windowUpdateLen = 4

func parseWindowUpdate(f *WindowUpdateFrame, fh FrameHeader, p []byte) error {
	if len(p) != windowUpdateLen {
		// RFC 9113 section 6.9: a FRAME_SIZE_ERROR of the connection, since
		// the frame cannot be trusted to name the right window.
		return connError(ErrCodeFrameSize, "WINDOW_UPDATE length not 4")
	}
	*f = WindowUpdateFrame{FrameHeader: fh, Increment: be32(p) & maxStreamID}
	return nil
}

// AppendWindowUpdate appends a WINDOW_UPDATE frame; streamID 0 names the
// connection window.
func AppendWindowUpdate(dst []byte, streamID, increment uint32) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: windowUpdateLen, Type: FrameWindowUpdate, StreamID: streamID})
	return appendBE32(dst, increment&maxStreamID)
}
