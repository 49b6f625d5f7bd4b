package clienthello

import (
	"strings"
	"testing"
)

func TestValidHostName(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	name253 := strings.Repeat(label63+".", 3) + strings.Repeat("b", 253-3*64)
	if len(name253) != 253 {
		t.Fatalf("name253 is %d bytes", len(name253))
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{
		// RFC 1123 section 2.1 names, as sent.
		{"example.com", true},
		{"a", true},
		{"WWW.Example.COM", true},
		{"xn--bcher-kva.example", true},
		{"_acme-challenge.example", true},
		{"-leading-hyphen.example", true},
		{"0.example", true},
		{"192.0.2.1", true},        // an IPv4 literal is DNS-shaped
		{"2001:db8::1", true},      // IPv6 literal, left to the caller
		{"::ffff:192.0.2.1", true}, // IPv4-mapped IPv6
		{label63 + ".example", true},
		{name253, true},
		// RFC 6066 section 3 and RFC 1035 section 2.3.4.
		{"", false},
		{"example.com.", false},
		{".example.com", false},
		{"a..b", false},
		{".", false},
		{label63 + "a.example", false},
		{name253 + "b", false},
		// Bytes that are no part of a DNS name.
		{"exa mple.com", false},
		{"example.com\x00", false},
		{"example.com\r\n", false},
		{"a\x7f.example", false},
		{"a/b.example", false},
		{"a@b.example", false},
		{"*.example", false},
		{"example.com:443", false},
		{"[2001:db8::1]", false},
		{"fe80::1%eth0", false},
		{"caf\xc3\xa9.example", false},
	} {
		if got := validHostName([]byte(c.name)); got != c.ok {
			t.Errorf("validHostName(%q) = %v; want %v", c.name, got, c.ok)
		}
	}
}
