package h2

// PushPromiseFrame is a PUSH_PROMISE frame (RFC 9113 section 6.6). A server
// never accepts one (clients cannot push), so the connection rejects it with
// PROTOCOL_ERROR; the parser exists so that it is rejected for the right
// reason and tests can build one.
type PushPromiseFrame struct {
	FrameHeader
	PromiseID uint32
	PadLength uint8
	// BlockFragment aliases the parsed input.
	BlockFragment []byte
}

func parsePushPromise(f *PushPromiseFrame, fh FrameHeader, p []byte) error {
	if fh.StreamID == 0 {
		return connError(ErrCodeProtocol, "PUSH_PROMISE on stream 0")
	}
	*f = PushPromiseFrame{FrameHeader: fh}
	if fh.Flags.Has(FlagPushPromisePadded) {
		if len(p) < 1 {
			return connError(ErrCodeFrameSize, "PUSH_PROMISE too short for pad length")
		}
		f.PadLength, p = p[0], p[1:]
	}
	if len(p) < 4 {
		return connError(ErrCodeFrameSize, "PUSH_PROMISE too short")
	}
	f.PromiseID, p = be32(p)&maxStreamID, p[4:]
	if int(f.PadLength) > len(p) {
		return connError(ErrCodeProtocol, "PUSH_PROMISE pad length too large")
	}
	f.BlockFragment = p[:len(p)-int(f.PadLength)]
	return nil
}

// AppendPushPromise appends a PUSH_PROMISE frame. Only tests need it: sluice
// never pushes.
func AppendPushPromise(dst []byte, streamID, promiseID uint32, endHeaders bool, frag []byte, pad uint8) []byte {
	var fl Flags
	if endHeaders {
		fl |= FlagPushPromiseEndHeaders
	}
	if pad > 0 {
		fl |= FlagPushPromisePadded
	}
	dst, start := startFrame(dst, FramePushPromise, fl, streamID)
	if pad > 0 {
		dst = append(dst, pad)
	}
	dst = appendBE32(dst, promiseID&maxStreamID)
	dst = append(dst, frag...)
	dst = appendPadding(dst, pad)
	return endFrame(dst, start)
}
