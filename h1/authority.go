package h1

import (
	"net/netip"
	"strings"
)

// maxHostLen bounds a reg-name: a DNS name is at most 253 octets, plus a
// trailing dot and slack. Longer names cannot resolve and only bloat logs.
const maxHostLen = 255

// ParseAuthority parses the authority-form request-target of CONNECT
// (RFC 9112 section 3.2.3, RFC 9110 section 9.3.6): "host:port",
// "[v6]:port" or "1.2.3.4:port". The port is required and must be in
// 1-65535. host is returned without brackets and aliases s.
//
// Everything else is a 400 [*StatusError]: userinfo, a path, query or
// fragment, a scheme, an empty host or port, an IPv6 zone. The host is a
// letters-digits-hyphen-dot-underscore name or an IP literal; see hostChar
// for why reg-name's other characters are refused.
func ParseAuthority(s string) (host string, port uint16, err error) {
	host, p, err := splitHostPort(s, true)
	if err != nil {
		return "", 0, err
	}
	return host, uint16(p), nil
}

// splitHostPort parses uri-host [ ":" port ]. With needPort, the port must
// be present and non-empty; otherwise a missing or empty port gives -1
// (RFC 3986 section 3.2.3 allows "h:"). Both results alias s.
func splitHostPort(s string, needPort bool) (host string, port int, err error) {
	if s == "" {
		return "", 0, errBadAuthority
	}
	var rest string
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, errBadAuthority
		}
		host, rest = s[1:end], s[end+1:]
		if !isIPv6Literal(host) {
			return "", 0, errBadAuthority
		}
	} else {
		host, rest = s, ""
		if i := strings.IndexByte(s, ':'); i >= 0 {
			host, rest = s[:i], s[i:]
		}
		if !isRegName(host) {
			return "", 0, errBadAuthority
		}
	}
	if rest == "" {
		if needPort {
			return "", 0, errBadPort
		}
		return host, -1, nil
	}
	if rest[0] != ':' {
		return "", 0, errBadAuthority
	}
	digits := rest[1:]
	if digits == "" && !needPort {
		return host, -1, nil
	}
	// More than five digits cannot be a port even with leading zeros
	// stripped; checking length first also bounds the loop below.
	if digits == "" || len(digits) > 5 {
		return "", 0, errBadPort
	}
	p := 0
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return "", 0, errBadPort
		}
		p = p*10 + int(c-'0')
	}
	if p == 0 || p > 65535 {
		return "", 0, errBadPort
	}
	return host, p, nil
}

// isRegName reports whether h is a non-empty host name or IPv4 literal of
// hostChar bytes.
func isRegName(h string) bool {
	if h == "" || len(h) > maxHostLen {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !hostChar[h[i]] {
			return false
		}
	}
	return true
}

// isIPv6Literal reports whether h (the inside of "[...]") is an IPv6
// address without a zone. Zones name local interfaces, which a remote
// client has no business selecting; IPvFuture is not dialable.
func isIPv6Literal(h string) bool {
	if h == "" || len(h) > len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == ':' || c == '.') {
			return false
		}
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Is6()
}
