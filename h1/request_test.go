package h1

import (
	"bufio"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// okRequest is a golden vector that must parse. n is the head length when
// in carries bytes after the head (0 means len(in)).
type okRequest struct {
	name string
	in   string
	n    int
	want Request
}

var okRequests = []okRequest{
	// Heads captured from real clients on this machine (curl 7.88.1 with
	// -x, Go 1.26 net/http.Transport with a proxy URL carrying userinfo).
	{
		name: "RFC9110-9.3.6/curl-7.88.1-connect",
		in:   "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n",
		want: Request{Method: "CONNECT", Target: "example.com:443", Form: FormAuthority, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "example.com:443"}, {"User-Agent", "curl/7.88.1"}, {"Proxy-Connection", "Keep-Alive"}},
			Host:   "example.com:443", ContentLength: -1},
	},
	{
		name: "RFC9110-9.3.6/curl-7.88.1-connect-ipv6",
		in:   "CONNECT [2001:db8::1]:8080 HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\nUser-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n",
		want: Request{Method: "CONNECT", Target: "[2001:db8::1]:8080", Form: FormAuthority, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "[2001:db8::1]:8080"}, {"User-Agent", "curl/7.88.1"}, {"Proxy-Connection", "Keep-Alive"}},
			Host:   "[2001:db8::1]:8080", ContentLength: -1},
	},
	{
		name: "RFC9112-3.2.2/curl-7.88.1-absolute-form",
		in:   "GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n",
		want: Request{Method: "GET", Target: "http://example.com/x", Form: FormAbsolute, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "example.com"}, {"User-Agent", "curl/7.88.1"}, {"Accept", "*/*"}, {"Proxy-Connection", "Keep-Alive"}},
			Host:   "example.com", ContentLength: -1},
	},
	{
		name: "RFC9110-11.7.2/go-net-http-connect-with-credentials",
		in:   "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: Go-http-client/1.1\r\nProxy-Authorization: Basic dTpw\r\n\r\n",
		want: Request{Method: "CONNECT", Target: "example.com:443", Form: FormAuthority, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "example.com:443"}, {"User-Agent", "Go-http-client/1.1"}, {"Proxy-Authorization", "Basic dTpw"}},
			Host:   "example.com:443", ContentLength: -1, ProxyAuthorization: "Basic dTpw"},
	},
	{
		name: "RFC9112-3.2.2/go-net-http-absolute-form",
		in:   "GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\nProxy-Authorization: Basic dTpw\r\n\r\n",
		want: Request{Method: "GET", Target: "http://example.com/a?b", Form: FormAbsolute, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "example.com"}, {"User-Agent", "Go-http-client/1.1"}, {"Accept-Encoding", "gzip"},
				{"Proxy-Authorization", "Basic dTpw"}},
			Host: "example.com", ContentLength: -1, ProxyAuthorization: "Basic dTpw"},
	},
	{
		name: "RFC9112-3.2.3/connect-authority-form",
		in:   "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		want: Request{Method: "CONNECT", Target: "example.com:443", Form: FormAuthority, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "example.com:443"}}, Host: "example.com:443", ContentLength: -1},
	},
	{
		name: "RFC9110-9.3.6/connect-without-host",
		in:   "CONNECT 192.0.2.1:8443 HTTP/1.1\r\n\r\n",
		want: Request{Method: "CONNECT", Target: "192.0.2.1:8443", Form: FormAuthority, ProtoMajor: 1, ProtoMinor: 1,
			ContentLength: -1},
	},
	{
		name: "RFC9112-3.2.3/connect-ipv6-literal",
		in:   "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n",
		want: Request{Method: "CONNECT", Target: "[2001:db8::1]:443", Form: FormAuthority, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "[2001:db8::1]:443"}}, Host: "[2001:db8::1]:443", ContentLength: -1},
	},
	{
		name: "RFC9110-9.3.6/connect-pipelined-tunnel-bytes",
		in:   "CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\nhello\r\n\x16\x03\x01",
		n:    len("CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n"),
		want: Request{Method: "CONNECT", Target: "h.example:443", Form: FormAuthority, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "h.example:443"}}, Host: "h.example:443", ContentLength: -1},
	},
	{
		name: "RFC9110-11.7.1/connect-proxy-authorization",
		in: "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nUser-Agent: curl/8.5.0\r\n" +
			"Proxy-Authorization: Basic dTpw\r\nProxy-Connection: Keep-Alive\r\n\r\n",
		want: Request{Method: "CONNECT", Target: "h:443", Form: FormAuthority, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "h:443"}, {"User-Agent", "curl/8.5.0"}, {"Proxy-Authorization", "Basic dTpw"},
				{"Proxy-Connection", "Keep-Alive"}},
			Host: "h:443", ContentLength: -1, ProxyAuthorization: "Basic dTpw"},
	},
	{
		name: "RFC9112-2.2/leading-empty-lines-skipped",
		in:   "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		want: Request{Method: "GET", Target: "/", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "a"}}, Host: "a", ContentLength: -1},
	},
	{
		name: "RFC9112-3.2.2/absolute-form",
		in:   "GET http://example.com/x?y=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
		want: Request{Method: "GET", Target: "http://example.com/x?y=1", Form: FormAbsolute, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "example.com"}, {"Accept", "*/*"}}, Host: "example.com", ContentLength: -1},
	},
	{
		name: "RFC9112-6.2/content-length-body-follows",
		in:   "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
		n:    len("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"),
		want: Request{Method: "POST", Target: "/f", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "a"}, {"Content-Length", "5"}}, Host: "a", ContentLength: 5},
	},
	{
		name: "RFC9110-8.6/content-length-identical-list-and-duplicate",
		in:   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\ncontent-length:5\r\n\r\n",
		want: Request{Method: "POST", Target: "/", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "a"}, {"Content-Length", "5, 5"}, {"content-length", "5"}}, Host: "a", ContentLength: 5},
	},
	{
		name: "RFC9112-7/chunked",
		in:   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		n:    len("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"),
		want: Request{Method: "POST", Target: "/", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "a"}, {"Transfer-Encoding", "Chunked"}}, Host: "a", ContentLength: -1, Chunked: true},
	},
	{
		name: "RFC9112-9.3/http10-closes-by-default",
		in:   "GET / HTTP/1.0\r\n\r\n",
		want: Request{Method: "GET", Target: "/", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 0, ContentLength: -1, Close: true},
	},
	{
		name: "RFC9112-9.3/http10-keep-alive",
		in:   "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		want: Request{Method: "GET", Target: "/", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 0,
			Fields: []Field{{"Connection", "Keep-Alive"}}, ContentLength: -1},
	},
	{
		name: "RFC9112-9.6/connection-close-in-list",
		in:   "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive , CLOSE\r\n\r\n",
		want: Request{Method: "GET", Target: "/", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "a"}, {"Connection", "keep-alive , CLOSE"}}, Host: "a", ContentLength: -1, Close: true},
	},
	{
		name: "RFC9112-3.2.4/asterisk-form-options",
		in:   "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		want: Request{Method: "OPTIONS", Target: "*", Form: FormAsterisk, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "a"}}, Host: "a", ContentLength: -1},
	},
	{
		name: "RFC9110-9.1/unknown-method-token",
		in:   "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n",
		want: Request{Method: "BREW", Target: "/pot", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "a"}}, Host: "a", ContentLength: -1},
	},
	{
		name: "RFC9112-5.1/ows-trimmed-empty-value-obs-text",
		in:   "GET / HTTP/1.1\r\nHOST: \t a.example  \t\r\nX-Empty:\r\nX-Latin: caf\xe9\r\n\r\n",
		want: Request{Method: "GET", Target: "/", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"HOST", "a.example"}, {"X-Empty", ""}, {"X-Latin", "caf\xe9"}}, Host: "a.example", ContentLength: -1},
	},
	{
		name: "RFC9298-3.3/upgrade-connect-udp",
		in: "GET /.well-known/masque/udp/192.0.2.6/443/ HTTP/1.1\r\nHost: proxy.example\r\n" +
			"Connection: Upgrade\r\nUpgrade: connect-udp\r\nCapsule-Protocol: ?1\r\n\r\n",
		want: Request{Method: "GET", Target: "/.well-known/masque/udp/192.0.2.6/443/", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "proxy.example"}, {"Connection", "Upgrade"}, {"Upgrade", "connect-udp"}, {"Capsule-Protocol", "?1"}},
			Host:   "proxy.example", ContentLength: -1, Upgrade: "connect-udp"},
	},
	{
		name: "RFC9110-9.3.6/connect-http10-parses",
		in:   "CONNECT h:443 HTTP/1.0\r\n\r\n",
		want: Request{Method: "CONNECT", Target: "h:443", Form: FormAuthority, ProtoMajor: 1, ProtoMinor: 0,
			ContentLength: -1, Close: true},
	},
	{
		name: "RFC9112-3.2/empty-host-allowed",
		in:   "GET / HTTP/1.1\r\nHost:\r\n\r\n",
		want: Request{Method: "GET", Target: "/", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", ""}}, ContentLength: -1},
	},
	{
		name: "RFC9112-6.3/content-length-zero",
		in:   "PUT /x HTTP/1.1\r\nHost: a:8080\r\nContent-Length: 0\r\n\r\n",
		want: Request{Method: "PUT", Target: "/x", Form: FormOrigin, ProtoMajor: 1, ProtoMinor: 1,
			Fields: []Field{{"Host", "a:8080"}, {"Content-Length", "0"}}, Host: "a:8080", ContentLength: 0},
	},
}

// badRequest is a golden vector that must fail with code (optionally
// under lim instead of the defaults).
type badRequest struct {
	name string
	in   string
	code int
	lim  Limits
}

var badRequests = []badRequest{
	// RFC 9112 section 2.2: line endings.
	{"RFC9112-2.2/bare-LF-request-line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-2.2/bare-LF-field-line", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400, Limits{}},
	{"RFC9112-2.2/bare-LF-empty-line", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, Limits{}},
	{"RFC9112-2.2/bare-LF-leading", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-2.2/bare-CR-leading", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-2.2/bare-CR-in-value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, Limits{}},
	{"RFC9112-2.2/whitespace-before-first-field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-2.2/tls-clienthello-prefix", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, Limits{}},
	// RFC 9112 section 3: request line.
	{"RFC9112-3/double-space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-3/tab-separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-3/trailing-space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-3/empty-method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-3/method-not-token", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-3/http09-no-version", "GET /\r\n\r\n", 400, Limits{}},
	{"RFC9112-3/only-method", "GET\r\n\r\n", 400, Limits{}},
	{"RFC9112-3/ctl-in-target", "GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2/fragment-in-target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-2.3/lowercase-version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-2.3/short-version", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-2.3/two-digit-major", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-2.3/http-2.0-is-505", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, Limits{}},
	{"RFC9112-2.3/http-1.2-is-505", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, Limits{}},
	{"RFC9112-2.3/http-0.9-is-505", "GET / HTTP/0.9\r\n\r\n", 505, Limits{}},
	{"RFC9112-2.3/http-3.0-connect-is-505", "CONNECT h:443 HTTP/3.0\r\n\r\n", 505, Limits{}},
	{"RFC9112-3/request-line-too-long", "GET /" + strings.Repeat("a", 8192) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, Limits{}},
	{"RFC9112-3/request-line-too-long-unfinished", "GET /" + strings.Repeat("a", 8200), 414, Limits{}},
	{"RFC9112-3/request-line-too-long-small-limit", "GET /0123456789abcdef HTTP/1.1\r\n", 414, Limits{MaxRequestLine: 16}},
	// RFC 9112 section 3.2: target forms.
	{"RFC9112-3.2.3/connect-origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2.3/connect-absolute-form", "CONNECT http://h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2.3/connect-no-port", "CONNECT h HTTP/1.1\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2.3/connect-userinfo", "CONNECT u:p@h:443 HTTP/1.1\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2.3/connect-asterisk", "CONNECT * HTTP/1.1\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2.3/authority-form-with-get", "GET example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2.4/asterisk-form-with-get", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2/relative-target", "GET x/y HTTP/1.1\r\nHost: a\r\n\r\n", 400, Limits{}},
	// RFC 9112 section 3.2: Host.
	{"RFC9112-3.2/missing-host", "GET / HTTP/1.1\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2/missing-host-absolute-form", "GET http://a/ HTTP/1.1\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2/two-host-fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2/two-host-fields-connect", "CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\nhost: h:1\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2/host-with-path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, Limits{}},
	{"RFC9112-3.2/host-with-userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, Limits{}},
	// RFC 9112 section 5: field lines.
	{"RFC9112-5.1/space-before-colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, Limits{}},
	{"RFC9112-5.1/te-space-before-colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400, Limits{}},
	{"RFC9112-5.1/empty-name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400, Limits{}},
	{"RFC9112-5.1/no-colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, Limits{}},
	{"RFC9112-5.1/name-not-token", "GET / HTTP/1.1\r\nHo\"st: a\r\n\r\n", 400, Limits{}},
	{"RFC9112-5.2/obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, Limits{}},
	{"RFC9112-5.2/obs-fold-tab", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", 400, Limits{}},
	{"RFC9110-5.5/nul-in-value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400, Limits{}},
	{"RFC9110-5.5/del-in-value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", 400, Limits{}},
	{"RFC9110-5.5/ctl-in-value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x0bb\r\n\r\n", 400, Limits{}},
	{"RFC9110-11.7.2/two-proxy-authorization", "CONNECT h:1 HTTP/1.1\r\nProxy-Authorization: a\r\nProxy-Authorization: b\r\n\r\n", 400, Limits{}},
	{"RFC9112-5/head-too-large", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 300) + "\r\n\r\n", 431, smallLimits},
	{"RFC9112-5/head-too-large-unfinished", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 300), 431, smallLimits},
	{"RFC9112-5/head-too-large-default", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 66), 431, Limits{}},
	{"RFC9112-5/leading-empty-lines-count", strings.Repeat("\r\n", 200), 431, smallLimits},
	{"RFC9112-5/too-many-fields", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: 1\r\n", 100) + "\r\n", 431, Limits{}},
	{"RFC9112-5/too-many-fields-unfinished", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: 1\r\n", 99) + "Y", 431, Limits{}},
	// RFC 9112 section 6: message body framing.
	{"RFC9110-8.6/content-length-plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400, Limits{}},
	{"RFC9110-8.6/content-length-minus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, Limits{}},
	{"RFC9110-8.6/content-length-hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400, Limits{}},
	{"RFC9110-8.6/content-length-empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, Limits{}},
	{"RFC9110-8.6/content-length-inner-space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400, Limits{}},
	{"RFC9110-8.6/content-length-empty-element", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", 400, Limits{}},
	{"RFC9110-8.6/content-length-overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", 400, Limits{}},
	{"RFC9110-8.6/content-length-list-disagrees", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400, Limits{}},
	{"RFC9110-8.6/content-length-fields-disagree", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, Limits{}},
	{"RFC9112-6.1/te-and-cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, Limits{}},
	{"RFC9112-6.1/te-gzip-and-cl", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", 400, Limits{}},
	{"RFC9112-6.1/te-on-http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, Limits{}},
	{"RFC9112-6.1/te-gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, Limits{}},
	{"RFC9112-6.1/te-gzip-chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, Limits{}},
	{"RFC9112-6.1/te-chunked-twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501, Limits{}},
	{"RFC9112-6.1/te-two-fields", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501, Limits{}},
	{"RFC9112-6.1/te-identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501, Limits{}},
	{"RFC9112-6.1/te-chunked-junk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 501, Limits{}},
	{"RFC9110-9.3.6/connect-content-length", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nContent-Length: 5\r\n\r\n", 400, Limits{}},
	{"RFC9110-9.3.6/connect-content-length-zero", "CONNECT h:443 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400, Limits{}},
	{"RFC9110-9.3.6/connect-chunked", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nTransfer-Encoding: chunked\r\n\r\n", 400, Limits{}},
}

func TestParseRequestGolden(t *testing.T) {
	for _, tt := range okRequests {
		t.Run(tt.name, func(t *testing.T) {
			req, n, err := ParseRequest([]byte(tt.in), Limits{})
			if err != nil {
				t.Fatalf("ParseRequest: got err %v; want nil", err)
			}
			wantN := tt.n
			if wantN == 0 {
				wantN = len(tt.in)
			}
			if n != wantN {
				t.Errorf("got n=%d; want %d", n, wantN)
			}
			if !reflect.DeepEqual(req, tt.want) {
				t.Errorf("got  %+v\nwant %+v", req, tt.want)
			}
		})
	}
}

func TestParseRequestErrors(t *testing.T) {
	for _, tt := range badRequests {
		t.Run(tt.name, func(t *testing.T) {
			req, n, err := ParseRequest([]byte(tt.in), tt.lim)
			if got := codeOf(err); got != tt.code {
				t.Fatalf("got err %v (code %d); want code %d", err, got, tt.code)
			}
			if n != 0 || !reflect.DeepEqual(req, Request{}) {
				t.Errorf("got n=%d req=%+v; want zero values on error", n, req)
			}
		})
	}
}

// TestParseRequestPrefixes checks the every-prefix rule on every valid
// vector's head.
func TestParseRequestPrefixes(t *testing.T) {
	for _, tt := range okRequests {
		t.Run(tt.name, func(t *testing.T) {
			head := tt.in
			if tt.n > 0 {
				head = head[:tt.n]
			}
			checkPrefixes(t, head, func(b []byte) (int, error) {
				_, n, err := ParseRequest(b, Limits{})
				return n, err
			})
		})
	}
}

// TestParseRequestErrorPrefixes checks that a prefix of an invalid head
// never gets a different verdict than the whole: it is either unfinished
// or already fails with the same code. Otherwise a client could pick the
// status by choosing its segment boundaries.
func TestParseRequestErrorPrefixes(t *testing.T) {
	for _, tt := range badRequests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < len(tt.in); i = nextPrefix(i, len(tt.in)) {
				_, n, err := ParseRequest([]byte(tt.in[:i]), tt.lim)
				if errors.Is(err, ErrNeedMore) {
					continue
				}
				if got := codeOf(err); got != tt.code || n != 0 {
					t.Fatalf("prefix %q: got n=%d err=%v; want ErrNeedMore or code %d", tt.in[:i], n, err, tt.code)
				}
			}
		})
	}
}

// TestParseRequestExtraBytes checks that what follows a head never changes
// how the head parses.
func TestParseRequestExtraBytes(t *testing.T) {
	for _, tt := range okRequests {
		want, wantN, _ := ParseRequest([]byte(tt.in), Limits{})
		for _, extra := range []string{"\r\n", "\n", "GET / HTTP/1.1\r\n", "\x00\xff"} {
			got, n, err := ParseRequest([]byte(tt.in+extra), Limits{})
			if err != nil || n != wantN || !reflect.DeepEqual(got, want) {
				t.Errorf("%s + %q: got n=%d err=%v; want n=%d", tt.name, extra, n, err, wantN)
			}
		}
	}
}

// TestParseRequestNoAlias checks that the Request owns its strings: the
// engine hands the parser borrowed bytes that gnet reuses.
func TestParseRequestNoAlias(t *testing.T) {
	b := []byte("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n")
	req, _, err := ParseRequest(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if req.Target != "h:443" || req.Host != "h:443" || req.ProxyAuthorization != "Basic dTpw" || req.Fields[0].Name != "Host" {
		t.Errorf("request changed with its input: %+v", req)
	}
}

func TestRequestGet(t *testing.T) {
	req, _, err := ParseRequest([]byte("GET / HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, want string }{{"X-DUP", "1"}, {"host", "a"}, {"missing", ""}, {"\u212a", ""}} {
		if got := req.Get(tt.name); got != tt.want {
			t.Errorf("Get(%q) = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestDefaultLimits(t *testing.T) {
	want := Limits{MaxRequestLine: 8192, MaxHeaderBytes: 65536, MaxFields: 100}
	if got := DefaultLimits(); got != want {
		t.Errorf("DefaultLimits() = %+v; want %+v", got, want)
	}
	if got := (Limits{}).orDefault(); got != want {
		t.Errorf("Limits{} means %+v; want %+v", got, want)
	}
	// Exactly at the limits is allowed.
	line := "GET /" + strings.Repeat("a", 8192-len("GET / HTTP/1.1")) + " HTTP/1.1"
	if _, _, err := ParseRequest([]byte(line+"\r\nHost: a\r\n\r\n"), Limits{}); err != nil {
		t.Errorf("request line of exactly MaxRequestLine: %v", err)
	}
	head := "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: 1\r\n", 99) + "\r\n"
	if _, _, err := ParseRequest([]byte(head), Limits{}); err != nil {
		t.Errorf("exactly MaxFields fields: %v", err)
	}
	pad := 65536 - len("GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n")
	head = "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("p", pad) + "\r\n\r\n"
	if _, n, err := ParseRequest([]byte(head+"extra"), Limits{}); err != nil || n != 65536 {
		t.Errorf("head of exactly MaxHeaderBytes: n=%d err=%v", n, err)
	}
}

var benchConnect = []byte("CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\r\n" +
	"Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic dXNlcjpwYXNzd29yZA==\r\n\r\n")

var benchGet = []byte("GET http://www.example.com/index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nProxy-Connection: keep-alive\r\n" +
	"Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\nUpgrade-Insecure-Requests: 1\r\n\r\n")

func BenchmarkParseRequest(b *testing.B) {
	for _, bb := range []struct {
		name string
		in   []byte
	}{{"connect", benchConnect}, {"get-absolute", benchGet}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.in)))
			for b.Loop() {
				if _, _, err := ParseRequest(bb.in, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNetHTTPReadRequest is the baseline: what the Go peers pay per
// CONNECT head (bufio.Reader set-up included, as net/http pays it per
// connection).
func BenchmarkNetHTTPReadRequest(b *testing.B) {
	r := strings.NewReader("")
	br := bufio.NewReader(r)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchConnect)))
	for b.Loop() {
		r.Reset(string(benchConnect))
		br.Reset(r)
		if _, err := http.ReadRequest(br); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTargetFormString(t *testing.T) {
	for f, want := range map[TargetForm]string{FormOrigin: "origin-form", FormAbsolute: "absolute-form",
		FormAuthority: "authority-form", FormAsterisk: "asterisk-form", 9: "unknown-form"} {
		if got := f.String(); got != want {
			t.Errorf("%d.String() = %q; want %q", f, got, want)
		}
	}
}
