package h1

import "testing"

var okAuthorities = []struct {
	name string
	in   string
	host string
	port uint16
}{
	{"RFC9112-3.2.3/reg-name", "example.com:443", "example.com", 443},
	{"RFC9112-3.2.3/single-label", "localhost:1", "localhost", 1},
	{"RFC9112-3.2.3/max-port", "h:65535", "h", 65535},
	{"RFC9112-3.2.3/leading-zero-port", "h:00443", "h", 443},
	{"RFC9112-3.2.3/trailing-dot-underscore", "_srv.a-b.example.:8443", "_srv.a-b.example.", 8443},
	{"RFC9112-3.2.3/punycode", "xn--bcher-kva.example:443", "xn--bcher-kva.example", 443},
	{"RFC3986-3.2.2/ipv4", "192.0.2.1:80", "192.0.2.1", 80},
	{"RFC3986-3.2.2/ipv6", "[2001:db8::1]:443", "2001:db8::1", 443},
	{"RFC3986-3.2.2/ipv6-loopback", "[::1]:22", "::1", 22},
	{"RFC3986-3.2.2/ipv6-v4-suffix", "[::ffff:192.0.2.1]:443", "::ffff:192.0.2.1", 443},
}

var badAuthorities = []struct{ name, in string }{
	{"nginx-tunnel.t/path", "h:443/"},
	{"nginx-tunnel.t/query", "h:443?"},
	{"nginx-tunnel.t/fragment", "h:443#"},
	{"nginx-tunnel.t/userinfo", "u:p@h:443"},
	{"nginx-tunnel.t/scheme", "http://h:443"},
	{"nginx-tunnel.t/no-colon", "h"},
	{"nginx-tunnel.t/empty-port", "h:"},
	{"nginx-tunnel.t/empty-host", ":443"},
	{"nginx-tunnel.t/colon-only", ":"},
	{"nginx-tunnel.t/port-65536", "h:65536"},
	{"nginx-tunnel.t/port-not-numeric", "h:abc"},
	{"RFC9110-9.3.6/port-zero", "h:0"},
	{"RFC9110-9.3.6/ipv6-no-port", "[::1]"},
	{"RFC9110-9.3.6/ipv6-empty-port", "[::1]:"},
	{"RFC9110-9.3.6/empty", ""},
	{"RFC3986-3.2.2/ipv6-unbracketed", "::1:443"},
	{"RFC3986-3.2.2/ipv6-zone", "[fe80::1%25eth0]:443"},
	{"RFC3986-3.2.2/ipv4-in-brackets", "[192.0.2.1]:80"},
	{"RFC3986-3.2.2/empty-brackets", "[]:80"},
	{"RFC3986-3.2.2/unclosed-bracket", "[::1:443"},
	{"RFC3986-3.2.2/junk-after-bracket", "[::1]x:443"},
	{"RFC3986-3.2.3/port-sign", "h:+443"},
	{"RFC3986-3.2.3/port-negative", "h:-1"},
	{"RFC3986-3.2.3/port-too-many-digits", "h:000443"},
	{"RFC3986-3.2.3/two-ports", "h:1:2"},
	{"RFC3986-3.2.3/space-in-port", "h:443 "},
	{"RFC3986-3.2.2/space-in-host", "ex ample:443"},
	{"RFC3986-3.2.2/percent-in-host", "ex%41mple:443"},
	{"RFC3986-3.2.2/host-too-long", longHost + ":443"},
}

var longHost = func() string {
	b := make([]byte, maxHostLen+1)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}()

func TestParseAuthority(t *testing.T) {
	for _, tt := range okAuthorities {
		t.Run(tt.name, func(t *testing.T) {
			host, port, err := ParseAuthority(tt.in)
			if err != nil || host != tt.host || port != tt.port {
				t.Errorf("ParseAuthority(%q) = %q, %d, %v; want %q, %d, nil", tt.in, host, port, err, tt.host, tt.port)
			}
		})
	}
	for _, tt := range badAuthorities {
		t.Run(tt.name, func(t *testing.T) {
			host, port, err := ParseAuthority(tt.in)
			if codeOf(err) != 400 || host != "" || port != 0 {
				t.Errorf("ParseAuthority(%q) = %q, %d, %v; want a 400 StatusError", tt.in, host, port, err)
			}
		})
	}
}

// TestConnectAuthorityChecklist runs the nginx tunnel.t authority vectors
// through ParseRequest, as a client would send them (checklist item 9).
func TestConnectAuthorityChecklist(t *testing.T) {
	for _, tt := range badAuthorities {
		if tt.in == "" {
			continue
		}
		in := "CONNECT " + tt.in + " HTTP/1.1\r\nHost: h\r\n\r\n"
		if _, _, err := ParseRequest([]byte(in), Limits{}); codeOf(err) != 400 {
			t.Errorf("%s: got %v; want 400", tt.name, err)
		}
	}
}

func BenchmarkParseAuthority(b *testing.B) {
	for _, s := range []string{"www.example.com:443", "[2001:db8::1]:443"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				if _, _, err := ParseAuthority(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
