package h1

import "testing"

func TestParseConnectResponse(t *testing.T) {
	for in, want := range map[string]string{
		`HTTP/1.1 200 Connection Established\r\nProxy-agent: nginx\r\n\r\n`: "HTTP/1.1 200 Connection Established\r\nProxy-agent: nginx\r\n\r\n",
		"HTTP/1.1 200 OK": "HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.0 200 Connection established\nVia: 1.1 edge\n": "HTTP/1.0 200 Connection established\r\nVia: 1.1 edge\r\n\r\n",
	} {
		got, err := ParseConnectResponse(in)
		if err != nil || string(got) != want {
			t.Errorf("ParseConnectResponse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{
		"", "HTTP/1.1 204 No Content", "HTTP/1.1 200 OK\r\nContent-Length: 0", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked",
		"HTTP/1.1 200 OK\nConnection: close", "SSH-2.0-OpenSSH", "HTTP/1.1 200 OK\nbad header", "HTTP/1.1 200 OK\n\nbody",
	} {
		if got, err := ParseConnectResponse(bad); err == nil {
			t.Errorf("ParseConnectResponse(%q) accepted: %q", bad, got)
		}
	}
}
