package h1

import (
	"errors"
	"strconv"
)

// ErrNeedMore reports that b holds a valid prefix of a message head (or of
// chunked framing) and nothing was consumed. Call again with more bytes.
var ErrNeedMore = errors.New("h1: need more data")

// StatusError is a message the proxy cannot accept. For a request, the
// proxy answers with Code (see [AppendError]) and then closes the
// connection, because after a framing error the rest of the stream cannot
// be trusted. Response parsers report 502 so that the same mapping applies.
//
// The parsers return shared *StatusError values for common failures; treat
// them as read-only.
type StatusError struct {
	Code   int    // HTTP status code to answer with
	Reason string // short diagnostic for logs; never sent to the peer
}

// Error returns "h1: <code> <reason>".
func (e *StatusError) Error() string {
	return "h1: " + strconv.Itoa(e.Code) + " " + e.Reason
}

// statusErr builds a StatusError; used for the package-level values below
// so that error paths allocate nothing (a flood of bad requests is exactly
// when allocations hurt).
func statusErr(code int, reason string) *StatusError {
	return &StatusError{Code: code, Reason: reason}
}

// Request head errors (RFC 9112 sections in the reasons' tests).
var (
	errBareLF          = statusErr(400, "bare LF in head")
	errBadRequestLine  = statusErr(400, "malformed request line")
	errBadMethod       = statusErr(400, "method is not a token")
	errBadTarget       = statusErr(400, "invalid request-target")
	errBadVersion      = statusErr(400, "malformed HTTP-version")
	errVersion         = statusErr(505, "HTTP version not supported")
	errURITooLong      = statusErr(414, "request line too long")
	errHeadTooLarge    = statusErr(431, "header section too large")
	errTooManyFields   = statusErr(431, "too many header fields")
	errObsFold         = statusErr(400, "obsolete line folding or leading whitespace")
	errBadFieldName    = statusErr(400, "field name is not a token")
	errNoColon         = statusErr(400, "field line without colon")
	errBadFieldValue   = statusErr(400, "invalid character in field value")
	errBadCL           = statusErr(400, "invalid Content-Length")
	errCLMismatch      = statusErr(400, "conflicting Content-Length values")
	errTEWithCL        = statusErr(400, "Transfer-Encoding with Content-Length")
	errTEOnHTTP10      = statusErr(400, "Transfer-Encoding in HTTP/1.0")
	errTENotChunked    = statusErr(501, "unsupported Transfer-Encoding")
	errMultipleHost    = statusErr(400, "multiple Host fields")
	errMissingHost     = statusErr(400, "missing Host field")
	errBadHost         = statusErr(400, "invalid Host field")
	errDupProxyAuth    = statusErr(400, "multiple Proxy-Authorization fields")
	errConnectForm     = statusErr(400, "CONNECT needs authority-form")
	errAuthorityMethod = statusErr(400, "authority-form is only for CONNECT")
	errAsteriskMethod  = statusErr(400, "asterisk-form is only for OPTIONS")
	errConnectBody     = statusErr(400, "CONNECT with a body")
)

// Authority and forwarding errors.
var (
	errBadAuthority = statusErr(400, "invalid authority")
	errBadPort      = statusErr(400, "invalid port")
	errNotAbsolute  = statusErr(400, "not an absolute-form request")
	errScheme       = statusErr(400, "only http:// can be forwarded")
	errBadURI       = statusErr(400, "invalid absolute URI")
)

// Response head errors: an origin that breaks framing is a bad gateway.
var (
	errRespLF         = statusErr(502, "bare LF in response head")
	errRespStatusLine = statusErr(502, "malformed status line")
	errRespVersion    = statusErr(502, "unsupported response version")
	errRespTooLarge   = statusErr(502, "response head too large")
	errRespFields     = statusErr(502, "too many response fields")
	errRespField      = statusErr(502, "malformed response field")
	errRespCL         = statusErr(502, "invalid response Content-Length")
	errRespChunked    = statusErr(502, "malformed chunked response body")
)

// Chunked framing errors (RFC 9112 section 7.1).
var (
	errChunkSize     = statusErr(400, "invalid chunk size")
	errChunkOverflow = statusErr(400, "chunk size overflow")
	errChunkCRLF     = statusErr(400, "chunk framing without CRLF")
	errChunkExt      = statusErr(400, "invalid or oversized chunk extension")
	errTrailer       = statusErr(400, "invalid or oversized trailer section")
)
