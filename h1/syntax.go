package h1

import "strings"

// Character classes of RFC 9110 section 5.6.2 (token) and 5.5 (field
// values), as lookup tables: the head parser consults one per byte, and a
// table load is cheaper than a chain of range comparisons.
var (
	tokenChar  [256]bool // tchar
	valueChar  [256]bool // field-vchar, SP, HTAB (obs-text included)
	targetChar [256]bool // bytes allowed in a request-target
	hostChar   [256]bool // bytes allowed in a reg-name or IPv4 host
)

func init() {
	for c := 0; c < 256; c++ {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		tokenChar[c] = alnum
		hostChar[c] = alnum
		// obs-text (0x80-0xFF) is allowed in values and targets: RFC 9110
		// keeps it valid to receive, and UTF-8 paths are common in practice.
		vchar := 0x21 <= c && c <= 0x7e || c >= 0x80
		valueChar[c] = vchar || c == ' ' || c == '\t'
		targetChar[c] = vchar
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		tokenChar[c] = true
	}
	// Host names for CONNECT are DNS names in practice; sub-delims and
	// percent-encoding in a reg-name only help to confuse ACLs and logs.
	for _, c := range []byte("-._") {
		hostChar[c] = true
	}
}

// lower folds one ASCII letter; field names are ASCII by construction.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// equalFold reports whether s and t are equal under ASCII case folding.
// strings.EqualFold also folds Unicode (e.g. "K" and the Kelvin sign),
// which must not make two different header names equal.
func equalFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lower(t[i]) {
			return false
		}
	}
	return true
}

// trimOWS removes optional whitespace (SP / HTAB) at both ends.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// nextListElem splits the first element off an RFC 9110 section 5.6.1
// comma-separated list: it returns that element with OWS trimmed and the
// rest after the comma. Empty elements come back as "".
func nextListElem(s string) (elem, rest string) {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return trimOWS(s[:i]), s[i+1:]
		}
	}
	return trimOWS(s), ""
}

// hasToken reports whether the comma list v contains token tok
// (case-insensitive), as for "Connection: keep-alive, close".
func hasToken(v, tok string) bool {
	for v != "" {
		var e string
		e, v = nextListElem(v)
		if equalFold(e, tok) {
			return true
		}
	}
	return false
}

// parseContentLength parses one Content-Length field value, which may be a
// list of identical values ("5, 5", RFC 9110 section 8.6). It returns -1 if
// the value is not 1*DIGIT elements that agree or does not fit an int64.
func parseContentLength(v string) int64 {
	n := int64(-1)
	for {
		// Not nextListElem: a trailing comma must count as an empty element.
		e, rest, more := strings.Cut(v, ",")
		m := parseDecimal(trimOWS(e))
		if m < 0 || n >= 0 && m != n {
			return -1
		}
		n = m
		if !more {
			return n
		}
		v = rest
	}
}

// parseDecimal parses 1*DIGIT into a non-negative int64, or returns -1.
// Signs, spaces and overflow are all errors: a length two parties read
// differently is the classic smuggling vector.
func parseDecimal(s string) int64 {
	if s == "" {
		return -1
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return -1
		}
		n = n*10 + d
	}
	return n
}
