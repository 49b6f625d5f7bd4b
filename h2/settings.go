package h2

import "strconv"

// SettingID identifies a SETTINGS parameter (RFC 9113 section 6.5.2).
type SettingID uint16

// The settings sluice knows. Unknown IDs must be ignored (RFC 9113
// section 6.5.2), so they are not an error anywhere.
const (
	SettingHeaderTableSize       SettingID = 0x1
	SettingEnablePush            SettingID = 0x2
	SettingMaxConcurrentStreams  SettingID = 0x3
	SettingInitialWindowSize     SettingID = 0x4
	SettingMaxFrameSize          SettingID = 0x5
	SettingMaxHeaderListSize     SettingID = 0x6
	SettingEnableConnectProtocol SettingID = 0x8 // RFC 8441 section 3
	SettingNoRFC7540Priorities   SettingID = 0x9 // RFC 9218 section 2.1
)

var settingNames = map[SettingID]string{
	SettingHeaderTableSize:       "HEADER_TABLE_SIZE",
	SettingEnablePush:            "ENABLE_PUSH",
	SettingMaxConcurrentStreams:  "MAX_CONCURRENT_STREAMS",
	SettingInitialWindowSize:     "INITIAL_WINDOW_SIZE",
	SettingMaxFrameSize:          "MAX_FRAME_SIZE",
	SettingMaxHeaderListSize:     "MAX_HEADER_LIST_SIZE",
	SettingEnableConnectProtocol: "ENABLE_CONNECT_PROTOCOL",
	SettingNoRFC7540Priorities:   "NO_RFC7540_PRIORITIES",
}

// String returns the RFC name of the setting.
func (s SettingID) String() string {
	if n, ok := settingNames[s]; ok {
		return n
	}
	return "UNKNOWN_SETTING_" + strconv.Itoa(int(s))
}

// Setting is one SETTINGS parameter.
type Setting struct {
	ID  SettingID
	Val uint32
}

// Valid reports whether the value is allowed for its ID, as the connection
// error RFC 9113 section 6.5.2 (and RFC 8441 section 3) prescribes.
func (s Setting) Valid() error {
	switch s.ID {
	case SettingEnablePush, SettingEnableConnectProtocol, SettingNoRFC7540Priorities:
		if s.Val > 1 {
			return connError(ErrCodeProtocol, s.ID.String()+" not 0 or 1")
		}
	case SettingInitialWindowSize:
		if s.Val > maxWindow {
			return connError(ErrCodeFlowControl, "INITIAL_WINDOW_SIZE above 2^31-1")
		}
	case SettingMaxFrameSize:
		if s.Val < DefaultMaxFrameSize || s.Val > MaxFrameSizeLimit {
			return connError(ErrCodeProtocol, "MAX_FRAME_SIZE out of range")
		}
	}
	return nil
}

// Initial values of the peer's settings until its SETTINGS frame says
// otherwise (RFC 9113 section 6.5.2).
const (
	defaultHeaderTableSize   = 4096
	defaultInitialWindowSize = 65535
)
