package h2

// HeadersFrame is a HEADERS frame (RFC 9113 section 6.2). The priority
// fields are parsed so that a self-dependency can be caught, and otherwise
// ignored.
type HeadersFrame struct {
	FrameHeader
	Priority  PriorityParam // valid if Flags has FlagHeadersPriority
	PadLength uint8
	// BlockFragment is the field block fragment; it aliases the parsed input.
	BlockFragment []byte
}

// StreamEnded reports whether the frame carries END_STREAM.
func (f *HeadersFrame) StreamEnded() bool { return f.Flags.Has(FlagHeadersEndStream) }

// HeadersEnded reports whether the frame carries END_HEADERS, that is no
// CONTINUATION follows.
func (f *HeadersFrame) HeadersEnded() bool { return f.Flags.Has(FlagHeadersEndHeaders) }

// HasPriority reports whether the frame carries the PRIORITY fields.
func (f *HeadersFrame) HasPriority() bool { return f.Flags.Has(FlagHeadersPriority) }

func parseHeaders(f *HeadersFrame, fh FrameHeader, p []byte) error {
	if fh.StreamID == 0 {
		return connError(ErrCodeProtocol, "HEADERS on stream 0")
	}
	*f = HeadersFrame{FrameHeader: fh}
	var pad uint8
	if fh.Flags.Has(FlagHeadersPadded) {
		if len(p) < 1 {
			return connError(ErrCodeFrameSize, "HEADERS too short for pad length")
		}
		pad, p = p[0], p[1:]
	}
	if fh.Flags.Has(FlagHeadersPriority) {
		if len(p) < priorityLen {
			return connError(ErrCodeFrameSize, "HEADERS too short for priority")
		}
		f.Priority, p = parsePriorityParam(p), p[priorityLen:]
	}
	// RFC 9113 section 6.2: padding beyond what is left for the fragment is
	// a PROTOCOL_ERROR.
	if int(pad) > len(p) {
		return connError(ErrCodeProtocol, reasonHeadersPad)
	}
	f.PadLength = pad
	f.BlockFragment = p[:len(p)-int(pad)]
	return nil
}

// HeadersParam describes a HEADERS frame to append.
type HeadersParam struct {
	StreamID      uint32
	BlockFragment []byte
	EndStream     bool
	EndHeaders    bool
	PadLength     uint8          // padding bytes; 0 means no PADDED flag
	Priority      *PriorityParam // nil means no PRIORITY flag
}

// AppendHeaders appends a HEADERS frame. The caller keeps the frame within
// the peer's SETTINGS_MAX_FRAME_SIZE and follows it with CONTINUATION frames
// if EndHeaders is false.
func AppendHeaders(dst []byte, p HeadersParam) []byte {
	var fl Flags
	if p.EndStream {
		fl |= FlagHeadersEndStream
	}
	if p.EndHeaders {
		fl |= FlagHeadersEndHeaders
	}
	if p.PadLength > 0 {
		fl |= FlagHeadersPadded
	}
	if p.Priority != nil {
		fl |= FlagHeadersPriority
	}
	dst, start := startFrame(dst, FrameHeaders, fl, p.StreamID)
	if p.PadLength > 0 {
		dst = append(dst, p.PadLength)
	}
	if p.Priority != nil {
		dst = appendPriorityParam(dst, *p.Priority)
	}
	dst = append(dst, p.BlockFragment...)
	dst = appendPadding(dst, p.PadLength)
	return endFrame(dst, start)
}
