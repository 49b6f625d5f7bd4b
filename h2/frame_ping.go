package h2

// PingFrame is a PING frame (RFC 9113 section 6.7).
type PingFrame struct {
	FrameHeader
	Data [8]byte
}

// IsAck reports whether the frame answers a PING of ours.
func (f *PingFrame) IsAck() bool { return f.Flags.Has(FlagPingAck) }

const pingLen = 8

func parsePing(f *PingFrame, fh FrameHeader, p []byte) error {
	if len(p) != pingLen {
		return connError(ErrCodeFrameSize, "PING length not 8")
	}
	if fh.StreamID != 0 {
		return connError(ErrCodeProtocol, "PING on a stream")
	}
	*f = PingFrame{FrameHeader: fh}
	copy(f.Data[:], p)
	return nil
}

// AppendPing appends a PING frame; an ACK echoes the data it answers.
func AppendPing(dst []byte, ack bool, data [8]byte) []byte {
	var fl Flags
	if ack {
		fl = FlagPingAck
	}
	dst = AppendFrameHeader(dst, FrameHeader{Length: pingLen, Type: FramePing, Flags: fl})
	return append(dst, data[:]...)
}
