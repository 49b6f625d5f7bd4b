package h2

// Framer parses frames out of a byte slice without doing any I/O. It holds
// one frame of each type and reuses it, so parsing allocates nothing: a
// Frame returned by Parse, and every slice in it, is valid only until the
// next call to Parse and only as long as the input is unchanged.
//
// A Framer is not safe for concurrent use.
type Framer struct {
	// MaxReadFrameSize is the largest payload accepted, our advertised
	// SETTINGS_MAX_FRAME_SIZE. Zero means DefaultMaxFrameSize.
	MaxReadFrameSize uint32

	data         DataFrame
	headers      HeadersFrame
	priority     PriorityFrame
	rst          RSTStreamFrame
	settings     SettingsFrame
	push         PushPromiseFrame
	ping         PingFrame
	goAway       GoAwayFrame
	windowUpdate WindowUpdateFrame
	continuation ContinuationFrame
	unknown      UnknownFrame
}

// Parse parses the frame at the start of b and returns it with the number of
// bytes it took. When b holds only a prefix of a frame it returns
// ErrNeedMore and n == 0: keep the bytes and call again with more.
//
// A frame longer than MaxReadFrameSize fails as soon as its header is in,
// without waiting for its payload: a connection FRAME_SIZE_ERROR
// (RFC 9113 section 4.2). A StreamError comes with n covering the whole
// frame, so the caller can reset the stream and carry on after it; a
// ConnError ends the connection.
func (fr *Framer) Parse(b []byte) (f Frame, n int, err error) {
	fh, err := ParseFrameHeader(b)
	if err != nil {
		return nil, 0, err
	}
	max := fr.MaxReadFrameSize
	if max == 0 {
		max = DefaultMaxFrameSize
	}
	if fh.Length > max {
		return nil, 0, connError(ErrCodeFrameSize, fh.Type.String()+" larger than MAX_FRAME_SIZE")
	}
	n = FrameHeaderLen + int(fh.Length)
	if len(b) < n {
		return nil, 0, ErrNeedMore
	}
	p := b[FrameHeaderLen:n:n]
	switch fh.Type {
	case FrameData:
		f, err = &fr.data, parseData(&fr.data, fh, p)
	case FrameHeaders:
		f, err = &fr.headers, parseHeaders(&fr.headers, fh, p)
	case FramePriority:
		f, err = &fr.priority, parsePriority(&fr.priority, fh, p)
	case FrameRSTStream:
		f, err = &fr.rst, parseRSTStream(&fr.rst, fh, p)
	case FrameSettings:
		f, err = &fr.settings, parseSettings(&fr.settings, fh, p)
	case FramePushPromise:
		f, err = &fr.push, parsePushPromise(&fr.push, fh, p)
	case FramePing:
		f, err = &fr.ping, parsePing(&fr.ping, fh, p)
	case FrameGoAway:
		f, err = &fr.goAway, parseGoAway(&fr.goAway, fh, p)
	case FrameWindowUpdate:
		f, err = &fr.windowUpdate, parseWindowUpdate(&fr.windowUpdate, fh, p)
	case FrameContinuation:
		f, err = &fr.continuation, parseContinuation(&fr.continuation, fh, p)
	default:
		fr.unknown = UnknownFrame{FrameHeader: fh, Payload: p}
		f = &fr.unknown
	}
	if err != nil {
		if _, ok := err.(StreamError); ok {
			// The frame is well delimited; only its stream is affected.
			return nil, n, err
		}
		return nil, 0, err
	}
	return f, n, nil
}

// AppendRawFrame appends a frame with an arbitrary header and payload;
// fh.Length is taken from len(payload). It exists so tests and fuzz seeds
// can build frames the typed Append funcs refuse to build.
func AppendRawFrame(dst []byte, fh FrameHeader, payload []byte) []byte {
	fh.Length = uint32(len(payload))
	dst = AppendFrameHeader(dst, fh)
	return append(dst, payload...)
}
