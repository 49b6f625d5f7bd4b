package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// ErrInvalidTarget is wrapped by every error from [ParseTarget] and
// [NormalizeTarget]; the front ends answer it with 400.
var ErrInvalidTarget = errors.New("invalid target")

// Limits from RFC 1035: longer names cannot be resolved, so accepting them
// would only give the ACL strings that nothing else agrees on.
const (
	maxHostLen  = 253
	maxLabelLen = 63
)

// Target is a CONNECT destination in canonical form. Two spellings of the
// same destination (case, trailing dot, brackets, IPv4-mapped IPv6, leading
// zeros in the port) normalize to equal Targets, which is what makes exact
// ACL rules safe to rely on.
type Target struct {
	// Host is a lowercase ASCII host name without a trailing dot (IDNs in
	// their xn-- form), or the canonical text of IP when IP is valid
	// (IPv6 without brackets, IPv4-mapped IPv6 as plain IPv4).
	Host string
	// Port is the destination port, never 0.
	Port uint16
	// IP is valid only when the client wrote an IP literal.
	IP netip.Addr
}

// String returns "host:port", with IPv6 hosts in brackets; it is the form
// regex rules see and the form to log.
func (t Target) String() string {
	return hostPortString(t.Host, t.Port)
}

func hostPortString(host string, port uint16) string {
	p := strconv.FormatUint(uint64(port), 10)
	if strings.IndexByte(host, ':') >= 0 {
		return "[" + host + "]:" + p
	}
	return host + ":" + p
}

// ParseTarget parses an authority as the client wrote it ("host:port",
// "[v6]:port") and normalizes it with [NormalizeTarget]. A port is required,
// as CONNECT has no default port; userinfo and unbracketed IPv6 are refused.
func ParseTarget(authority string) (Target, error) {
	host, port, err := splitHostPort(authority)
	if err != nil {
		return Target{}, err
	}
	return NormalizeTarget(host, port)
}

// splitHostPort differs from net.SplitHostPort in being strict about the
// port (digits only, 1-65535) and in leaving host validation to
// normalizeHost, which knows about brackets.
func splitHostPort(s string) (string, uint16, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("%w: %q has no port", ErrInvalidTarget, s)
	}
	host, ps := s[:i], s[i+1:]
	if strings.IndexByte(host, ':') >= 0 && !strings.HasPrefix(host, "[") {
		return "", 0, fmt.Errorf("%w: IPv6 address in %q must be in brackets", ErrInvalidTarget, s)
	}
	port, err := parsePort(ps)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %q: %v", ErrInvalidTarget, s, err)
	}
	return host, port, nil
}

// parsePort accepts only decimal digits: strconv would also take "+443",
// and a port written in a way the ACL author never expected is a bypass.
func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad port %q", s)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q out of range", s)
	}
	return uint16(n), nil
}

// NormalizeTarget canonicalizes host (as split from the authority, with or
// without IPv6 brackets) and port. It refuses what a resolver might read
// differently from the ACL: non-canonical IPv4 (0x7f.1, 2130706433,
// 0177.0.0.1), IPv6 zones, empty labels, characters outside letters,
// digits, '-' and '_', and names that fail IDNA mapping.
func NormalizeTarget(host string, port uint16) (Target, error) {
	if port == 0 {
		return Target{}, fmt.Errorf("%w: port 0", ErrInvalidTarget)
	}
	h, ip, err := normalizeHost(host)
	if err != nil {
		return Target{}, err
	}
	return Target{Host: h, Port: port, IP: ip}, nil
}

// normalizeHost is shared by targets and ACL patterns so that both sides
// of every comparison went through the same rules.
func normalizeHost(host string) (string, netip.Addr, error) {
	if host == "" {
		return "", netip.Addr{}, fmt.Errorf("%w: empty host", ErrInvalidTarget)
	}
	if host[0] == '[' {
		if len(host) < 2 || host[len(host)-1] != ']' {
			return "", netip.Addr{}, fmt.Errorf("%w: unbalanced brackets in %q", ErrInvalidTarget, host)
		}
		ip, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !ip.Is6() {
			return "", netip.Addr{}, fmt.Errorf("%w: %q is not an IPv6 literal", ErrInvalidTarget, host)
		}
		return canonicalIP(ip)
	}
	if strings.IndexByte(host, ':') >= 0 {
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return "", netip.Addr{}, fmt.Errorf("%w: bad IPv6 literal %q", ErrInvalidTarget, host)
		}
		return canonicalIP(ip)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return canonicalIP(ip)
	}
	name, err := normalizeName(host)
	if err != nil {
		return "", netip.Addr{}, err
	}
	return name, netip.Addr{}, nil
}

// canonicalIP unmaps ::ffff:a.b.c.d so that an IPv4 rule also covers the
// mapped spelling, and refuses zones: a client has no business choosing
// the proxy's outgoing interface.
func canonicalIP(ip netip.Addr) (string, netip.Addr, error) {
	if ip.Zone() != "" {
		return "", netip.Addr{}, fmt.Errorf("%w: IPv6 zone in %q", ErrInvalidTarget, ip)
	}
	ip = ip.Unmap()
	return ip.String(), ip, nil
}

// normalizeName lowercases ASCII names itself and sends only non-ASCII
// names through IDNA: DNS compares ASCII case-insensitively and nothing
// else, so for ASCII input the lowercase form is exactly what the resolver
// will ask for, while the IDNA lookup profile would also refuse the
// underscores that real host names contain.
func normalizeName(host string) (string, error) {
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(host)
			if err != nil {
				return "", fmt.Errorf("%w: IDNA: %v", ErrInvalidTarget, err)
			}
			host = a
			break
		}
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || len(host) > maxHostLen {
		return "", fmt.Errorf("%w: bad host name length", ErrInvalidTarget)
	}
	if err := checkName(host); err != nil {
		return "", err
	}
	return lowerASCII(host), nil
}

// checkName follows the rules of Go's own resolver (letters, digits, '_'
// and '-', no label starting or ending with '-'), so a name the ACL accepts
// is one the pure-Go resolver will look up verbatim. A name whose last
// label is numeric is refused outright: no TLD is numeric, and such names
// are how non-canonical IPv4 (0x7f.1, 2130706433, 0177.0.0.1) reaches a
// libc resolver that would read them as addresses.
func checkName(host string) error {
	start := 0
	for i := 0; i <= len(host); i++ {
		if i < len(host) && host[i] != '.' {
			c := host[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return fmt.Errorf("%w: character %q in host %q", ErrInvalidTarget, c, host)
			}
			continue
		}
		label := host[start:i]
		if label == "" || len(label) > maxLabelLen {
			return fmt.Errorf("%w: bad label in host %q", ErrInvalidTarget, host)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%w: label starts or ends with '-' in host %q", ErrInvalidTarget, host)
		}
		if i == len(host) && numericLabel(label) {
			return fmt.Errorf("%w: %q looks like a non-canonical IP address", ErrInvalidTarget, host)
		}
		start = i + 1
	}
	return nil
}

// numericLabel reports a label that an inet_aton-style parser would read as
// a number: decimal, octal (leading 0) or hex (0x...).
func numericLabel(l string) bool {
	if len(l) >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		for i := 2; i < len(l); i++ {
			c := l[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return true
}

// lowerASCII avoids the allocation of strings.ToLower for the common case
// of a name that is already lowercase.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
