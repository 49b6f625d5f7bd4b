package acl

import (
	"errors"
	"net/netip"
)

// ErrPrivateAddress means the resolved address is on the deny list of
// [IsPrivate] and nothing opened it: answer 403.
var ErrPrivateAddress = errors.New("destination address is private")

// denyRange is one entry of the deny list; why is for tests and readers.
type denyRange struct {
	p   netip.Prefix
	why string
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// deny4 and deny6 are the special-purpose ranges (RFC 6890 and the IANA
// registries) and the cloud metadata addresses: everything a forward proxy
// on an edge node should never dial on a client's behalf.
var deny4 = []denyRange{
	{mustPrefix("0.0.0.0/8"), "this network; 0.0.0.0 reaches the local host on Linux"},
	{mustPrefix("10.0.0.0/8"), "RFC 1918"},
	{mustPrefix("100.64.0.0/10"), "CGNAT (also Alibaba metadata 100.100.100.200)"},
	{mustPrefix("127.0.0.0/8"), "loopback"},
	{mustPrefix("169.254.0.0/16"), "link-local, cloud metadata 169.254.169.254"},
	{mustPrefix("172.16.0.0/12"), "RFC 1918"},
	{mustPrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{mustPrefix("192.168.0.0/16"), "RFC 1918"},
	{mustPrefix("198.18.0.0/15"), "benchmarking"},
	{mustPrefix("224.0.0.0/4"), "multicast"},
	{mustPrefix("240.0.0.0/4"), "reserved and limited broadcast"},
}

var deny6 = []denyRange{
	{mustPrefix("::/128"), "unspecified"},
	{mustPrefix("::1/128"), "loopback"},
	// Deprecated IPv4-compatible addresses: with the sit module loaded Linux
	// still routes ::a.b.c.d into an automatic tunnel. Nothing legitimate
	// lives here, so the whole /96 goes.
	{mustPrefix("::/96"), "IPv4-compatible (deprecated)"},
	{mustPrefix("100::/64"), "discard-only"},
	{mustPrefix("64:ff9b:1::/48"), "local-use NAT64; the IPv4 position depends on local config"},
	{mustPrefix("fc00::/7"), "unique local, AWS metadata fd00:ec2::254"},
	{mustPrefix("fe80::/10"), "link-local"},
	{mustPrefix("fec0::/10"), "site-local (deprecated)"},
	{mustPrefix("ff00::/8"), "multicast"},
}

// Prefixes whose addresses carry an IPv4 address that the packet will
// finally go to; that address gets the IPv4 checks. IPv4-mapped
// ::ffff:0:0/96 is handled the same way by Unmap before anything else.
var (
	nat64  = mustPrefix("64:ff9b::/96")
	sixTo4 = mustPrefix("2002::/16")
	teredo = mustPrefix("2001::/32")
)

// IsPrivate reports whether ip is on the deny list: loopback, RFC 1918,
// link-local (169.254.169.254), CGNAT, ULA (fd00:ec2::254), multicast,
// unspecified, reserved, and any of these wrapped in IPv4-mapped, NAT64
// (64:ff9b::/96), 6to4 or Teredo addresses. An invalid address counts as
// private so that a zero value fails closed.
func IsPrivate(ip netip.Addr) bool {
	_, _, denied := classify(ip)
	return denied
}

// classify finds the deny range of ip. For wrapped IPv4 it returns the
// inner address that was judged, so that [Guard] can compare an ACL
// allow line against the range that actually matched.
func classify(ip netip.Addr) (checked netip.Addr, p netip.Prefix, denied bool) {
	if !ip.IsValid() {
		return ip, netip.Prefix{}, true
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		return checkInner(ip)
	}
	if p, ok := match(deny6, ip); ok {
		return ip, p, true
	}
	a := ip.As16()
	switch {
	case nat64.Contains(ip):
		return checkInner(netip.AddrFrom4([4]byte{a[12], a[13], a[14], a[15]}))
	case sixTo4.Contains(ip):
		return checkInner(netip.AddrFrom4([4]byte{a[2], a[3], a[4], a[5]}))
	case teredo.Contains(ip):
		// Teredo carries the server in bits 32-63 and the client,
		// bit-inverted, in the last 32 bits; traffic can reach either.
		if c, p, ok := checkInner(netip.AddrFrom4([4]byte{a[4], a[5], a[6], a[7]})); ok {
			return c, p, ok
		}
		return checkInner(netip.AddrFrom4([4]byte{^a[12], ^a[13], ^a[14], ^a[15]}))
	}
	return ip, netip.Prefix{}, false
}

func checkInner(v4 netip.Addr) (netip.Addr, netip.Prefix, bool) {
	p, ok := match(deny4, v4)
	return v4, p, ok
}

func match(list []denyRange, ip netip.Addr) (netip.Prefix, bool) {
	for _, d := range list {
		if d.p.Contains(ip) {
			return d.p, true
		}
	}
	return netip.Prefix{}, false
}

// Guard is the last check before a dial: engine calls Check on every
// address it is about to connect to, after DNS, so a name cannot smuggle
// a private address past the checks on the target. The zero value applies
// the full deny list with no exceptions.
type Guard struct {
	// AllowPrivate turns the private-address deny list off (--allow-private).
	AllowPrivate bool
	// Map, if set, may open private ranges through its allow CIDR (or bare
	// IP) lines, but only with a line at least as specific as the deny
	// range it opens: "10.1.0.0/16 1" opens part of 10/8, while an
	// allow-everything "0.0.0.0/0 1" does not switch the guard off. The
	// most specific line decides, so "10.9.0.0/16 0" inside an allowed
	// 10/8 stays shut. A deny line never refuses a public address here:
	// deny lines judge the target as the client wrote it (Map.Decide), so
	// "0.0.0.0/0 0" means "no IP-literal targets", not "no connections".
	Map *Map
}

// Check returns nil when ip may be dialed, else [ErrPrivateAddress].
// It does not allocate.
func (g Guard) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return ErrPrivateAddress
	}
	checked, p, denied := classify(ip)
	if !denied || g.AllowPrivate {
		return nil
	}
	// For NAT64, 6to4 and Teredo the range that matched is the embedded
	// IPv4's, so that is the address an allow line has to name.
	if r, bits, ok := g.Map.lookupAddrNil(checked); ok && r.value.Allowed() && bits >= p.Bits() {
		return nil
	}
	return ErrPrivateAddress
}
