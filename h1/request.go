package h1

import "strings"

// TargetForm is the form of a request-target (RFC 9112 section 3.2).
type TargetForm uint8

// The four request-target forms.
const (
	FormOrigin    TargetForm = iota // "/path?query", to a server
	FormAbsolute                    // "http://host/path", to a proxy
	FormAuthority                   // "host:port", CONNECT only
	FormAsterisk                    // "*", OPTIONS only
)

// String returns the RFC 9112 name of the form.
func (f TargetForm) String() string {
	switch f {
	case FormOrigin:
		return "origin-form"
	case FormAbsolute:
		return "absolute-form"
	case FormAuthority:
		return "authority-form"
	case FormAsterisk:
		return "asterisk-form"
	}
	return "unknown-form"
}

// Field is one header field line. Name is as sent (case preserved); compare
// names with ASCII case-insensitivity, as [Request.Get] does. Value has
// its surrounding whitespace removed.
type Field struct {
	Name, Value string
}

// Request is a parsed request head. Its strings share one copy of the head
// and never alias the parser's input.
type Request struct {
	Method string
	Target string
	Form   TargetForm

	ProtoMajor, ProtoMinor int

	// Fields holds every header field in order, duplicates included.
	Fields []Field

	// The fields below are derived from Fields for the proxy's decisions.

	Host          string // Host field value; "" if absent
	ContentLength int64  // -1 when absent
	Chunked       bool   // Transfer-Encoding: chunked, the only coding accepted
	// Close is set by "Connection: close", or for HTTP/1.0 without
	// "Connection: keep-alive" (RFC 9112 section 9.3).
	Close              bool
	Upgrade            string // Upgrade field value (connect-udp over HTTP/1.1)
	ProxyAuthorization string // Proxy-Authorization field value; never log it
}

// Get returns the value of the first field named name (ASCII
// case-insensitive), or "".
func (r *Request) Get(name string) string {
	for i := range r.Fields {
		if equalFold(r.Fields[i].Name, name) {
			return r.Fields[i].Value
		}
	}
	return ""
}

// ParseRequest parses one request head (request-line, field lines, empty
// line) from the start of b, following RFC 9112 strictly; see the package
// doc for why. Empty lines before the request-line are skipped and counted
// in n and in lim.MaxHeaderBytes (RFC 9112 section 2.2).
//
// On success n is the length of the head: a body or pipelined bytes (the
// first bytes of a CONNECT tunnel) start at b[n:]. The Request does not
// alias b. If b is a valid but unfinished head, err is [ErrNeedMore] and n
// is 0. Otherwise err is a [*StatusError] whose Code the proxy must answer
// with before closing: 400 for malformed input, 414 for a request line over
// lim.MaxRequestLine, 431 for a head over lim.MaxHeaderBytes or with more
// than lim.MaxFields fields, 501 for a transfer coding other than chunked,
// 505 for an HTTP version other than 1.0 and 1.1. The size limits apply
// before the head is complete.
//
// Unknown methods are accepted: whether to answer 405 or 501 is policy.
//
// A well-formed head costs two allocations: one string for the whole head
// and the Fields slice. ParseRequest starts from scratch on every call;
// when b is a buffer that grows until the head is complete, use a
// [HeadParser] so that a slowly arriving head is not rescanned.
func ParseRequest(b []byte, lim Limits) (req Request, n int, err error) {
	var st scanState
	return parseRequest(b, lim, &st)
}

// parseRequest is ParseRequest resuming from st.
func parseRequest(b []byte, lim Limits, st *scanState) (req Request, n int, err error) {
	lim = lim.orDefault()
	start, n, nfields, err := scanHead(b, lim, &requestSyntax, st)
	if err != nil {
		return Request{}, 0, err
	}
	// One copy of the head; every string below is a slice of it.
	s := string(b[start:n])

	sp1 := strings.IndexByte(s, ' ')
	sp2 := sp1 + 1 + strings.IndexByte(s[sp1+1:], ' ')
	eol := strings.IndexByte(s, '\r')
	req.Method = s[:sp1]
	req.Target = s[sp1+1 : sp2]
	req.ProtoMajor, req.ProtoMinor = versionOf(s[sp2+1 : eol])
	req.Fields = splitFields(s[eol+2:], nfields)
	if err := req.interpret(); err != nil {
		return Request{}, 0, err
	}
	return req, n, nil
}

// splitFields cuts the field lines of a head that scanHead validated. s
// starts at the first field line and ends with the empty line's CRLF.
func splitFields(s string, n int) []Field {
	if n == 0 {
		return nil
	}
	fields := make([]Field, 0, n)
	for len(s) > 2 {
		eol := strings.IndexByte(s, '\r')
		line := s[:eol]
		colon := strings.IndexByte(line, ':')
		fields = append(fields, Field{Name: line[:colon], Value: trimOWS(line[colon+1:])})
		s = s[eol+2:]
	}
	return fields
}

// interpret derives the summary fields and applies the message-level rules
// of RFC 9112 sections 3 and 6 that no single line can decide.
func (r *Request) interpret() error {
	r.ContentLength = -1
	var (
		hosts, proxyAuths    int
		te, teBad            bool
		connClose, keepAlive bool
	)
	for _, f := range r.Fields {
		// Dispatch on length first: most fields are none of these, and
		// comparing lengths rejects them without touching the bytes.
		switch len(f.Name) {
		case len("Host"):
			if equalFold(f.Name, "Host") {
				hosts++
				r.Host = f.Value
			}
		case len("Content-Length"):
			if equalFold(f.Name, "Content-Length") {
				cl := parseContentLength(f.Value)
				if cl < 0 {
					return errBadCL
				}
				if r.ContentLength >= 0 && cl != r.ContentLength {
					return errCLMismatch
				}
				r.ContentLength = cl
			}
		case len("Transfer-Encoding"):
			if equalFold(f.Name, "Transfer-Encoding") {
				// Exactly one "chunked" is the only framing we can forward
				// without guessing; a second one would mean chunked twice.
				teBad = teBad || te || !equalFold(f.Value, "chunked")
				te = true
			}
		case len("Connection"):
			if equalFold(f.Name, "Connection") {
				connClose = connClose || hasToken(f.Value, "close")
				keepAlive = keepAlive || hasToken(f.Value, "keep-alive")
			}
		case len("Upgrade"):
			if equalFold(f.Name, "Upgrade") && r.Upgrade == "" {
				r.Upgrade = f.Value
			}
		case len("Proxy-Authorization"):
			if equalFold(f.Name, "Proxy-Authorization") {
				// Two credentials invite two components to check different
				// ones; there is no legitimate reason to send both.
				proxyAuths++
				if proxyAuths > 1 {
					return errDupProxyAuth
				}
				r.ProxyAuthorization = f.Value
			}
		}
	}

	form, err := classifyTarget(r.Method, r.Target)
	if err != nil {
		return err
	}
	r.Form = form
	connect := r.Method == "CONNECT"

	// RFC 9112 section 3.2: exactly one Host in HTTP/1.1. CONNECT is let
	// off because its authority is in the target and several clients omit
	// Host there.
	if hosts > 1 {
		return errMultipleHost
	}
	if hosts == 0 && r.ProtoMinor == 1 && !connect {
		return errMissingHost
	}
	if hosts == 1 && r.Host != "" {
		if _, _, err := splitHostPort(r.Host, false); err != nil {
			return errBadHost
		}
	}

	if te {
		switch {
		case r.ProtoMinor == 0:
			// RFC 9112 section 6.1: HTTP/1.0 framing with TE cannot be trusted.
			return errTEOnHTTP10
		case r.ContentLength >= 0:
			// RFC 9112 section 6.1 allows rejecting this; a proxy must.
			return errTEWithCL
		case connect:
			return errConnectBody
		case teBad:
			return errTENotChunked
		}
		r.Chunked = true
	}
	// RFC 9110 section 9.3.6: a CONNECT body has no defined meaning; the
	// bytes after the head belong to the tunnel. nginx 1.31 answers 400.
	if connect && r.ContentLength >= 0 {
		return errConnectBody
	}

	r.Close = connClose || r.ProtoMinor == 0 && !keepAlive
	return nil
}

// classifyTarget decides the request-target form and whether the method
// may use it (RFC 9112 section 3.2).
func classifyTarget(method, target string) (TargetForm, error) {
	if method == "CONNECT" {
		if _, _, err := ParseAuthority(target); err != nil {
			return 0, err
		}
		return FormAuthority, nil
	}
	if target == "*" {
		if method != "OPTIONS" {
			return 0, errAsteriskMethod
		}
		return FormAsterisk, nil
	}
	// A fragment is never part of a request-target (RFC 9112 section 3.2).
	if strings.IndexByte(target, '#') >= 0 {
		return 0, errBadTarget
	}
	if target[0] == '/' {
		return FormOrigin, nil
	}
	if schemeLen(target) > 0 {
		return FormAbsolute, nil
	}
	// "host:port" with another method: RFC 9112 section 3.2.3 reserves
	// authority-form for CONNECT.
	return 0, errAuthorityMethod
}

// schemeLen returns the length of `scheme "://"` at the start of s, or 0.
// Requiring "//" keeps "example.com:443" (a syntactically valid URI with
// scheme "example.com") out of absolute-form: HTTP targets always have an
// authority, and that string is an authority-form target sent with the
// wrong method.
func schemeLen(s string) int {
	i := 0
	for i < len(s) {
		c := s[i]
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !(alpha || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			break
		}
		i++
	}
	if i == 0 || !strings.HasPrefix(s[i:], "://") {
		return 0
	}
	return i + len("://")
}

// Parts of a request line, for lineState.part.
const (
	rlMethod uint8 = iota
	rlTarget
	rlVersion
)

// checkRequestLine validates request-line = method SP request-target SP
// HTTP-version (RFC 9112 section 3), or a prefix of one when complete is
// false, resuming at st.checked. Exactly one SP separates the parts; tabs
// and other whitespace are errors, since parsers that split on any
// whitespace would read the line differently.
func checkRequestLine(line []byte, complete bool, st *lineState) error {
	i := st.checked
	for ; i < len(line); i++ {
		c := line[i]
		switch st.part {
		case rlMethod:
			if c == ' ' {
				if i == 0 {
					return errBadMethod
				}
				st.part, st.partAt = rlTarget, i+1
			} else if !tokenChar[c] {
				return errBadMethod
			}
		case rlTarget:
			if c == ' ' {
				if i == st.partAt {
					return errBadTarget
				}
				st.part, st.partAt = rlVersion, i+1
			} else if !targetChar[c] {
				return errBadTarget
			}
		default:
			if !versionByte(i-st.partAt, c) {
				return errBadVersion
			}
		}
	}
	st.checked = i
	if !complete {
		return nil
	}
	if st.part != rlVersion {
		return errBadRequestLine
	}
	return checkVersion(line[st.partAt:], errBadVersion, errVersion)
}
