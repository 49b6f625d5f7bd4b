package acl

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port uint16
		ip   bool
	}{
		{"example.com:443", "example.com", 443, false},
		{"EXAMPLE.com:443", "example.com", 443, false},
		{"example.com.:443", "example.com", 443, false},
		{"Example.COM.:0443", "example.com", 443, false},
		{"_dmarc.example.com:443", "_dmarc.example.com", 443, false},
		{"1.2.3.4:80", "1.2.3.4", 80, true},
		{"[::1]:443", "::1", 443, true},
		{"[0:0:0:0:0:0:0:1]:443", "::1", 443, true},
		{"[2001:DB8::1]:443", "2001:db8::1", 443, true},
		{"[::ffff:127.0.0.1]:443", "127.0.0.1", 443, true},
		{"[::ffff:7f00:1]:443", "127.0.0.1", 443, true},
		{"bücher.example:443", "xn--bcher-kva.example", 443, false},
		{"ＥＸＡＭＰＬＥ.com:443", "example.com", 443, false},
		{"a.b-c.d1:65535", "a.b-c.d1", 65535, false},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", tt.in, err)
			continue
		}
		if got.Host != tt.host || got.Port != tt.port || got.IP.IsValid() != tt.ip {
			t.Errorf("ParseTarget(%q) = %+v, want host %q port %d ip %v", tt.in, got, tt.host, tt.port, tt.ip)
		}
		if tt.ip && got.IP.String() != got.Host {
			t.Errorf("ParseTarget(%q): IP %v does not match host %q", tt.in, got.IP, got.Host)
		}
	}
}

func TestParseTargetRejects(t *testing.T) {
	bad := []string{
		"", ":443", "example.com", "example.com:", "example.com:0", "example.com:65536",
		"example.com:+443", "example.com:44 3", "example.com:-1", "example.com:123456",
		"user@example.com:443", "user:pw@example.com:443",
		"::1:443", "[::1]", "[::1:443", "[1.2.3.4]:443", "[fe80::1%25eth0]:443", "[fe80::1%eth0]:443",
		// Non-canonical IPv4 that a libc resolver would read as 127.0.0.1.
		"0x7f.1:443", "2130706433:443", "0177.0.0.1:443", "127.1:443", "0x7f000001:443",
		"127.0.0.01:443", "127.0.0.1.:443", "1.2.3:443", "example.0x10:443",
		// Names that no resolver agrees on.
		"example..com:443", ".example.com:443", "example.com..:443", ".:443",
		"-example.com:443", "example-.com:443", "exa mple.com:443", "exa%6dple.com:443",
		"example.com/path:443", "ex\x00ample.com:443", "*.example.com:443",
		strings.Repeat("a", 64) + ".com:443",
		strings.Repeat("abcdefghi.", 26) + "com:443",
		"xn--a.xn--\u0080:443",
	}
	for _, in := range bad {
		if got, err := ParseTarget(in); err == nil {
			t.Errorf("ParseTarget(%q) = %+v, want error", in, got)
		} else if !errors.Is(err, ErrInvalidTarget) {
			t.Errorf("ParseTarget(%q) error %v does not wrap ErrInvalidTarget", in, err)
		}
	}
}

func TestNormalizeTargetSpellingsAgree(t *testing.T) {
	groups := [][]string{
		{"example.com", "EXAMPLE.COM", "Example.Com.", "example.com."},
		{"127.0.0.1", "::ffff:127.0.0.1", "[::ffff:127.0.0.1]", "[::FFFF:7F00:1]"},
		{"::1", "[::1]", "0::1", "[0:0:0:0:0:0:0:1]"},
		{"2001:db8::1", "[2001:DB8:0::1]", "2001:0db8:0000::0001"},
	}
	for _, g := range groups {
		want, err := NormalizeTarget(g[0], 443)
		if err != nil {
			t.Fatalf("NormalizeTarget(%q): %v", g[0], err)
		}
		for _, in := range g[1:] {
			got, err := NormalizeTarget(in, 443)
			if err != nil || got != want {
				t.Errorf("NormalizeTarget(%q) = %+v, %v; want %+v", in, got, err, want)
			}
		}
	}
}

func TestNormalizeTargetIP(t *testing.T) {
	got, err := NormalizeTarget("[::ffff:10.0.0.1]", 443)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IP.Is4() || got.IP != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("mapped IPv6 literal not unmapped: %+v", got)
	}
	if _, err := NormalizeTarget("example.com", 0); err == nil {
		t.Error("port 0 accepted")
	}
}

func TestTargetString(t *testing.T) {
	for in, want := range map[string]string{
		"Example.com.:443": "example.com:443",
		"[2001:db8::1]:80": "[2001:db8::1]:80",
		"1.2.3.4:8080":     "1.2.3.4:8080",
	} {
		tg, err := ParseTarget(in)
		if err != nil {
			t.Fatal(err)
		}
		if tg.String() != want {
			t.Errorf("%q: String() = %q, want %q", in, tg.String(), want)
		}
	}
}

func FuzzNormalizeTarget(f *testing.F) {
	for _, s := range []string{
		"example.com", "EXAMPLE.com.", "[::1]", "::ffff:127.0.0.1", "0x7f.1", "2130706433",
		"0177.0.0.1", "bücher.example", "_sip.example.com", "a..b", "[fe80::1%eth0]", "1.2.3.4",
		"xn--bcher-kva.example", "ＥＸＡＭＰＬＥ.com",
	} {
		f.Add(s, uint16(443))
	}
	f.Fuzz(func(t *testing.T, host string, port uint16) {
		tg, err := NormalizeTarget(host, port)
		if err != nil {
			return
		}
		if tg.Port == 0 || tg.Host == "" {
			t.Fatalf("accepted %q:%d as %+v", host, port, tg)
		}
		if tg.Host != strings.ToLower(tg.Host) || strings.HasSuffix(tg.Host, ".") ||
			strings.ContainsAny(tg.Host, "[]%@/ ") {
			t.Fatalf("%q normalized to non-canonical host %q", host, tg.Host)
		}
		if tg.IP.IsValid() && (tg.IP.String() != tg.Host || tg.IP.Is4In6() || tg.IP.Zone() != "") {
			t.Fatalf("%q: IP %v vs host %q", host, tg.IP, tg.Host)
		}
		// Normalization is idempotent, and the usual re-spellings of an
		// accepted host land on the same target: these are the bypasses.
		for _, v := range []string{tg.Host, strings.ToUpper(tg.Host)} {
			if tg.IP.Is6() {
				v = "[" + v + "]"
			}
			again, err := NormalizeTarget(v, port)
			if err != nil || again != tg {
				t.Fatalf("%q -> %+v, but %q -> %+v, %v", host, tg, v, again, err)
			}
		}
		if !tg.IP.IsValid() {
			again, err := NormalizeTarget(tg.Host+".", port)
			if err != nil || again != tg {
				t.Fatalf("trailing dot: %q -> %+v, %v; want %+v", tg.Host+".", again, err, tg)
			}
		}
		if p, err := ParseTarget(tg.String()); err != nil || p != tg {
			t.Fatalf("ParseTarget(%q) = %+v, %v; want %+v", tg.String(), p, err, tg)
		}
	})
}
