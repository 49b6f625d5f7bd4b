package acl

import (
	"net/netip"
	"testing"
)

// mappedForm returns ::ffff:a.b.c.d for an IPv4 address.
func mappedForm(ip netip.Addr) netip.Addr { return netip.AddrFrom16(ip.As16()) }

func TestIsPrivateDenyList(t *testing.T) {
	// One address at each edge of every range, plus the ones that matter.
	private := []string{
		"0.0.0.0", "0.255.255.255",
		"10.0.0.0", "10.255.255.255",
		"100.64.0.0", "100.127.255.255", "100.100.100.200",
		"127.0.0.1", "127.255.255.255",
		"169.254.0.0", "169.254.169.254", "169.254.170.2", "169.254.255.255",
		"172.16.0.0", "172.31.255.255",
		"192.0.0.0", "192.0.0.255",
		"192.168.0.0", "192.168.255.255",
		"198.18.0.0", "198.19.255.255",
		"224.0.0.0", "239.255.255.255",
		"240.0.0.0", "255.255.255.254", "255.255.255.255",
		"::", "::1", "::2", "::127.0.0.1", "::8.8.8.8",
		"100::", "100::ffff:ffff:ffff:ffff",
		"64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
		"fc00::", "fd00:ec2::254", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"fe80::", "fe80::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"ff00::", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		// Embedded IPv4: NAT64, 6to4, Teredo server and (inverted) client.
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::10.1.2.3",
		"2002:7f00:1::", "2002:c0a8:101::1", "2002:a9fe:a9fe:1::",
		"2001:0:7f00:1::1", "2001:0:808:808:0:0:80ff:fffe", // client ^ = 127.0.0.1
		"2001:0:808:808::f5ff:fffe", // client ^ = 10.0.0.1
	}
	for _, s := range private {
		ip := netip.MustParseAddr(s)
		if !IsPrivate(ip) {
			t.Errorf("IsPrivate(%s) = false", s)
		}
		if ip.Is4() && !IsPrivate(mappedForm(ip)) {
			t.Errorf("IsPrivate(%s) = false", mappedForm(ip))
		}
	}
	public := []string{
		"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
		"126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0", "172.15.255.255",
		"172.32.0.0", "192.0.1.0", "192.0.2.1", "192.167.255.255", "192.169.0.0",
		"198.17.255.255", "198.20.0.0", "203.0.113.9", "223.255.255.255",
		"2001:4860:4860::8888", "2606:4700:4700::1111", "2a00:1450:4001::200e",
		"64:ff9b::808:808",          // NAT64 of 8.8.8.8
		"2002:808:808::1",           // 6to4 of 8.8.8.8
		"2001:0:808:808::f7f7:f7f7", // Teredo, server and client public
		"101::1", "fbff:ffff::1", "::1:0:0:1",
	}
	for _, s := range public {
		ip := netip.MustParseAddr(s)
		if IsPrivate(ip) {
			t.Errorf("IsPrivate(%s) = true", s)
		}
		if ip.Is4() && IsPrivate(mappedForm(ip)) {
			t.Errorf("IsPrivate(%s) = true", mappedForm(ip))
		}
	}
	if !IsPrivate(netip.Addr{}) {
		t.Error("invalid address must count as private")
	}
	if !IsPrivate(netip.MustParseAddr("fe80::1%eth0")) {
		t.Error("zoned link-local not private")
	}
}

// Every deny range, checked at its first address and in mapped form, so
// a new entry in the list cannot go untested.
func TestIsPrivateEveryRange(t *testing.T) {
	for _, d := range append(append([]denyRange{}, deny4...), deny6...) {
		if !IsPrivate(d.p.Addr()) {
			t.Errorf("%s (%s): first address not private", d.p, d.why)
		}
		if d.p.Addr().Is4() && !IsPrivate(mappedForm(d.p.Addr())) {
			t.Errorf("%s (%s): mapped form not private", d.p, d.why)
		}
	}
}

func TestGuard(t *testing.T) {
	m := mustMap(t, `
10.1.0.0/16 1
10.1.2.0/24 0
0.0.0.0/0 1
::/0 1
8.8.4.0/24 0
127.0.0.1 3
fd00:ec2::/32 1
`)
	tests := []struct {
		ip   string
		g    Guard
		want error
	}{
		{"127.0.0.1", Guard{}, ErrPrivateAddress},
		{"8.8.8.8", Guard{}, nil},
		{"127.0.0.1", Guard{AllowPrivate: true}, nil},
		{"::ffff:127.0.0.1", Guard{}, ErrPrivateAddress},
		{"169.254.169.254", Guard{}, ErrPrivateAddress},
		{"fd00:ec2::254", Guard{}, ErrPrivateAddress},
		{"64:ff9b::7f00:1", Guard{}, ErrPrivateAddress},
		{"", Guard{AllowPrivate: true}, ErrPrivateAddress},
		// A specific allow line opens its own range only.
		{"10.1.9.9", Guard{Map: m}, nil},
		{"::ffff:10.1.9.9", Guard{Map: m}, nil},
		{"10.2.0.1", Guard{Map: m}, ErrPrivateAddress},
		{"127.0.0.1", Guard{Map: m}, nil},
		{"127.0.0.2", Guard{Map: m}, ErrPrivateAddress},
		{"fd00:ec2::254", Guard{Map: m}, nil},
		{"fd00:ec3::254", Guard{Map: m}, ErrPrivateAddress},
		// The most specific line decides: a deny inside an allow stays shut.
		{"10.1.2.3", Guard{Map: m}, ErrPrivateAddress},
		// An allow-everything line does not switch the guard off.
		{"192.168.1.1", Guard{Map: m}, ErrPrivateAddress},
		{"fe80::1", Guard{Map: m}, ErrPrivateAddress},
		// Deny lines judge IP-literal targets, not resolved public addresses.
		{"8.8.4.4", Guard{Map: m}, nil},
		// NAT64 forms are judged on the IPv4 they carry.
		{"64:ff9b::a01:909", Guard{Map: m}, nil},
		{"64:ff9b::a01:203", Guard{Map: m}, ErrPrivateAddress},
		{"64:ff9b::c0a8:101", Guard{Map: m}, ErrPrivateAddress},
	}
	for _, tt := range tests {
		var ip netip.Addr
		if tt.ip != "" {
			ip = netip.MustParseAddr(tt.ip)
		}
		if err := tt.g.Check(ip); err != tt.want {
			t.Errorf("Guard{AllowPrivate:%v, Map:%v}.Check(%s) = %v, want %v", tt.g.AllowPrivate, tt.g.Map != nil, tt.ip, err, tt.want)
		}
	}
}

func TestGuardNoAlloc(t *testing.T) {
	m := mustMap(t, "10.1.0.0/16 1\n")
	g := Guard{Map: m}
	ips := []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("10.1.1.1"), netip.MustParseAddr("64:ff9b::7f00:1")}
	if n := testing.AllocsPerRun(100, func() {
		for _, ip := range ips {
			_ = g.Check(ip)
		}
	}); n != 0 {
		t.Errorf("Check allocates %v times", n)
	}
}
