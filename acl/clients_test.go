package acl

import (
	"net/netip"
	"testing"
)

func TestClients(t *testing.T) {
	c, err := ParseClients("10.0.0.0/8, 192.168.1.7 ,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"10.1.2.3": true, "::ffff:10.1.2.3": true, "192.168.1.7": true, "192.168.1.8": false,
		"2001:db8::1": true, "2001:db9::1": false, "127.0.0.1": false,
	} {
		if got := c.Allowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allowed(%s) = %v; want %v", addr, got, want)
		}
	}
	all, _ := ParseClients("")
	if !all.All() || !all.Allowed(netip.MustParseAddr("203.0.113.9")) {
		t.Error("an empty list must allow everyone")
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0"} {
		if _, err := ParseClients(bad); err == nil {
			t.Errorf("ParseClients(%q) accepted", bad)
		}
	}
}
