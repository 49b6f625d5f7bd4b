package h1

import (
	"strings"
	"testing"
)

func TestSniffRequestLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Sniff
	}{
		{"go-transport-connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", SniffHTTP1},
		{"get-origin-form", "GET / HTTP/1.1\r\n", SniffHTTP1},
		{"http-1.0", "GET http://example.com/ HTTP/1.0\r\n", SniffHTTP1},
		{"RFC9113-3.4/preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", SniffOther},
		{"h2spec-invalid-preface", "INVALID CONNECTION PREFACE\r\n\r\n", SniffOther},
		{"binary", "\x00\x00\x12\x04\x00\x00\x00\x00\x00", SniffOther},
		{"leading-space", " GET / HTTP/1.1\r\n", SniffOther},
		{"two-spaces", "GET  / HTTP/1.1\r\n", SniffOther},
		{"http-2-version", "GET / HTTP/2\r\n", SniffOther},
		{"endless-method", strings.Repeat("A", maxSniff+1), SniffOther},
		{"endless-target", "GET /" + strings.Repeat("a", maxSniff), SniffOther},
	} {
		if got := SniffRequestLine([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: SniffRequestLine(%.40q) = %d, want %d", tc.name, tc.in, got, tc.want)
		}
		if tc.want == SniffHTTP1 || tc.name == "RFC9113-3.4/preface" {
			// Every proper prefix up to the decisive byte asks for more.
			decisive := strings.Index(tc.in, "HTTP/") + len("HTTP/1")
			for i := 0; i < decisive && i < len(tc.in); i++ {
				if got := SniffRequestLine([]byte(tc.in[:i])); got != SniffMore {
					t.Errorf("%s: prefix %q = %d, want SniffMore", tc.name, tc.in[:i], got)
				}
			}
		}
	}
}
