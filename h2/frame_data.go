package h2

// DataFrame is a DATA frame (RFC 9113 section 6.1).
type DataFrame struct {
	FrameHeader
	// Data is the payload with padding removed; it aliases the parsed input.
	Data []byte
	// PadLength is the number of padding bytes that were stripped. Flow
	// control counts the whole payload (Length), padding included.
	PadLength uint8
}

// StreamEnded reports whether the frame carries END_STREAM.
func (f *DataFrame) StreamEnded() bool { return f.Flags.Has(FlagDataEndStream) }

func parseData(f *DataFrame, fh FrameHeader, p []byte) error {
	if fh.StreamID == 0 {
		// RFC 9113 section 6.1: DATA on stream 0 is a connection error.
		return connError(ErrCodeProtocol, "DATA on stream 0")
	}
	*f = DataFrame{FrameHeader: fh, Data: p}
	if fh.Flags.Has(FlagDataPadded) {
		data, pad, err := splitPadding(fh, p)
		if err != nil {
			return err
		}
		f.Data, f.PadLength = data, pad
	}
	return nil
}

// AppendData appends a DATA frame carrying data to dst. The caller keeps
// len(data) within the peer's SETTINGS_MAX_FRAME_SIZE.
func AppendData(dst []byte, streamID uint32, endStream bool, data []byte) []byte {
	var fl Flags
	if endStream {
		fl = FlagDataEndStream
	}
	n := uint32(len(data))
	dst = AppendFrameHeader(dst, FrameHeader{Length: n, Type: FrameData, Flags: fl, StreamID: streamID})
	return append(dst, data...)
}

// AppendDataPadded appends a padded DATA frame: a Pad Length byte, data, and
// pad zero bytes (RFC 9113 section 6.1).
func AppendDataPadded(dst []byte, streamID uint32, endStream bool, data []byte, pad uint8) []byte {
	fl := FlagDataPadded
	if endStream {
		fl |= FlagDataEndStream
	}
	dst, start := startFrame(dst, FrameData, fl, streamID)
	dst = append(dst, pad)
	dst = append(dst, data...)
	dst = appendPadding(dst, pad)
	return endFrame(dst, start)
}
