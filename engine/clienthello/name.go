package clienthello

import "net/netip"

// DNS name limits (RFC 1035 section 2.3.4): 255 octets on the wire are
// 253 characters in text without a trailing dot.
const (
	maxNameLen  = 253
	maxLabelLen = 63
)

// validHostName reports whether name can be the HostName of RFC 6066
// section 3: a DNS name in ASCII, without a trailing dot. The letters,
// digits and hyphen of RFC 1123 section 2.1 are allowed, and the
// underscore, which real names carry and browsers send; the case is left
// as sent. Anything else (a control byte, a space, a slash or colon that
// would change the meaning of a "host:port" built from it, an empty
// label) is refused, so that the name is safe to log and to look up.
//
// IP literals are forbidden in HostName but some clients send them
// anyway. A dotted IPv4 literal is a valid DNS name in this syntax; an
// IPv6 literal without a zone is accepted too, so that the caller, not
// the codec, decides (see [Hello.IPLiteral]).
func validHostName(name []byte) bool {
	if len(name) == 0 || len(name) > maxNameLen {
		return false
	}
	label := 0
	for _, c := range name {
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			label++
			if label > maxLabelLen {
				return false
			}
		case c == ':':
			return isIPv6Literal(name)
		default:
			return false
		}
	}
	return label > 0
}

// isIPv6Literal reports whether name is exactly an IPv6 address, zone
// and brackets excluded.
func isIPv6Literal(name []byte) bool {
	a, err := netip.ParseAddr(string(name))
	return err == nil && a.Is6() && a.Zone() == ""
}
