package h2

// PriorityParam is the RFC 7540 priority information carried by PRIORITY
// frames and by HEADERS with the PRIORITY flag. RFC 9113 section 5.3.2
// deprecates the scheme; we parse it only to validate and then ignore it.
type PriorityParam struct {
	StreamDep uint32 // 31-bit stream dependency
	Exclusive bool
	Weight    uint8 // wire value: weight minus one
}

// PriorityFrame is a PRIORITY frame (RFC 9113 section 6.3).
type PriorityFrame struct {
	FrameHeader
	PriorityParam
}

// priorityLen is the fixed payload size of a PRIORITY frame.
const priorityLen = 5

func parsePriorityParam(p []byte) PriorityParam {
	v := be32(p)
	return PriorityParam{StreamDep: v & maxStreamID, Exclusive: v>>31 == 1, Weight: p[4]}
}

func parsePriority(f *PriorityFrame, fh FrameHeader, p []byte) error {
	if fh.StreamID == 0 {
		return connError(ErrCodeProtocol, "PRIORITY on stream 0")
	}
	if len(p) != priorityLen {
		// RFC 9113 section 6.3: a stream error, as PRIORITY touches one stream.
		return streamError(fh.StreamID, ErrCodeFrameSize, nil)
	}
	*f = PriorityFrame{FrameHeader: fh, PriorityParam: parsePriorityParam(p)}
	return nil
}

func appendPriorityParam(dst []byte, p PriorityParam) []byte {
	v := p.StreamDep & maxStreamID
	if p.Exclusive {
		v |= 1 << 31
	}
	return append(appendBE32(dst, v), p.Weight)
}

// AppendPriority appends a PRIORITY frame. Servers never need to send one;
// tests and fuzz seeds do.
func AppendPriority(dst []byte, streamID uint32, p PriorityParam) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: priorityLen, Type: FramePriority, StreamID: streamID})
	return appendPriorityParam(dst, p)
}
