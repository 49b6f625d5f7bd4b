package h2

import (
	"errors"
	"strings"

	"golang.org/x/net/http2/hpack"
)

// Request is a complete, validated request header block
// (RFC 9113 section 8.3.1). Strings come from the HPACK decoder as new
// allocations, so a handler may keep the Request.
type Request struct {
	Method    string
	Scheme    string // empty for a plain CONNECT
	Authority string
	Path      string // empty for a plain CONNECT
	Protocol  string // :protocol of an extended CONNECT (RFC 8441), else empty
	// Header holds the regular fields in wire order, names lowercase and
	// validated; pseudo-header fields are in the named fields above.
	Header []hpack.HeaderField
	// ContentLength is the content-length field, or -1 if there is none. The
	// connection enforces it against the DATA received (RFC 9113
	// section 8.1.1).
	ContentLength int64
	// EndStream reports that the HEADERS carried END_STREAM: no body follows.
	EndStream bool
	// Reject is, under ProfileGo, the text of the 400 Go's server answers
	// a request with connection-specific fields with (it does not reset
	// the stream); empty otherwise.
	Reject string
}

// errMalformed and friends are the causes of the stream PROTOCOL_ERRORs of a
// malformed request (RFC 9113 section 8.1.1). They are small sentinels, not
// formatted strings, so a flood of bad requests costs no allocations.
var (
	errPseudoAfterRegular = errors.New("h2: pseudo-header field after a regular field")
	errUnknownPseudo      = errors.New("h2: unknown or response pseudo-header field")
	errDuplicatePseudo    = errors.New("h2: duplicate pseudo-header field")
	errBadFieldName       = errors.New("h2: invalid field name")
	errBadFieldValue      = errors.New("h2: invalid field value")
	errConnectionSpecific = errors.New("h2: connection-specific header field")
	errBadTE              = errors.New("h2: te field other than trailers")
	errBadContentLength   = errors.New("h2: invalid content-length")
	errMissingPseudo      = errors.New("h2: missing mandatory pseudo-header field")
	errConnectPseudo      = errors.New("h2: CONNECT with :scheme or :path")
	errProtocolNotConnect = errors.New("h2: :protocol without CONNECT")
	errBadPath            = errors.New("h2: invalid :path")
	errHostMismatch       = errors.New("h2: host differs from :authority")
	errPseudoInTrailers   = errors.New("h2: pseudo-header field in trailers")
	errTrailersNoEnd      = errors.New("h2: trailers without END_STREAM")
	errContentLength      = errors.New("h2: body length differs from content-length")
)

const (
	sawMethod = 1 << iota
	sawScheme
	sawAuthority
	sawPath
	sawProtocol
)

// buildRequest validates a decoded request field block and fills req. Any
// error it returns makes the request malformed: a stream PROTOCOL_ERROR.
// With goRules, connection-specific fields and a te other than trailers
// do not: they set req.Reject, as Go's server answers them with a 400.
func buildRequest(fields []hpack.HeaderField, req *Request, goRules bool) error {
	*req = Request{ContentLength: -1}
	var saw int
	regular := 0
	connSpecific := false
	for _, f := range fields {
		if len(f.Name) > 0 && f.Name[0] == ':' {
			if regular > 0 {
				return errPseudoAfterRegular
			}
			var bit int
			var dst *string
			switch f.Name {
			case ":method":
				bit, dst = sawMethod, &req.Method
			case ":scheme":
				bit, dst = sawScheme, &req.Scheme
			case ":authority":
				bit, dst = sawAuthority, &req.Authority
			case ":path":
				bit, dst = sawPath, &req.Path
			case ":protocol":
				bit, dst = sawProtocol, &req.Protocol
			default:
				return errUnknownPseudo
			}
			if saw&bit != 0 {
				return errDuplicatePseudo
			}
			if !validFieldValue(f.Value) {
				return errBadFieldValue
			}
			saw |= bit
			*dst = f.Value
			continue
		}
		if err := checkRegularField(f); err != nil {
			if !goRules || err != errConnectionSpecific && err != errBadTE {
				return err
			}
			connSpecific = true
		}
		if f.Name == "host" && saw&sawAuthority != 0 && !strings.EqualFold(f.Value, req.Authority) {
			// RFC 9113 section 8.3.1: two different targets in one
			// request is how requests get smuggled past a check.
			return errHostMismatch
		}
		if f.Name == "content-length" {
			n, ok := parseContentLength(f.Value)
			if !ok || (req.ContentLength >= 0 && n != req.ContentLength) {
				return errBadContentLength
			}
			req.ContentLength = n
		}
		regular++
	}
	if saw&sawMethod == 0 || req.Method == "" {
		return errMissingPseudo
	}
	switch {
	case req.Method == "CONNECT" && saw&sawProtocol == 0:
		// RFC 9113 section 8.5: only :method and :authority.
		if saw&(sawScheme|sawPath) != 0 {
			return errConnectPseudo
		}
		if saw&sawAuthority == 0 || req.Authority == "" {
			return errMissingPseudo
		}
	case saw&sawProtocol != 0:
		// RFC 8441 section 4: extended CONNECT carries all four.
		if req.Method != "CONNECT" {
			return errProtocolNotConnect
		}
		if saw&(sawScheme|sawPath|sawAuthority) != sawScheme|sawPath|sawAuthority || req.Protocol == "" {
			return errMissingPseudo
		}
		if req.Path == "" {
			return errBadPath
		}
	default:
		if saw&(sawScheme|sawPath) != sawScheme|sawPath {
			return errMissingPseudo
		}
		// RFC 9113 section 8.3.1: never empty; origin or asterisk form for
		// http(s).
		if req.Path == "" {
			return errBadPath
		}
		if (req.Scheme == "http" || req.Scheme == "https") && req.Path[0] != '/' &&
			!(req.Path == "*" && req.Method == "OPTIONS") {
			return errBadPath
		}
	}
	if regular > 0 {
		req.Header = make([]hpack.HeaderField, 0, regular)
		for _, f := range fields {
			if len(f.Name) > 0 && f.Name[0] != ':' {
				req.Header = append(req.Header, f)
			}
		}
	}
	if connSpecific {
		req.Reject = goRejectText(req.Header)
	}
	return nil
}

// goConnFields are the fields Go's server refuses in an HTTP/2 request, in
// the order it looks for them, with the names it reports.
var goConnFields = [...]struct{ name, canonical string }{
	{"connection", "Connection"},
	{"keep-alive", "Keep-Alive"},
	{"proxy-connection", "Proxy-Connection"},
	{"transfer-encoding", "Transfer-Encoding"},
	{"upgrade", "Upgrade"},
}

// goRejectText is the body Go's server sends (before http.Error's
// newline) for a request with connection-specific fields.
func goRejectText(header []hpack.HeaderField) string {
	for _, c := range goConnFields {
		for _, f := range header {
			if f.Name == c.name {
				return `request header "` + c.canonical + `" is not valid in HTTP/2`
			}
		}
	}
	return `request header "TE" may only be "trailers" in HTTP/2`
}

// framerError reports the malformations Go's framer finds while decoding
// a field block, before its server counts the stream as opened.
func framerError(err error) bool {
	switch err {
	case errPseudoAfterRegular, errUnknownPseudo, errDuplicatePseudo, errBadFieldName, errBadFieldValue:
		return true
	}
	return false
}

// checkTrailers validates a trailer block (RFC 9113 section 8.1): regular
// fields only.
func checkTrailers(fields []hpack.HeaderField) error {
	for _, f := range fields {
		if len(f.Name) > 0 && f.Name[0] == ':' {
			return errPseudoInTrailers
		}
		if err := checkRegularField(f); err != nil {
			return err
		}
	}
	return nil
}

// checkRegularField applies RFC 9113 section 8.2: lowercase token names,
// field values free of NUL/CR/LF and of edge whitespace, and no
// connection-specific fields.
func checkRegularField(f hpack.HeaderField) error {
	if !validFieldName(f.Name) {
		return errBadFieldName
	}
	if !validFieldValue(f.Value) {
		return errBadFieldValue
	}
	if isConnectionSpecific(f.Name) {
		return errConnectionSpecific
	}
	if f.Name == "te" && f.Value != "trailers" {
		return errBadTE
	}
	return nil
}

// isConnectionSpecific reports the fields RFC 9113 section 8.2.2 forbids.
func isConnectionSpecific(name string) bool {
	switch name {
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// tokenTable marks the RFC 9110 section 5.6.2 tchar bytes that HTTP/2 allows
// in a field name: uppercase letters are excluded, since RFC 9113
// section 8.2.1 makes them malformed.
var tokenTable = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validFieldName reports whether name is a non-empty lowercase token.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !tokenTable[name[i]] {
			return false
		}
	}
	return true
}

// validFieldValue reports whether v is an RFC 9110 section 5.5 field value
// that RFC 9113 section 8.2.1 accepts: visible characters, obs-text, SP and
// HTAB inside, no control characters, and no whitespace at either end.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	if v != "" {
		if c := v[0]; c == ' ' || c == '\t' {
			return false
		}
		if c := v[len(v)-1]; c == ' ' || c == '\t' {
			return false
		}
	}
	return true
}

// parseContentLength parses 1*DIGIT without overflow.
func parseContentLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
