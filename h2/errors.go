package h2

import (
	"errors"
	"strconv"
)

// ErrCode is an HTTP/2 error code as carried by RST_STREAM and GOAWAY
// (RFC 9113 section 7). Unknown codes are legal on the wire and must not be
// treated as errors themselves.
type ErrCode uint32

// The error codes RFC 9113 section 7 defines.
const (
	ErrCodeNo                 ErrCode = 0x0
	ErrCodeProtocol           ErrCode = 0x1
	ErrCodeInternal           ErrCode = 0x2
	ErrCodeFlowControl        ErrCode = 0x3
	ErrCodeSettingsTimeout    ErrCode = 0x4
	ErrCodeStreamClosed       ErrCode = 0x5
	ErrCodeFrameSize          ErrCode = 0x6
	ErrCodeRefusedStream      ErrCode = 0x7
	ErrCodeCancel             ErrCode = 0x8
	ErrCodeCompression        ErrCode = 0x9
	ErrCodeConnect            ErrCode = 0xa
	ErrCodeEnhanceYourCalm    ErrCode = 0xb
	ErrCodeInadequateSecurity ErrCode = 0xc
	ErrCodeHTTP11Required     ErrCode = 0xd
)

var errCodeNames = [...]string{
	ErrCodeNo:                 "NO_ERROR",
	ErrCodeProtocol:           "PROTOCOL_ERROR",
	ErrCodeInternal:           "INTERNAL_ERROR",
	ErrCodeFlowControl:        "FLOW_CONTROL_ERROR",
	ErrCodeSettingsTimeout:    "SETTINGS_TIMEOUT",
	ErrCodeStreamClosed:       "STREAM_CLOSED",
	ErrCodeFrameSize:          "FRAME_SIZE_ERROR",
	ErrCodeRefusedStream:      "REFUSED_STREAM",
	ErrCodeCancel:             "CANCEL",
	ErrCodeCompression:        "COMPRESSION_ERROR",
	ErrCodeConnect:            "CONNECT_ERROR",
	ErrCodeEnhanceYourCalm:    "ENHANCE_YOUR_CALM",
	ErrCodeInadequateSecurity: "INADEQUATE_SECURITY",
	ErrCodeHTTP11Required:     "HTTP_1_1_REQUIRED",
}

// String returns the RFC name of the code, or a hex form for codes the RFC
// does not define (extensions may add codes, so those are not invalid).
func (e ErrCode) String() string {
	if int(e) < len(errCodeNames) {
		return errCodeNames[e]
	}
	return "unknown error code 0x" + strconv.FormatUint(uint64(e), 16)
}

// ErrNeedMore is returned by the parsers when b holds a valid prefix of a
// frame but not all of it. Nothing was consumed; call again with more bytes.
var ErrNeedMore = errors.New("h2: need more data")

// ErrClosed is returned by Feed once the connection has failed or finished.
var ErrClosed = errors.New("h2: connection closed")

// ConnError is a connection error (RFC 9113 section 5.4.1): the whole
// connection ends with a GOAWAY carrying Code, and Reason as debug data.
type ConnError struct {
	Code   ErrCode
	Reason string
}

// Error implements error.
func (e ConnError) Error() string {
	return "h2: connection error: " + e.Code.String() + ": " + e.Reason
}

// StreamError is a stream error (RFC 9113 section 5.4.2): only StreamID ends,
// with a RST_STREAM carrying Code; the connection carries on.
type StreamError struct {
	StreamID uint32
	Code     ErrCode
	Cause    error
}

// Error implements error.
func (e StreamError) Error() string {
	s := "h2: stream error: stream " + strconv.FormatUint(uint64(e.StreamID), 10) + ": " + e.Code.String()
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the cause so errors.Is can see through to it.
func (e StreamError) Unwrap() error { return e.Cause }

func connError(code ErrCode, reason string) error {
	return ConnError{Code: code, Reason: reason}
}

func streamError(id uint32, code ErrCode, cause error) error {
	return StreamError{StreamID: id, Code: code, Cause: cause}
}
