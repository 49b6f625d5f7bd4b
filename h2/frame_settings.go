package h2

// SettingsFrame is a SETTINGS frame (RFC 9113 section 6.5). The parameters
// stay in their wire form; read them with NumSettings and Setting, in order,
// because duplicates are legal and the last one wins.
type SettingsFrame struct {
	FrameHeader
	p []byte // aliases the parsed input
}

// settingLen is the size of one parameter: 16-bit ID, 32-bit value.
const settingLen = 6

// IsAck reports whether the frame acknowledges our SETTINGS.
func (f *SettingsFrame) IsAck() bool { return f.Flags.Has(FlagSettingsAck) }

// NumSettings returns the number of parameters in the frame.
func (f *SettingsFrame) NumSettings() int { return len(f.p) / settingLen }

// Setting returns the i-th parameter, 0 <= i < NumSettings().
func (f *SettingsFrame) Setting(i int) Setting {
	b := f.p[i*settingLen : (i+1)*settingLen]
	return Setting{ID: SettingID(b[0])<<8 | SettingID(b[1]), Val: be32(b[2:])}
}

func parseSettings(f *SettingsFrame, fh FrameHeader, p []byte) error {
	if fh.StreamID != 0 {
		return connError(ErrCodeProtocol, "SETTINGS on a stream")
	}
	if fh.Flags.Has(FlagSettingsAck) && len(p) != 0 {
		return connError(ErrCodeFrameSize, "SETTINGS ACK with a payload")
	}
	if len(p)%settingLen != 0 {
		return connError(ErrCodeFrameSize, "SETTINGS length not a multiple of 6")
	}
	*f = SettingsFrame{FrameHeader: fh, p: p}
	return nil
}

// AppendSettings appends a SETTINGS frame carrying s, in order.
func AppendSettings(dst []byte, s []Setting) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: uint32(len(s) * settingLen), Type: FrameSettings})
	for _, v := range s {
		dst = append(dst, byte(v.ID>>8), byte(v.ID))
		dst = appendBE32(dst, v.Val)
	}
	return dst
}

// AppendSettingsAck appends an empty SETTINGS frame with the ACK flag.
func AppendSettingsAck(dst []byte) []byte {
	return AppendFrameHeader(dst, FrameHeader{Type: FrameSettings, Flags: FlagSettingsAck})
}
