package h1

import (
	"strconv"
	"strings"
)

// AppendForwardRequest appends the head that a plain-HTTP proxy sends to
// the origin for an absolute-form request (RFC 9110 section 7.6, RFC 9112
// section 3.2.2), and returns the extended slice with the origin's host
// and port.
//
// The request line becomes origin-form (path and query of the URI, "/"
// when the path is empty) with version HTTP/1.1. Host is replaced by the
// URI's authority, since a proxy must ignore the client's Host for
// absolute-form. Hop-by-hop fields are removed: Connection and every field
// it names, Keep-Alive, Proxy-Connection, Proxy-Authorization,
// Proxy-Authenticate, TE, Trailer and Upgrade. The framing is written
// once, canonically: "Transfer-Encoding: chunked" if r.Chunked (the body
// is forwarded as-is), else "Content-Length" if r.ContentLength >= 0; no
// field named in Connection can remove it, so a client cannot make the
// origin read its body as the next request. The head ends with the Via and
// Connection fields o asks for: without "Connection: close" the origin may
// keep the connection for the next request (HTTP/1.1's default).
//
// Only http:// targets are accepted; anything else, userinfo in the URI or
// a bad authority is a 400 [*StatusError], with dst returned unchanged.
// host aliases r.Target; the port defaults to 80.
func AppendForwardRequest(dst []byte, r *Request, o ForwardOptions) (out []byte, host string, port uint16, err error) {
	if r.Form != FormAbsolute {
		return dst, "", 0, errNotAbsolute
	}
	t := r.Target
	sl := schemeLen(t)
	if sl == 0 {
		return dst, "", 0, errBadURI
	}
	if !equalFold(t[:sl-len("://")], "http") {
		return dst, "", 0, errScheme
	}
	rest := t[sl:]
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	auth, path := rest[:end], rest[end:]
	// RFC 9110 section 4.2.4: userinfo in an http URI is an error.
	if strings.IndexByte(auth, '@') >= 0 || strings.IndexByte(path, '#') >= 0 {
		return dst, "", 0, errBadURI
	}
	h, p, err := splitHostPort(auth, false)
	if err != nil {
		return dst, "", 0, err
	}
	if p < 0 {
		p = 80
		// RFC 3986 section 6.2.3: "h:" normalizes to "h".
		auth = strings.TrimSuffix(auth, ":")
	}

	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	if path == "" || path[0] == '?' {
		dst = append(dst, '/')
	}
	dst = append(dst, path...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, auth...)
	dst = append(dst, "\r\n"...)
	conn := newConnOptions(r.Fields)
	var via viaList
	for _, f := range r.Fields {
		if isHopByHop(f.Name) || isFraming(f.Name) || len(f.Name) == len("Host") && equalFold(f.Name, "Host") ||
			conn.n > 0 && conn.names(f.Name) {
			continue
		}
		if o.Via != "" && via.take(f) {
			continue
		}
		dst = appendField(dst, f.Name, f.Value)
	}
	switch {
	case r.Chunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case r.ContentLength >= 0:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, r.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	}
	dst = o.end(dst, &via, r.ProtoMajor, r.ProtoMinor)
	return dst, h, uint16(p), nil
}

// ForwardOptions say how a forwarded head ends.
type ForwardOptions struct {
	// Via, if set, is the pseudonym the proxy adds to Via as the
	// message's received-by (RFC 9110 section 7.6.3): "1.1 sluice", after
	// the Via entries the message came with, in one field.
	Via string
	// Connection, if set, is the value of the Connection field the head
	// ends with: "close" when the connection ends after this message,
	// "keep-alive" toward an HTTP/1.0 peer whose connection persists.
	Connection string
	// Dechunk drops Transfer-Encoding from a response head whose chunked
	// body goes out decoded, ended by the close: the client spoke HTTP/1.0,
	// which has no chunked framing (RFC 9112 section 6.1).
	Dechunk bool
}

// end appends the Via and Connection fields and the empty line.
func (o ForwardOptions) end(dst []byte, via *viaList, major, minor int) []byte {
	if o.Via != "" {
		dst = append(dst, "Via: "...)
		for _, v := range via.vals {
			dst = append(dst, v...)
			dst = append(dst, ", "...)
		}
		// The received-protocol: HTTP's version alone (section 7.6.3).
		dst = append(dst, byte('0'+major), '.', byte('0'+minor), ' ')
		dst = append(dst, o.Via...)
		dst = append(dst, "\r\n"...)
	}
	if o.Connection != "" {
		dst = append(dst, "Connection: "...)
		dst = append(dst, o.Connection...)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// viaList collects the Via fields of a message, in order, so the proxy's
// own entry can follow them in one field.
type viaList struct{ vals []string }

// take reports whether f is a Via field, and keeps its non-empty value.
func (v *viaList) take(f Field) bool {
	if len(f.Name) != len("Via") || !equalFold(f.Name, "Via") {
		return false
	}
	if f.Value != "" {
		v.vals = append(v.vals, f.Value)
	}
	return true
}

// AppendForwardResponse appends the head a proxy sends its client for an
// origin's response: "HTTP/1.1 <code> <reason>", the fields without the
// hop-by-hop ones (as for [AppendForwardRequest], but the framing fields
// are kept as received), then the Via and Connection fields o asks for.
// When Transfer-Encoding is present, Content-Length is dropped (RFC 9112
// section 6.3), so the client frames the body exactly as the origin's
// framing says.
func AppendForwardResponse(dst []byte, r *Response, o ForwardOptions) []byte {
	hasTE := false
	for _, f := range r.Fields {
		if equalFold(f.Name, "Transfer-Encoding") {
			hasTE = true
			break
		}
	}
	code := r.Code
	if code < 100 || code > 999 {
		code = 502
	}
	dst = appendStatusLine(dst, code, r.Reason)
	conn := newConnOptions(r.Fields)
	var via viaList
	for _, f := range r.Fields {
		if isHopByHop(f.Name) {
			continue
		}
		framing := isFraming(f.Name)
		if framing && hasTE && (o.Dechunk || equalFold(f.Name, "Content-Length")) {
			continue
		}
		// Framing fields survive Connection: the body is forwarded as-is
		// and must stay delimited the same way.
		if !framing && conn.n > 0 && conn.names(f.Name) {
			continue
		}
		if o.Via != "" && via.take(f) {
			continue
		}
		dst = appendField(dst, f.Name, f.Value)
	}
	return o.end(dst, &via, r.ProtoMajor, r.ProtoMinor)
}

// isHopByHop reports whether name is a field that applies to one
// connection only (RFC 9110 section 7.6.1) and must not be forwarded.
// Proxy-Authorization and Proxy-Authenticate are for this proxy;
// forwarding the former would leak the client's proxy credentials.
func isHopByHop(name string) bool {
	switch len(name) {
	case len("TE"):
		return equalFold(name, "TE")
	case len("Trailer"):
		return equalFold(name, "Trailer") || equalFold(name, "Upgrade")
	case len("Connection"):
		return equalFold(name, "Connection") || equalFold(name, "Keep-Alive")
	case len("Proxy-Connection"):
		return equalFold(name, "Proxy-Connection")
	case len("Proxy-Authorization"):
		return equalFold(name, "Proxy-Authorization")
	case len("Proxy-Authenticate"):
		return equalFold(name, "Proxy-Authenticate")
	}
	return false
}

// isFraming reports whether name is Content-Length or Transfer-Encoding.
func isFraming(name string) bool {
	switch len(name) {
	case len("Content-Length"):
		return equalFold(name, "Content-Length")
	case len("Transfer-Encoding"):
		return equalFold(name, "Transfer-Encoding")
	}
	return false
}

// connOptions holds the values of a message's Connection fields, so that
// checking each field against them does not rescan every field (which
// made forwarding quadratic in the number of fields).
type connOptions struct {
	vals [4]string
	n    int     // number of vals; when all is set, len(vals)+1
	all  []Field // set instead when there are more Connection fields than vals holds
}

func newConnOptions(fields []Field) connOptions {
	var c connOptions
	for _, f := range fields {
		if len(f.Name) == len("Connection") && equalFold(f.Name, "Connection") {
			if c.n == len(c.vals) {
				return connOptions{n: len(c.vals) + 1, all: fields}
			}
			c.vals[c.n] = f.Value
			c.n++
		}
	}
	return c
}

// names reports whether a Connection field lists name as a connection
// option (RFC 9110 section 7.6.1).
func (c *connOptions) names(name string) bool {
	if c.all != nil {
		for _, f := range c.all {
			if equalFold(f.Name, "Connection") && hasToken(f.Value, name) {
				return true
			}
		}
		return false
	}
	for _, v := range c.vals[:c.n] {
		if hasToken(v, name) {
			return true
		}
	}
	return false
}
