package h2

import "encoding/binary"

// processFrame handles one parsed frame. Stream errors are answered here
// with RST_STREAM; an error it returns fails the connection.
func (c *ServerConn) processFrame(f Frame) error {
	fh := f.Header()
	c.flood.total += FrameHeaderLen + int64(fh.Length)
	if !c.sawSettings {
		// RFC 9113 section 3.4: the preface ends with a SETTINGS frame.
		// Go's server takes an ACK of its own SETTINGS as that frame.
		if fh.Type != FrameSettings || fh.Flags.Has(FlagSettingsAck) && !c.goProfile() {
			return connError(ErrCodeProtocol, "first frame not SETTINGS")
		}
		c.sawSettings = true
	}
	if c.hb.active && fh.Type != FrameContinuation {
		// RFC 9113 section 6.2: a field block is contiguous.
		return connError(ErrCodeProtocol, reasonInsideBlock)
	}
	if c.goProfile() && c.goAwaySent && fh.StreamID > c.goLast && !c.hb.active {
		// Go's server ignores what comes for new streams after its
		// GOAWAY; a field block is still decoded, to keep HPACK in step.
		switch f := f.(type) {
		case *HeadersFrame:
			c.hb = headerBlock{active: true, streamID: f.StreamID, kind: blockDiscard}
			c.dec.begin()
			return c.fragment(f.BlockFragment, f.HeadersEnded())
		case *DataFrame:
			if !c.inflow.take(f.Length) {
				return connError(ErrCodeFlowControl, "connection window overrun")
			}
			c.giveConn(int(f.Length))
			return nil
		}
		if fh.Type != FrameContinuation {
			return nil
		}
	}
	var err error
	switch f := f.(type) {
	case *DataFrame:
		err = c.onData(f)
	case *HeadersFrame:
		err = c.onHeaders(f)
	case *ContinuationFrame:
		err = c.onContinuation(f)
	case *PriorityFrame:
		if f.StreamDep == f.StreamID {
			// RFC 9113 section 5.3.1: a stream cannot depend on itself.
			err = streamError(f.StreamID, ErrCodeProtocol, nil)
		}
	case *RSTStreamFrame:
		err = c.onRSTStream(f)
	case *SettingsFrame:
		err = c.onSettings(f)
	case *PushPromiseFrame:
		// RFC 9113 section 8.4: clients cannot push.
		err = connError(ErrCodeProtocol, "PUSH_PROMISE from a client")
	case *PingFrame:
		if f.IsAck() {
			c.onPingAck(f.Data)
			break
		}
		if err = c.rateControl(); err == nil && c.queueControl() {
			c.out = AppendPing(c.out, true, f.Data)
		}
	case *GoAwayFrame:
		c.peerGoAway = true
		if c.goProfile() {
			// Go's server answers with a graceful GOAWAY of its own.
			c.GoAway(ErrCodeNo, "")
		}
	case *WindowUpdateFrame:
		err = c.onWindowUpdate(f)
	}
	if se, ok := err.(StreamError); ok {
		err = c.streamErr(se)
	}
	if err == nil && c.flood.junk(&c.cfg) {
		err = connError(ErrCodeEnhanceYourCalm, "flood of frames without payload")
	}
	return err
}

// goMaxSettings is the most parameters Go's server takes in one SETTINGS.
const goMaxSettings = 100

// duplicateSettings reports whether an ID repeats in f (at most
// goMaxSettings entries are ever looked at).
func duplicateSettings(f *SettingsFrame) bool {
	n := f.NumSettings()
	for i := range n {
		id := f.Setting(i).ID
		for j := i + 1; j < n; j++ {
			if f.Setting(j).ID == id {
				return true
			}
		}
	}
	return false
}

// frameLen is the length of the frame b starts with, header included.
func frameLen(b []byte) int {
	return FrameHeaderLen + (int(b[0])<<16 | int(b[1])<<8 | int(b[2]))
}

// goParseError turns a framing error into the one Go's framer reports,
// where the two differ: a PRIORITY of the wrong length fails the
// connection, too much HEADERS padding only the stream. b starts with
// the frame.
func goParseError(b []byte, err error) error {
	if len(b) < FrameHeaderLen {
		return err
	}
	switch typ, id := FrameType(b[3]), binary.BigEndian.Uint32(b[5:9])&maxStreamID; {
	case typ == FramePriority:
		if se, ok := err.(StreamError); ok && se.Code == ErrCodeFrameSize {
			return connError(ErrCodeFrameSize, "PRIORITY length not 5")
		}
	case typ == FrameHeaders:
		if ce, ok := err.(ConnError); ok && ce.Reason == reasonHeadersPad {
			return streamError(id, ErrCodeProtocol, nil)
		}
	}
	return err
}

// Reasons that name an error for goParseError and raiseGoLast: the
// frame-order errors Go's framer finds before its server sees the frame,
// and too much HEADERS padding.
const (
	reasonInsideBlock      = "frame inside a field block"
	reasonHeadersPad       = "HEADERS pad length too large"
	reasonLoneContinuation = "CONTINUATION without HEADERS"
)

// noteEmpty counts frames that carry and end nothing.
func (c *ServerConn) noteEmpty(empty bool) error {
	if !empty {
		c.flood.emptyRun = 0
		return nil
	}
	c.flood.emptyRun++
	if c.flood.emptyRun > c.cfg.MaxEmptyFrames {
		return connError(ErrCodeEnhanceYourCalm, "flood of empty frames")
	}
	return nil
}

func (c *ServerConn) onData(f *DataFrame) error {
	id := f.StreamID
	if c.idle(id) {
		return connError(ErrCodeProtocol, "DATA on an idle stream")
	}
	// The whole payload, padding included, counts (RFC 9113 section 6.9.1).
	if !c.inflow.take(f.Length) {
		return connError(ErrCodeFlowControl, "connection window overrun")
	}
	if err := c.noteEmpty(len(f.Data) == 0 && !f.StreamEnded()); err != nil {
		return err
	}
	st := c.streams[id]
	if st == nil || st.remoteClosed {
		// Nobody will consume these bytes: give the credit straight back.
		c.giveConn(int(f.Length))
		if st == nil && c.recentlyClosed(id) == closedByUs {
			// RFC 9113 section 5.4.2: frames may still be in flight after
			// our RST_STREAM; ignore them.
			return nil
		}
		return streamError(id, ErrCodeStreamClosed, nil)
	}
	if !st.in.take(f.Length) {
		c.giveConn(int(f.Length))
		return streamError(id, ErrCodeFlowControl, nil)
	}
	c.flood.payload += int64(len(f.Data))
	if pad := int(f.Length) - len(f.Data); pad > 0 {
		// Padding reaches nobody, so its credit goes back at once.
		if !f.StreamEnded() {
			if inc := st.in.give(pad, c.streamThreshold); inc > 0 {
				c.out = AppendWindowUpdate(c.out, id, inc)
			}
		}
		c.giveConn(pad)
	}
	st.received += int64(len(f.Data))
	end := f.StreamEnded()
	if st.contentLength >= 0 && (st.received > st.contentLength || end && st.received != st.contentLength && !c.goProfile()) {
		c.giveConn(len(f.Data)) // never delivered, never consumed
		return streamError(id, ErrCodeProtocol, errContentLength)
	}
	if end {
		st.remoteClosed = true
	}
	if len(f.Data) > 0 || end {
		st.unconsumed += int64(len(f.Data))
		if c.cfg.EagerConnWindow {
			c.giveConn(len(f.Data))
		}
		c.h.OnData(st, f.Data, end)
	}
	c.maybeClose(st)
	return nil
}

func (c *ServerConn) onHeaders(f *HeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return connError(ErrCodeProtocol, "HEADERS on an even stream id")
	}
	hb := headerBlock{active: true, streamID: id, endStream: f.StreamEnded()}
	switch st := c.streams[id]; {
	case st != nil:
		hb.st = st
		switch {
		case st.remoteClosed:
			hb.kind, hb.hasErr, hb.errCode = blockDiscard, true, ErrCodeStreamClosed
		case !f.StreamEnded():
			// RFC 9113 section 8.1: a second HEADERS is trailers and
			// must end the stream.
			hb.kind, hb.hasErr, hb.errCode = blockDiscard, true, ErrCodeProtocol
		default:
			hb.kind = blockTrailers
		}
	case id <= c.maxClientID:
		switch c.recentlyClosed(id) {
		case closedByUs:
			hb.kind = blockDiscard
		case 0:
			// RFC 9113 section 5.1.1: stream ids only grow.
			return connError(ErrCodeProtocol, "stream id went backwards")
		default:
			// RFC 9113 section 5.1: closed streams take no HEADERS. Go's
			// server says PROTOCOL_ERROR, as for an id that went down.
			if c.goProfile() {
				return connError(ErrCodeProtocol, "HEADERS on a closed stream")
			}
			return connError(ErrCodeStreamClosed, "HEADERS on a closed stream")
		}
	default:
		c.maxClientID = id
		hb.kind = blockRequest
		c.newStreams++
		switch {
		case c.goAwaySent:
			hb.hasErr, hb.errCode = true, ErrCodeRefusedStream
		case len(c.streams) >= int(c.cfg.MaxConcurrentStreams) || c.newStreams > c.cfg.MaxNewStreamsPerFeed:
			// RFC 9113 section 5.1.2: REFUSED_STREAM tells the client
			// it may retry.
			hb.hasErr, hb.errCode = true, ErrCodeRefusedStream
		}
	}
	if f.HasPriority() && f.Priority.StreamDep == id && !hb.hasErr {
		hb.hasErr, hb.errCode = true, ErrCodeProtocol
	}
	c.hb = hb
	c.dec.begin()
	return c.fragment(f.BlockFragment, f.HeadersEnded())
}

func (c *ServerConn) onContinuation(f *ContinuationFrame) error {
	if !c.hb.active || f.StreamID != c.hb.streamID {
		return connError(ErrCodeProtocol, reasonLoneContinuation)
	}
	c.hb.conts++
	if c.hb.conts > c.cfg.MaxContinuations {
		return connError(ErrCodeEnhanceYourCalm, "too many CONTINUATION frames")
	}
	if c.dec.overflow {
		// The block is already too big; more of it is a flood.
		return connError(ErrCodeEnhanceYourCalm, "CONTINUATION past the header list limit")
	}
	return c.fragment(f.BlockFragment, f.HeadersEnded())
}

// fragment decodes one piece of the current field block and, at its end,
// acts on the whole block.
func (c *ServerConn) fragment(p []byte, end bool) error {
	c.flood.payload += int64(len(p))
	if err := c.noteEmpty(len(p) == 0 && !end); err != nil {
		return err
	}
	if err := c.dec.write(p); err != nil {
		return err
	}
	if !end {
		return nil
	}
	if err := c.dec.end(); err != nil {
		return err
	}
	hb := c.hb
	c.hb = headerBlock{}
	err := c.endBlock(&hb)
	c.dec.begin() // drop the decoded strings now
	return err
}

func (c *ServerConn) endBlock(hb *headerBlock) error {
	var req *Request
	var reqErr error
	if hb.kind == blockRequest && !hb.hasErr && !c.dec.overflow {
		req = new(Request)
		reqErr = buildRequest(c.dec.fields, req, c.goProfile())
	}
	if hb.kind == blockRequest && !framerError(reqErr) {
		c.goLast = max(c.goLast, hb.streamID)
	}
	switch {
	case hb.hasErr:
		switch {
		case hb.st == nil:
			c.refuse(hb.streamID, hb.errCode)
		case !hb.st.dead: // the user may have reset it meanwhile
			c.resetStream(hb.st, hb.errCode, true)
		}
		return nil
	case hb.kind == blockDiscard:
		return nil
	case hb.kind == blockTrailers:
		st := hb.st
		if st.dead {
			return nil
		}
		if c.dec.overflow {
			return streamError(st.id, ErrCodeEnhanceYourCalm, nil)
		}
		if err := checkTrailers(c.dec.fields); err != nil {
			return streamError(st.id, ErrCodeProtocol, err)
		}
		if st.contentLength >= 0 && st.received != st.contentLength && !c.goProfile() {
			return streamError(st.id, ErrCodeProtocol, errContentLength)
		}
		st.remoteClosed = true
		c.h.OnData(st, nil, true)
		c.maybeClose(st)
		return nil
	}
	// A request that opens hb.streamID.
	id := hb.streamID
	if c.dec.overflow {
		// RFC 9113 section 10.5.1: tell the client with 431 why; an
		// unfinished request body is cut with RST_STREAM NO_ERROR.
		c.writeHeaderBlock(id, 431, nil, true)
		if hb.endStream {
			c.remember(id, closedEnded)
			c.resets.streams++
			c.notePremature(false)
			return nil
		}
		c.refuse(id, ErrCodeNo)
		return nil
	}
	if reqErr != nil || hb.endStream && req.ContentLength > 0 && !c.goProfile() {
		c.refuse(id, ErrCodeProtocol)
		return nil
	}
	if req.Protocol != "" && c.goProfile() {
		// Go's preface offers no extended CONNECT, and its server refuses
		// a :protocol it did not offer.
		c.refuse(id, ErrCodeProtocol)
		return nil
	}
	req.EndStream = hb.endStream
	st := c.newStream(id, req)
	st.remoteClosed = hb.endStream
	c.h.OnRequest(st, req)
	c.maybeClose(st)
	return nil
}

func (c *ServerConn) onRSTStream(f *RSTStreamFrame) error {
	st := c.streams[f.StreamID]
	if st == nil {
		if c.idle(f.StreamID) {
			return connError(ErrCodeProtocol, "RST_STREAM on an idle stream")
		}
		return nil
	}
	c.closeStream(st, closedByPeer)
	c.h.OnReset(st, f.Code)
	c.notePremature(c.isPremature(st))
	return nil
}

func (c *ServerConn) onSettings(f *SettingsFrame) error {
	if f.IsAck() {
		if c.goProfile() {
			// We sent one SETTINGS; Go's server fails a second ACK.
			if c.settingsIn++; c.settingsIn > 1 {
				return connError(ErrCodeProtocol, "SETTINGS ACK for nothing")
			}
		}
		if !c.settingsAcked {
			c.settingsAcked = true
			if d := int64(c.cfg.InitialWindowSize) - defaultInitialWindowSize; d < 0 {
				// Streams opened before the ACK got the larger default.
				for _, st := range c.streams {
					st.in.avail += d
				}
			}
		}
		return nil
	}
	if err := c.rateControl(); err != nil {
		return err
	}
	if c.goProfile() && (f.NumSettings() > goMaxSettings || duplicateSettings(f)) {
		// Go's server hangs up on these, though the RFC allows them.
		return connError(ErrCodeProtocol, "SETTINGS too large or with duplicates")
	}
	if f.NumSettings() > c.cfg.MaxSettingsEntries {
		return connError(ErrCodeEnhanceYourCalm, "too many SETTINGS parameters")
	}
	grew := false
	for i := range f.NumSettings() {
		s := f.Setting(i)
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case SettingHeaderTableSize:
			c.enc.SetMaxDynamicTableSizeLimit(s.Val)
		case SettingMaxFrameSize:
			c.peerMaxFrameSize = s.Val
		case SettingInitialWindowSize:
			// RFC 9113 section 6.9.2: every stream window moves by the
			// difference, and may go negative.
			d := int64(s.Val) - c.peerInitialWindow
			c.peerInitialWindow = int64(s.Val)
			for _, st := range c.streams {
				if !st.out.add(d) {
					return connError(ErrCodeFlowControl, "INITIAL_WINDOW_SIZE overflows a stream window")
				}
			}
			grew = grew || d > 0
		}
	}
	if !c.queueControl() {
		return nil
	}
	c.out = AppendSettingsAck(c.out)
	if grew {
		c.wakeBlocked()
	}
	return nil
}

func (c *ServerConn) onWindowUpdate(f *WindowUpdateFrame) error {
	if f.StreamID == 0 {
		if f.Increment == 0 {
			return connError(ErrCodeProtocol, "WINDOW_UPDATE of 0 on the connection")
		}
		if !c.sendFlow.add(int64(f.Increment)) {
			return connError(ErrCodeFlowControl, "connection window above 2^31-1")
		}
		c.wakeBlocked()
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if c.idle(f.StreamID) {
			return connError(ErrCodeProtocol, "WINDOW_UPDATE on an idle stream")
		}
		return nil // late for a closed stream: allowed
	}
	if f.Increment == 0 {
		return streamError(f.StreamID, ErrCodeProtocol, nil)
	}
	if !st.out.add(int64(f.Increment)) {
		return streamError(f.StreamID, ErrCodeFlowControl, nil)
	}
	c.wake(st)
	return nil
}

// wakeBlocked tells every stream that came up short it may send again.
func (c *ServerConn) wakeBlocked() {
	for _, st := range c.streams {
		if c.failed || c.sendFlow.avail <= 0 {
			return
		}
		c.wake(st)
	}
}

// wake owes st an OnWindow if a WriteData came up short and the windows
// now take something (SendWindow is 0 for a dead stream).
func (c *ServerConn) wake(st *Stream) {
	if st.blocked && st.SendWindow() > 0 {
		st.blocked = false
		c.h.OnWindow(st)
	}
}
