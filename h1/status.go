package h1

import "strconv"

// StatusText returns the RFC 9110 reason phrase for the status codes a
// proxy sends, or "" for others.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 204:
		return "No Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 304:
		return "Not Modified"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 411:
		return "Length Required"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 421:
		return "Misdirected Request"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

// AppendResponseHead appends "HTTP/1.1 <code> <reason>\r\n", each field as
// "Name: Value\r\n", and the empty line, and returns the extended slice.
// code is written as three digits (values outside 100-999 are clamped to
// 500 so the status line always parses). CR, LF and other control bytes in
// reason and fields are dropped rather than written: a value that came from
// configuration or a peer must never split the response.
func AppendResponseHead(dst []byte, code int, reason string, fields ...Field) []byte {
	if code < 100 || code > 999 {
		code = 500
	}
	dst = appendStatusLine(dst, code, reason)
	dst = appendFields(dst, fields)
	return append(dst, "\r\n"...)
}

// appendStatusLine appends "HTTP/1.1 <code> <reason>\r\n", dropping unsafe
// bytes from reason. The caller has clamped code to three digits.
func appendStatusLine(dst []byte, code int, reason string) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = appendSafe(dst, reason)
	return append(dst, "\r\n"...)
}

// appendFields appends "Name: Value\r\n" lines, dropping unsafe bytes.
func appendFields(dst []byte, fields []Field) []byte {
	for _, f := range fields {
		dst = appendField(dst, f.Name, f.Value)
	}
	return dst
}

// appendField appends one "name: value\r\n" line, dropping unsafe bytes.
func appendField(dst []byte, name, value string) []byte {
	dst = appendSafe(dst, name)
	dst = append(dst, ": "...)
	dst = appendSafe(dst, value)
	return append(dst, "\r\n"...)
}

// appendSafe appends s without the bytes valueChar refuses (CR, LF, NUL,
// other controls). The common case, a clean string, is one append.
func appendSafe(dst []byte, s string) []byte {
	if isClean(s) {
		return append(dst, s...)
	}
	for j := 0; j < len(s); j++ {
		if valueChar[s[j]] {
			dst = append(dst, s[j])
		}
	}
	return dst
}

// Byte-parallel constants for isClean.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// isClean reports whether every byte of s is a valueChar. It tests eight
// bytes at a time for a byte below 0x20 or equal to 0x7f (the "hasless"
// and "haszero" bit tricks); a word with a hit, usually an HTAB, is
// rechecked bytewise. Forwarding runs this over every field value.
func isClean[T string | []byte](s T) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		del := x ^ (ones * 0x7f)
		if (x-ones*0x20)&^x&highs|(del-ones)&^del&highs != 0 {
			for j := i; j < i+8; j++ {
				if !valueChar[s[j]] {
					return false
				}
			}
		}
	}
	for ; i < len(s); i++ {
		if !valueChar[s[i]] {
			return false
		}
	}
	return true
}

// AppendError appends a complete error response for code: the status line
// with StatusText(code), Content-Type text/plain, Content-Length, the extra
// fields (e.g. Proxy-Authenticate for 407, Allow for 405, Retry-After for
// 429), Connection: close, and a one-line body "<code> <reason>\n". The
// caller closes the connection after writing it.
func AppendError(dst []byte, code int, extra ...Field) []byte {
	if code < 100 || code > 999 {
		code = 500
	}
	reason := StatusText(code)
	bodyLen := 3 + 1 + len(reason) + 1
	dst = appendStatusLine(dst, code, reason)
	dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(bodyLen), 10)
	dst = append(dst, "\r\n"...)
	dst = appendFields(dst, extra)
	dst = append(dst, "Connection: close\r\n\r\n"...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	return append(dst, '\n')
}
