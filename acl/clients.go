package acl

import (
	"fmt"
	"net/netip"
	"strings"
)

// Clients is who may use the proxy at all, by source address
// (--allow-clients, Squid's "acl localnet src"): a list of prefixes, an
// IPv4-mapped IPv6 source matching its IPv4 form. The zero value allows
// everyone. Safe for concurrent use once built.
type Clients struct {
	prefixes []netip.Prefix
}

// ParseClients parses a comma-separated list of CIDRs and addresses
// (a bare address is a /32 or /128); "" allows everyone.
func ParseClients(s string) (Clients, error) {
	var c Clients
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return Clients{}, fmt.Errorf("%q is neither an address nor a CIDR", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		c.prefixes = append(c.prefixes, p.Masked())
	}
	return c, nil
}

// All reports whether every client is allowed.
func (c Clients) All() bool { return len(c.prefixes) == 0 }

// Allowed reports whether a client at a may use the proxy.
func (c Clients) Allowed(a netip.Addr) bool {
	if len(c.prefixes) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range c.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
