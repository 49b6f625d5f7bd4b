package acl

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultPorts is the --allow-ports default: HTTPS and NNTPS only, as
// nginx proxy_connect_allow. A CONNECT to 25 or 22 is how open proxies end
// up sending spam.
const DefaultPorts = "443,563"

// Ports is a set of destination ports (--allow-ports). The zero value
// allows nothing; use [ParsePorts]. Copies share the set, which is never
// modified after parsing.
type Ports struct {
	all  bool
	bits *[65536 / 64]uint64
	text string
}

// ParsePorts reads a comma-separated list of ports and ranges such as
// "443,563", "443, 8000-8100" or "all". Port 0 is never allowed.
func ParsePorts(s string) (Ports, error) {
	p := Ports{bits: new([65536 / 64]uint64)}
	var canon []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return Ports{}, fmt.Errorf("allow-ports %q: empty item", s)
		}
		if strings.EqualFold(item, "all") {
			p.all = true
			continue
		}
		lo, hi := item, item
		if i := strings.IndexByte(item, '-'); i >= 0 {
			lo, hi = strings.TrimSpace(item[:i]), strings.TrimSpace(item[i+1:])
		}
		a, err := parsePort(lo)
		if err != nil {
			return Ports{}, fmt.Errorf("allow-ports %q: %v", s, err)
		}
		b, err := parsePort(hi)
		if err != nil {
			return Ports{}, fmt.Errorf("allow-ports %q: %v", s, err)
		}
		if a > b {
			return Ports{}, fmt.Errorf("allow-ports %q: range %d-%d is backwards", s, a, b)
		}
		for port := uint32(a); port <= uint32(b); port++ {
			p.bits[port/64] |= 1 << (port % 64)
		}
	}
	if p.all {
		p.bits, canon = nil, []string{"all"}
	} else {
		canon = p.ranges()
	}
	p.text = strings.Join(canon, ",")
	return p, nil
}

// ranges lists the set in order, adjacent and repeated ports merged.
func (p Ports) ranges() []string {
	var out []string
	for port := 1; port < 65536; port++ {
		if !p.Allowed(uint16(port)) {
			continue
		}
		end := port
		for end+1 < 65536 && p.Allowed(uint16(end+1)) {
			end++
		}
		if end == port {
			out = append(out, strconv.Itoa(port))
		} else {
			out = append(out, fmt.Sprintf("%d-%d", port, end))
		}
		port = end
	}
	return out
}

// Allowed reports whether port is in the set.
func (p Ports) Allowed(port uint16) bool {
	if port == 0 {
		return false
	}
	if p.all {
		return true
	}
	return p.bits != nil && p.bits[port/64]&(1<<(port%64)) != 0
}

// String returns the set in canonical form (sorted, merged), for logs.
func (p Ports) String() string { return p.text }
