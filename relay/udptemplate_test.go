package relay

import "testing"

func TestUDPTemplateMatch(t *testing.T) {
	for _, tc := range []struct {
		tmpl, target string
		host         string
		port         uint16
		ok           bool
	}{
		{DefaultUDPTemplate, "/.well-known/masque/udp/example.com/443/", "example.com", 443, true},
		{DefaultUDPTemplate, "/.well-known/masque/udp/192.0.2.6/53/", "192.0.2.6", 53, true},
		{DefaultUDPTemplate, "/.well-known/masque/udp/2001%3Adb8%3A%3A1/443/", "2001:db8::1", 443, true}, // RFC 9298 section 2
		{DefaultUDPTemplate, "/.well-known/masque/udp/example.com/0/", "", 0, false},
		{DefaultUDPTemplate, "/.well-known/masque/udp/example.com/65536/", "", 0, false},
		{DefaultUDPTemplate, "/.well-known/masque/udp/example.com/", "", 0, false},
		{DefaultUDPTemplate, "/index.html", "", 0, false},
		{"/masque?h={target_host}&p={target_port}", "/masque?h=example.com&p=443", "example.com", 443, true},
		{"/masque{?target_host,target_port}", "/masque?target_host=example.com&target_port=8443", "example.com", 8443, true},
		{"/masque{?target_host,target_port}", "/masque?target_host=2001%3Adb8%3A%3A1&target_port=443", "2001:db8::1", 443, true},
		{"https://proxy.example/masque/{target_host}/{target_port}", "/masque/example.com/443", "example.com", 443, true},
	} {
		u, err := ParseUDPTemplate(tc.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tc.tmpl, err)
		}
		host, port, ok := u.Match(tc.target)
		if host != tc.host || port != tc.port || ok != tc.ok {
			t.Errorf("%s on %s = %q %d %v; want %q %d %v", tc.tmpl, tc.target, host, port, ok, tc.host, tc.port, tc.ok)
		}
	}
	for _, bad := range []string{"/masque/{target_host}", "masque/{target_host}/{target_port}", "/{target_host/{target_port}", "https://proxy.example"} {
		if _, err := ParseUDPTemplate(bad); err == nil {
			t.Errorf("ParseUDPTemplate(%q) accepted", bad)
		}
	}
}
