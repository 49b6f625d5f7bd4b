package acl

import "testing"

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      string
		allowed []uint16
		denied  []uint16
		text    string
	}{
		{DefaultPorts, []uint16{443, 563}, []uint16{0, 22, 25, 80, 442, 444, 8443, 65535}, "443,563"},
		{"443, 8000-8100", []uint16{443, 8000, 8050, 8100}, []uint16{7999, 8101, 0}, "443,8000-8100"},
		{"all", []uint16{1, 22, 443, 65535}, []uint16{0}, "all"},
		{"ALL,443", []uint16{1, 65535}, []uint16{0}, "all"},
		{"1-65535", []uint16{1, 64, 65535}, []uint16{0}, "1-65535"},
		{"63-65", []uint16{63, 64, 65}, []uint16{62, 66}, "63-65"},
	}
	for _, tt := range tests {
		p, err := ParsePorts(tt.in)
		if err != nil {
			t.Errorf("ParsePorts(%q): %v", tt.in, err)
			continue
		}
		for _, port := range tt.allowed {
			if !p.Allowed(port) {
				t.Errorf("%q: port %d denied", tt.in, port)
			}
		}
		for _, port := range tt.denied {
			if p.Allowed(port) {
				t.Errorf("%q: port %d allowed", tt.in, port)
			}
		}
		if p.String() != tt.text {
			t.Errorf("%q: String() = %q, want %q", tt.in, p.String(), tt.text)
		}
	}
	for _, bad := range []string{"", ",", "443,", "0", "65536", "-1", "10-5", "80-", "x", "443 563", "+443", "1-2-3"} {
		if _, err := ParsePorts(bad); err == nil {
			t.Errorf("ParsePorts(%q) accepted", bad)
		}
	}
	var zero Ports
	if zero.Allowed(443) {
		t.Error("zero Ports allows 443")
	}
}
