package h1

import "strings"

// Response is a parsed response head from an origin, for plain-HTTP
// forwarding. Its strings share one copy of the head and never alias the
// parser's input.
type Response struct {
	ProtoMajor, ProtoMinor int
	Code                   int
	Reason                 string
	// Fields holds every header field in order, duplicates included.
	Fields []Field

	// ContentLength is -1 when absent, and when Transfer-Encoding is
	// present, because that overrides it (RFC 9112 section 6.3).
	ContentLength int64
	// Chunked is set when Transfer-Encoding is present with chunked as
	// its final coding; the body is then delimited by chunked framing.
	Chunked bool
}

// ParseResponse parses one response head (status-line, field lines, empty
// line) from the start of b with the same line rules as [ParseRequest].
// lim.MaxRequestLine bounds the status line.
//
// On success n is the length of the head; the body starts at b[n:]. The
// Response does not alias b. An unfinished valid head gives [ErrNeedMore]
// with n 0. An invalid one gives a [*StatusError] with Code 502, which is
// what the proxy answers its client when an origin breaks HTTP.
//
// Content-Length values must be digits and agree. A response with both
// Transfer-Encoding and Content-Length is accepted (origins send it) and
// [AppendForwardResponse] drops the Content-Length, as RFC 9112 section
// 6.3 requires of an intermediary.
func ParseResponse(b []byte, lim Limits) (resp Response, n int, err error) {
	var st scanState
	return parseResponse(b, lim, &st)
}

// parseResponse is ParseResponse resuming from st.
func parseResponse(b []byte, lim Limits, st *scanState) (resp Response, n int, err error) {
	lim = lim.orDefault()
	_, n, nfields, err := scanHead(b, lim, &responseSyntax, st)
	if err != nil {
		return Response{}, 0, err
	}
	s := string(b[:n])
	eol := strings.IndexByte(s, '\r')
	resp.ProtoMajor, resp.ProtoMinor = versionOf(s[:8])
	resp.Code = int(s[9]-'0')*100 + int(s[10]-'0')*10 + int(s[11]-'0')
	if eol > 12 {
		resp.Reason = s[13:eol]
	}
	resp.Fields = splitFields(s[eol+2:], nfields)
	resp.ContentLength = -1
	te := false
	for _, f := range resp.Fields {
		switch {
		case equalFold(f.Name, "Content-Length"):
			cl := parseContentLength(f.Value)
			if cl < 0 || resp.ContentLength >= 0 && cl != resp.ContentLength {
				return Response{}, 0, errRespCL
			}
			resp.ContentLength = cl
		case equalFold(f.Name, "Transfer-Encoding"):
			// The last field's last coding decides (RFC 9112 section 6.3).
			resp.Chunked = lastCodingChunked(f.Value)
			te = true
		}
	}
	if te {
		resp.ContentLength = -1
	}
	return resp, n, nil
}

// OnlyChunked reports whether chunked is the one transfer coding of r:
// decoding it then leaves the content as the origin sent it, where
// another coding under it would be left applied with no field saying so.
func (r *Response) OnlyChunked() bool {
	n := 0
	for _, f := range r.Fields {
		if !equalFold(f.Name, "Transfer-Encoding") {
			continue
		}
		for v := f.Value; v != ""; {
			var e string
			if e, v = nextListElem(v); e == "" {
				continue
			}
			if n++; n > 1 || !equalFold(e, "chunked") {
				return false
			}
		}
	}
	return n == 1
}

// lastCodingChunked reports whether the final element of a
// Transfer-Encoding list is chunked.
func lastCodingChunked(v string) bool {
	last := ""
	for v != "" {
		var e string
		e, v = nextListElem(v)
		if e != "" {
			last = e
		}
	}
	return equalFold(last, "chunked")
}

// checkStatusLine validates status-line = HTTP-version SP status-code SP
// [ reason-phrase ] (RFC 9112 section 4), or a prefix of one, resuming at
// st.checked. The SP before an empty reason is optional here: some origins
// omit it, and it changes nothing about framing.
func checkStatusLine(line []byte, complete bool, st *lineState) error {
	i := st.checked
	for ; i < len(line); i++ {
		c := line[i]
		var ok bool
		switch {
		case i < len(versionShape):
			ok = versionByte(i, c)
		case i == 8 || i == 12:
			ok = c == ' '
		case i == 9:
			// RFC 9110 section 15: three digits; any 1xx-9xx must be
			// passed through, but 0xx is not a status.
			ok = '1' <= c && c <= '9'
		case i < 12:
			ok = '0' <= c && c <= '9'
		default:
			ok = valueChar[c]
		}
		if !ok {
			return errRespStatusLine
		}
	}
	st.checked = i
	if !complete {
		return nil
	}
	if len(line) < 12 {
		return errRespStatusLine
	}
	return checkVersion(line[:8], errRespStatusLine, errRespVersion)
}
