package main

// The differential prober: the same probes, none with credentials, against
// sluice under --probe-resistance (so --camouflage go) and against a plain
// Go server (net/http and quic-go's http3.Server with default options)
// serving the same site directory with the same handler and certificate.
// Everything a client observes is compared but dates and port numbers:
// status lines, header names, order and case, bodies, how and whether the
// conn ends, TLS parameters and alerts, HTTP/2 frames, HTTP/3 SETTINGS and
// responses. Every difference fails the test, by probe name, except the
// ones in proberKnown, each with its reason; a known difference that is
// gone fails the test too, so the list cannot rot.

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

type proberProbe struct {
	name string
	run  func(pt probeTarget) string
}

// proberKnown lists the differences not removed yet, by probe name, with
// why. Keep it short; the README's "Camouflage and padding" says the same.
var proberKnown = map[string]string{}

func h1Probes() []proberProbe {
	big := strings.Repeat("a", 100<<10)
	huge := strings.Repeat("a", 2<<20)
	const host = "Host: localhost\r\n"
	const cl = "Connection: close\r\n"
	reqs := []struct{ name, req string }{
		{"get-root", "GET / HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"head-root", "HEAD / HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"get-missing", "GET /missing.html HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"get-index-redirect", "GET /index.html HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"get-dir-no-slash", "GET /sub HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"get-range", "GET /sub/a.txt HTTP/1.1\r\n" + host + "Range: bytes=0-3\r\n" + cl + "\r\n"},
		{"pipelined-keepalive", "GET / HTTP/1.1\r\n" + host + "\r\nGET /sub/a.txt HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"keepalive-no-close", "GET /sub/a.txt HTTP/1.1\r\n" + host + "\r\n"},
		{"post-root", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\n" + cl + "\r\nabc"},
		{"options-star", "OPTIONS * HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"trace", "TRACE / HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"lowercase-method", "get / HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"http10-no-host", "GET / HTTP/1.0\r\n\r\n"},
		{"http11-no-host", "GET / HTTP/1.1\r\n" + cl + "\r\n"},
		{"two-hosts", "GET / HTTP/1.1\r\n" + host + "Host: other\r\n" + cl + "\r\n"},
		{"two-content-lengths", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
		{"same-content-lengths", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 3\r\n" + cl + "\r\nabc"},
		{"bad-content-length", "POST / HTTP/1.1\r\n" + host + "Content-Length: abc\r\n\r\n"},
		{"bad-chunk-size", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n" + cl + "\r\nzz\r\nabc\r\n0\r\n\r\n"},
		{"te-and-cl", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n" + cl + "\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"te-gzip", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n" + cl + "\r\n"},
		{"bare-lf", "GET / HTTP/1.1\n" + "Host: localhost\nConnection: close\n\n"},
		{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X-A: a\r\n  b\r\n" + cl + "\r\n"},
		{"space-before-colon", "GET / HTTP/1.1\r\nHost : localhost\r\n" + cl + "\r\n"},
		{"bad-header-name", "GET / HTTP/1.1\r\n" + host + "X(A): 1\r\n" + cl + "\r\n"},
		{"nul-in-value", "GET / HTTP/1.1\r\n" + host + "X-A: a\x00b\r\n" + cl + "\r\n"},
		{"header-100k", "GET / HTTP/1.1\r\n" + host + "X-Big: " + big + "\r\n" + cl + "\r\n"},
		{"header-2m", "GET / HTTP/1.1\r\n" + host + "X-Big: " + huge + "\r\n" + cl + "\r\n"},
		{"fields-150", "GET / HTTP/1.1\r\n" + host + strings.Repeat("X-F: v\r\n", 150) + cl + "\r\n"},
		{"uri-20k", "GET /" + strings.Repeat("a", 20<<10) + " HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"version-2.0", "GET / HTTP/2.0\r\n" + host + cl + "\r\n"},
		{"version-garbage", "GET / HTTP/1.x\r\n" + host + cl + "\r\n"},
		{"http09", "GET /\r\n\r\n"},
		{"bad-method", "G(T / HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"double-space", "GET  / HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"leading-crlf", "\r\nGET / HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"garbage", "\x00\x01\x02garbage\r\n\r\n"},
		{"path-traversal", "GET /../../etc/passwd HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"expect-100", "POST / HTTP/1.1\r\n" + host + "Expect: 100-continue\r\nContent-Length: 3\r\n" + cl + "\r\nabc"},
		{"websocket-upgrade", "GET / HTTP/1.1\r\n" + host + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"},
		{"h2c-upgrade", "GET / HTTP/1.1\r\n" + host + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"},
		{"connect-no-creds", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
		{"connect-wrong-creds", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic " + basic("probe", "wrong") + "\r\n\r\n"},
		{"connect-origin-form", "CONNECT / HTTP/1.1\r\n" + host + cl + "\r\n"},
		{"absolute-uri-no-creds", "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n" + cl + "\r\n"},
		{"absolute-uri-https", "GET https://example.com/sub/a.txt HTTP/1.1\r\nHost: example.com\r\n" + cl + "\r\n"},
		{"absolute-uri-wrong-creds", "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nProxy-Authorization: Basic " + basic("probe", "wrong") + "\r\n" + cl + "\r\n"},
		{"connect-udp-upgrade", "GET /.well-known/masque/udp/192.0.2.1/53/ HTTP/1.1\r\n" + host + "Connection: Upgrade\r\nUpgrade: connect-udp\r\nCapsule-Protocol: ?1\r\n\r\n"},
	}
	// Requests cut short by the client's FIN: a Go server answers what it
	// has (400 after a request line) or closes, and on the plain port it
	// first waits for the 14 bytes of its h2c peek, or for the FIN.
	finReqs := []struct{ name, req string }{
		{"partial-line-fin", "GET /"},
		{"request-line-fin", "GET / HTTP/1.1\r\n"},
		{"partial-head-fin", "GET / HTTP/1.1\r\n" + host},
		{"short-garbage-fin", "\x16\x03\x01\x00"},
		{"http09-fin", "GET /\r\n"},
		{"pri-line-fin", "PRI * HTTP/2.0\r\n"},
	}
	var ps []proberProbe
	for _, r := range reqs {
		ps = append(ps, proberProbe{"h1/" + r.name, func(pt probeTarget) string { return h1Probe(pt, false, false, r.req) }})
	}
	for _, r := range reqs {
		switch r.name {
		case "get-root", "bad-chunk-size", "bare-lf", "connect-no-creds", "absolute-uri-no-creds", "two-content-lengths", "absolute-uri-https":
			ps = append(ps, proberProbe{"h1-tls/" + r.name, func(pt probeTarget) string { return h1Probe(pt, true, false, r.req) }})
		}
	}
	for _, r := range finReqs {
		ps = append(ps, proberProbe{"h1/" + r.name, func(pt probeTarget) string { return h1Probe(pt, false, true, r.req) }})
		ps = append(ps, proberProbe{"h1-tls/" + r.name, func(pt probeTarget) string { return h1Probe(pt, true, true, r.req) }})
	}
	// The plain port's h2c peek: Go waits for its 14 or 24 bytes.
	for _, r := range []struct{ name, req string }{{"pri-line-then-silence", "PRI * HTTP/2.0\r\n"}, {"short-garbage-then-silence", "\x16\x03\x01\x00"}} {
		ps = append(ps, proberProbe{"h1/" + r.name, func(pt probeTarget) string { return h1Probe(pt, false, false, r.req) }})
	}
	return ps
}

func rawFrameHeader(length int, typ http2.FrameType, flags http2.Flags, id uint32) []byte {
	b := []byte{byte(length >> 16), byte(length >> 8), byte(length), byte(typ), byte(flags), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[5:], id)
	return b
}

func h2Probes() []proberProbe {
	preface := func(more ...[]byte) []byte {
		b := []byte(http2.ClientPreface)
		for _, m := range more {
			b = append(b, m...)
		}
		return b
	}
	emptySettings := rawFrameHeader(0, http2.FrameSettings, 0, 0)
	scripts := []struct {
		name string
		s    h2Script
	}{
		{"preface-only", h2Script{keepPreface: true}},
		{"get-root", h2Script{frames: func(w *h2Writer) { w.get(1, "/") }, await: []uint32{1}}},
		{"head-root", h2Script{frames: func(w *h2Writer) {
			w.request(1, true, ":method", "HEAD", ":scheme", "https", ":authority", "localhost", ":path", "/")
		}, await: []uint32{1}}},
		{"get-missing", h2Script{frames: func(w *h2Writer) { w.get(1, "/missing.html") }, await: []uint32{1}}},
		{"get-two-streams", h2Script{frames: func(w *h2Writer) { w.get(1, "/sub/a.txt"); w.get(3, "/sub/") }, await: []uint32{1, 3}, concurrent: true}},
		{"post-body", h2Script{frames: func(w *h2Writer) {
			w.request(1, false, ":method", "POST", ":scheme", "https", ":authority", "localhost", ":path", "/", "content-length", "3")
			_ = w.fr.WriteData(1, true, []byte("abc"))
		}, await: []uint32{1}}},
		{"post-body-pending", h2Script{frames: func(w *h2Writer) {
			w.request(1, false, ":method", "POST", ":scheme", "https", ":authority", "localhost", ":path", "/", "content-length", "5")
		}, await: []uint32{1}}},
		{"post-body-short", h2Script{frames: func(w *h2Writer) {
			w.request(1, false, ":method", "POST", ":scheme", "https", ":authority", "localhost", ":path", "/", "content-length", "5")
		}, await: []uint32{1}, then: func(w *h2Writer) { _ = w.fr.WriteData(1, true, []byte("abc")) }}},
		{"connect-no-creds", h2Script{frames: func(w *h2Writer) {
			w.request(1, false, ":method", "CONNECT", ":authority", "example.com:443")
		}, await: []uint32{1}}},
		{"connect-wrong-creds", h2Script{frames: func(w *h2Writer) {
			w.request(1, false, ":method", "CONNECT", ":authority", "example.com:443", "proxy-authorization", "Basic "+basic("probe", "wrong"))
		}, await: []uint32{1}}},
		{"connect-udp-extended", h2Script{frames: func(w *h2Writer) {
			w.request(1, false, ":method", "CONNECT", ":protocol", "connect-udp", ":scheme", "https", ":authority", "localhost",
				":path", "/.well-known/masque/udp/192.0.2.1/53/", "capsule-protocol", "?1")
		}, await: []uint32{1}}},
		{"connect-with-path", h2Script{frames: func(w *h2Writer) {
			w.request(1, false, ":method", "CONNECT", ":authority", "example.com:443", ":path", "/", ":scheme", "https")
		}, await: []uint32{1}}},
		{"bad-preface", h2Script{raw: []byte("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")}},
		{"magic-only-then-silence", h2Script{raw: []byte(http2.ClientPreface), silent: true}},
		{"http1-on-h2", h2Script{raw: []byte("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")}},
		// HTTP/1.1 on ALPN h2, which sluice serves only to a proxy user
		// (Go's http.Transport to an HTTPS proxy): anyone else sees Go's
		// HTTP/2 refuse it.
		{"http1-short", h2Script{raw: []byte("GET / HTTP/1.0\r\n\r\n")}},
		{"http1-connect-no-creds", h2Script{raw: []byte("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")}},
		{"http1-connect-wrong-creds", h2Script{raw: []byte("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic " + basic("probe", "wrong") + "\r\n\r\n")}},
		{"http1-absolute-no-creds", h2Script{raw: []byte("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")}},
		{"http1-bad-head", h2Script{raw: []byte("GET / HTTP/1.1\r\nHost localhost\r\n\r\n")}},
		{"http1-partial-then-silence", h2Script{raw: []byte("GET / HT"), silent: true}},
		// A whole request line, then nothing: the head must come within
		// the grace, so HTTP/2 speaks (its SETTINGS, kept here) and
		// waits for the rest of the 24 bytes, as Go does.
		{"http1-line-then-silence", h2Script{raw: []byte("GET / HTTP/1.1\r\n"), silent: true, keepPreface: true}},
		{"http1-partial-fin", h2Script{raw: []byte("GET / HTTP/1.1\r\n"), fin: true}},
		{"silence-then-fin", h2Script{raw: []byte{}, fin: true}},
		{"first-frame-ping", h2Script{raw: preface(rawFrameHeader(8, http2.FramePing, 0, 0), make([]byte, 8))}},
		{"first-frame-settings-ack", h2Script{raw: preface(rawFrameHeader(0, http2.FrameSettings, http2.FlagSettingsAck, 0))}},
		{"settings-bad-length", h2Script{raw: preface(rawFrameHeader(5, http2.FrameSettings, 0, 0), make([]byte, 5))}},
		{"settings-on-stream", h2Script{raw: preface(rawFrameHeader(0, http2.FrameSettings, 0, 1))}},
		{"settings-ack-with-payload", h2Script{raw: preface(emptySettings, rawFrameHeader(6, http2.FrameSettings, http2.FlagSettingsAck, 0), make([]byte, 6))}},
		{"settings-enable-push-2", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 2})
		}}},
		{"settings-window-too-big", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
		}}},
		{"settings-frame-size-small", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 100})
		}}},
		{"settings-unknown-id", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WriteSettings(http2.Setting{ID: 0x99, Val: 1}, http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
		}}},
		{"unknown-frame-type", h2Script{frames: func(w *h2Writer) { _ = w.fr.WriteRawFrame(0xfa, 0, 0, []byte("hello")) }}},
		{"unknown-frame-on-stream", h2Script{frames: func(w *h2Writer) { _ = w.fr.WriteRawFrame(0xfb, 0xff, 7, []byte("hello")) }}},
		{"frame-over-max-size", h2Script{frames: func(w *h2Writer) {
			w.buf.Write(rawFrameHeader(1<<20+1, http2.FrameData, 0, 1))
			w.buf.Write(make([]byte, 1024))
		}}},
		{"frame-over-16k", h2Script{frames: func(w *h2Writer) { _ = w.fr.WriteRawFrame(0xfa, 0, 0, make([]byte, 20000)) }}},
		{"ping-bad-length", h2Script{frames: func(w *h2Writer) {
			w.buf.Write(rawFrameHeader(9, http2.FramePing, 0, 0))
			w.buf.Write(make([]byte, 9))
		}}},
		{"ping-on-stream", h2Script{frames: func(w *h2Writer) {
			w.buf.Write(rawFrameHeader(8, http2.FramePing, 0, 1))
			w.buf.Write(make([]byte, 8))
		}}},
		{"window-update-zero-conn", h2Script{frames: func(w *h2Writer) { _ = w.fr.WriteWindowUpdate(0, 0) }}},
		{"window-update-overflow", h2Script{frames: func(w *h2Writer) { _ = w.fr.WriteWindowUpdate(0, 1<<31-1) }}},
		{"window-update-idle-stream", h2Script{frames: func(w *h2Writer) { _ = w.fr.WriteWindowUpdate(5, 10) }}},
		{"data-idle-stream", h2Script{frames: func(w *h2Writer) { _ = w.fr.WriteData(1, true, []byte("abc")) }}},
		{"data-after-end-stream", h2Script{frames: func(w *h2Writer) { w.get(1, "/sub/a.txt") }, await: []uint32{1},
			then: func(w *h2Writer) { _ = w.fr.WriteData(1, true, []byte("abc")) }}},
		{"headers-on-closed-stream", h2Script{frames: func(w *h2Writer) { w.get(1, "/sub/a.txt") }, await: []uint32{1},
			then: func(w *h2Writer) { w.get(1, "/sub/a.txt") }}},
		{"rst-closed-stream", h2Script{frames: func(w *h2Writer) { w.get(1, "/sub/a.txt") }, await: []uint32{1},
			then: func(w *h2Writer) { _ = w.fr.WriteRSTStream(1, http2.ErrCodeCancel) }}},
		{"window-update-closed-stream", h2Script{frames: func(w *h2Writer) { w.get(1, "/sub/a.txt") }, await: []uint32{1},
			then: func(w *h2Writer) { _ = w.fr.WriteWindowUpdate(1, 100) }}},
		{"headers-even-stream", h2Script{frames: func(w *h2Writer) { w.get(2, "/") }}},
		{"headers-bad-hpack", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff}, EndStream: true, EndHeaders: true})
		}}},
		{"headers-missing-path", h2Script{frames: func(w *h2Writer) {
			w.request(1, true, ":method", "GET", ":scheme", "https", ":authority", "localhost")
		}, await: []uint32{1}}},
		{"headers-uppercase-name", h2Script{frames: func(w *h2Writer) {
			w.request(1, true, ":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/", "X-Upper", "1")
		}, await: []uint32{1}}},
		{"headers-connection-field", h2Script{frames: func(w *h2Writer) {
			w.request(1, true, ":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/", "connection", "keep-alive")
		}, await: []uint32{1}}},
		{"headers-pseudo-after-regular", h2Script{frames: func(w *h2Writer) {
			w.request(1, true, ":method", "GET", ":scheme", "https", "accept", "*/*", ":authority", "localhost", ":path", "/")
		}, await: []uint32{1}}},
		{"headers-unknown-pseudo", h2Script{frames: func(w *h2Writer) {
			w.request(1, true, ":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/", ":foo", "bar")
		}, await: []uint32{1}}},
		{"headers-self-dependency", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: w.block(":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/"),
				EndStream: true, EndHeaders: true, Priority: http2.PriorityParam{StreamDep: 1, Weight: 15}})
		}, await: []uint32{1}}},
		{"priority-self-dependency", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WritePriority(1, http2.PriorityParam{StreamDep: 1, Weight: 15})
		}}},
		{"continuation-without-headers", h2Script{frames: func(w *h2Writer) { _ = w.fr.WriteContinuation(1, true, w.block(":path", "/")) }}},
		{"frame-inside-header-block", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: w.block(":method", "GET"), EndStream: true})
			_ = w.fr.WritePing(false, [8]byte{})
		}}},
		{"rst-idle-stream", h2Script{frames: func(w *h2Writer) { _ = w.fr.WriteRSTStream(1, http2.ErrCodeCancel) }}},
		{"stream-id-backwards", h2Script{frames: func(w *h2Writer) { w.get(3, "/sub/a.txt") }, await: []uint32{3},
			then: func(w *h2Writer) { w.get(1, "/sub/a.txt") }}},
		{"settings-duplicate-ids", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 2000})
		}}},
		{"settings-40-entries", h2Script{frames: func(w *h2Writer) {
			ss := make([]http2.Setting, 40)
			for i := range ss {
				ss[i] = http2.Setting{ID: http2.SettingID(0x100 + i), Val: 1}
			}
			_ = w.fr.WriteSettings(ss...)
		}}},
		{"settings-200-entries", h2Script{frames: func(w *h2Writer) {
			ss := make([]http2.Setting, 200)
			for i := range ss {
				ss[i] = http2.Setting{ID: http2.SettingID(0x100 + i), Val: 1}
			}
			_ = w.fr.WriteSettings(ss...)
		}}},
		{"data-stream-0", h2Script{frames: func(w *h2Writer) { w.buf.Write(rawFrameHeader(3, http2.FrameData, 0, 0)); w.buf.WriteString("abc") }}},
		{"headers-stream-0", h2Script{frames: func(w *h2Writer) {
			b := w.block(":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/")
			w.buf.Write(rawFrameHeader(len(b), http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, 0))
			w.buf.Write(b)
		}}},
		{"window-update-bad-length", h2Script{frames: func(w *h2Writer) {
			w.buf.Write(rawFrameHeader(3, http2.FrameWindowUpdate, 0, 0))
			w.buf.WriteString("abc")
		}}},
		{"rst-bad-length", h2Script{frames: func(w *h2Writer) {
			w.buf.Write(rawFrameHeader(3, http2.FrameRSTStream, 0, 1))
			w.buf.WriteString("abc")
		}}},
		{"priority-bad-length", h2Script{frames: func(w *h2Writer) { w.buf.Write(rawFrameHeader(3, http2.FramePriority, 0, 1)); w.buf.WriteString("abc") }}},
		{"goaway-on-stream", h2Script{frames: func(w *h2Writer) {
			w.buf.Write(rawFrameHeader(8, http2.FrameGoAway, 0, 1))
			w.buf.Write(make([]byte, 8))
		}}},
		{"headers-bad-padding", h2Script{frames: func(w *h2Writer) {
			w.buf.Write(rawFrameHeader(3, http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersPadded, 1))
			w.buf.Write([]byte{200, 0x82, 0x84})
		}}},
		{"settings-two-acks", h2Script{frames: func(w *h2Writer) { _ = w.fr.WriteSettingsAck() }}},
		{"headers-te-gzip", h2Script{frames: func(w *h2Writer) {
			w.request(1, true, ":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/", "te", "gzip")
		}, await: []uint32{1}}},
		{"headers-150-fields", h2Script{frames: func(w *h2Writer) {
			kv := []string{":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/sub/a.txt"}
			for i := range 150 {
				kv = append(kv, "x-f", strconv.Itoa(i))
			}
			w.request(1, true, kv...)
		}, await: []uint32{1}}},
		{"headers-40k-field", h2Script{frames: func(w *h2Writer) {
			w.request(1, true, ":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/sub/a.txt", "x-big", strings.Repeat("b", 40<<10))
		}, await: []uint32{1}}},
		{"headers-200k-continuations", h2Script{frames: func(w *h2Writer) {
			kv := []string{":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/sub/a.txt"}
			for i := range 200 {
				kv = append(kv, "x-f"+strconv.Itoa(i), strings.Repeat("c", 1000))
			}
			block := w.block(kv...)
			first := true
			for len(block) > 0 {
				n := min(len(block), 16384)
				if first {
					_ = w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:n], EndStream: true, EndHeaders: n == len(block)})
					first = false
				} else {
					_ = w.fr.WriteContinuation(1, n == len(block), block[:n])
				}
				block = block[n:]
			}
		}, await: []uint32{1}}},
		{"goaway-then-headers", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
			w.get(1, "/sub/a.txt")
		}}},
		{"push-promise-from-client", h2Script{frames: func(w *h2Writer) {
			_ = w.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: w.block(":path", "/"), EndHeaders: true})
		}}},
	}
	ps := []proberProbe{{"h2/server-speaks-first", h2FirstProbe}}
	for _, s := range scripts {
		ps = append(ps, proberProbe{"h2/" + s.name, func(pt probeTarget) string { return h2Probe(pt, true, s.s) }})
	}
	for _, s := range scripts {
		switch s.name {
		case "preface-only", "get-root", "bad-preface", "connect-no-creds", "settings-enable-push-2", "headers-bad-hpack", "magic-only-then-silence":
			ps = append(ps, proberProbe{"h2c/" + s.name, func(pt probeTarget) string { return h2Probe(pt, false, s.s) }})
		}
	}
	return ps
}

func tlsProbes() []proberProbe {
	cfgs := []struct {
		name string
		cfg  *tls.Config
	}{
		{"default-alpn", &tls.Config{NextProtos: []string{"h2", "http/1.1"}}},
		{"alpn-none", &tls.Config{}},
		{"alpn-http11", &tls.Config{NextProtos: []string{"http/1.1"}}},
		{"alpn-h2", &tls.Config{NextProtos: []string{"h2"}}},
		{"alpn-unknown", &tls.Config{NextProtos: []string{"spdy/3.1"}}},
		{"alpn-h3-on-tcp", &tls.Config{NextProtos: []string{"h3"}}},
		{"alpn-unknown-then-http11", &tls.Config{NextProtos: []string{"spdy/3.1", "http/1.1"}}},
		{"tls12-max", &tls.Config{MaxVersion: tls.VersionTLS12}},
		{"tls13-only", &tls.Config{MinVersion: tls.VersionTLS13}},
		{"tls11-max", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}},
		{"tls12-cbc-only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}},
		{"tls12-cbc-sha256", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}}},
		{"tls12-rsa-kex-only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}},
		{"tls12-chacha", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305}}},
		{"tls12-aes256", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}},
		{"tls13-p256", &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP256}}},
		{"tls13-p384", &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP384}}},
		{"tls13-p521", &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP521}}},
		{"tls13-x25519", &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}}},
		{"tls13-mlkem", &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519MLKEM768}}},
		{"tls12-p521", &tls.Config{MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP521}}},
		{"sni-ip-literal", &tls.Config{ServerName: "127.0.0.1"}},
		{"sni-other-name", &tls.Config{ServerName: "example.com"}},
	}
	var ps []proberProbe
	for _, c := range cfgs {
		ps = append(ps, proberProbe{"tls/" + c.name, func(pt probeTarget) string { return tlsProbe(pt, c.cfg) }})
	}
	ps = append(ps,
		proberProbe{"tls/resume-tls13", func(pt probeTarget) string { return tlsResumeProbe(pt, tls.VersionTLS13) }},
		proberProbe{"tls/resume-tls12", func(pt probeTarget) string { return tlsResumeProbe(pt, tls.VersionTLS12) }},
		proberProbe{"tls/raw-garbage-record", func(pt probeTarget) string { return rawProbe(pt, pt.tls, []byte("\x16\x03\x01\x00\x05hello")) }},
		proberProbe{"tls/raw-appdata-first", func(pt probeTarget) string { return rawProbe(pt, pt.tls, []byte("\x17\x03\x03\x00\x05hello")) }},
		proberProbe{"tls/raw-http-request", func(pt probeTarget) string {
			return rawProbe(pt, pt.tls, []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
		}},
		proberProbe{"tls/raw-connect-request", func(pt probeTarget) string {
			return rawProbe(pt, pt.tls, []byte("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
		}},
		proberProbe{"tls/raw-sslv2-hello", func(pt probeTarget) string {
			return rawProbe(pt, pt.tls, []byte("\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10\x07\x00\xc0\x05\x00\x80\x03\x00\x80\x01\x00\x80\x06\x00\x40\x04\x00\x80\x02\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
		}},
	)
	return ps
}

func h3Probes() []proberProbe {
	wrong := http.Header{"Proxy-Authorization": {"Basic " + basic("probe", "wrong")}}
	return []proberProbe{
		{"h3/settings", h3SettingsProbe},
		{"h3/bidi-stream-limit", h3StreamsProbe},
		{"h3/alpn-h3-29", func(pt probeTarget) string { return h3ALPNProbe(pt, "h3-29") }},
		{"h3/alpn-h2", func(pt probeTarget) string { return h3ALPNProbe(pt, "h2") }},
		{"h3/get-root", func(pt probeTarget) string { return h3Request(pt, "GET", "localhost", "/", "", nil) }},
		{"h3/head-root", func(pt probeTarget) string { return h3Request(pt, "HEAD", "localhost", "/", "", nil) }},
		{"h3/get-missing", func(pt probeTarget) string { return h3Request(pt, "GET", "localhost", "/missing.html", "", nil) }},
		{"h3/get-other-authority", func(pt probeTarget) string { return h3Request(pt, "GET", "example.com", "/sub/a.txt", "", nil) }},
		{"h3/connect-no-creds", func(pt probeTarget) string { return h3Request(pt, "CONNECT", "example.com:443", "", "", nil) }},
		{"h3/connect-wrong-creds", func(pt probeTarget) string { return h3Request(pt, "CONNECT", "example.com:443", "", "", wrong) }},
		{"h3/connect-udp-no-creds", func(pt probeTarget) string {
			return h3Request(pt, "CONNECT", "localhost", "/.well-known/masque/udp/192.0.2.1/53/", "connect-udp", http.Header{"Capsule-Protocol": {"?1"}})
		}},
	}
}

func proberProbes() []proberProbe {
	var ps []proberProbe
	ps = append(ps, h1Probes()...)
	ps = append(ps, h2Probes()...)
	ps = append(ps, tlsProbes()...)
	ps = append(ps, h3Probes()...)
	return ps
}

// TestE2EProberDifferential runs every probe against sluice with
// --probe-resistance and against the reference Go server, and fails
// listing every difference that is not in proberKnown.
func TestE2EProberDifferential(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	siteDir := filepath.Join(dir, "site")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(siteDir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(siteDir, "index.html"), []byte("<!doctype html>\n<title>Probe</title>\n<p>An ordinary site.</p>\n"), 0o644))
	must(os.WriteFile(filepath.Join(siteDir, "sub", "a.txt"), []byte("alpha beta gamma\n"), 0o644))
	certPath, keyPath := writeCertPair(t, dir, "probe", "localhost", time.Now().Add(30*24*time.Hour))
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	must(err)
	authPath := filepath.Join(dir, "htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "probe", "right-pass", "$2y$")+"\n")

	p := startProxy(t, "--auth-file", authPath, "--probe-resistance", "--site", siteDir, "--cert", certPath, "--key", keyPath)
	site, err := siteHandler(siteDir)
	must(err)
	ref := startReference(t, site, cert)
	sl := newProbeTarget("sluice", p.plain, p.tls, p.quic)

	probes := proberProbes()
	if len(probes) < 40 {
		t.Fatalf("only %d probes", len(probes))
	}
	type result struct{ got, want string }
	results := make([]result, len(probes))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, pr := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var inner sync.WaitGroup
			inner.Add(1)
			go func() { defer inner.Done(); results[i].want = pr.run(ref) }()
			results[i].got = pr.run(sl)
			inner.Wait()
		}()
	}
	wg.Wait()

	var diffs, gone []string
	for i, pr := range probes {
		r := results[i]
		why, known := proberKnown[pr.name]
		switch {
		case r.got != r.want && !known:
			diffs = append(diffs, pr.name+":\n  sluice: "+indent(r.got)+"\n  go:     "+indent(r.want))
		case r.got == r.want && known:
			gone = append(gone, pr.name+" (listed as: "+why+")")
		}
	}
	for name := range proberKnown {
		found := false
		for _, pr := range probes {
			found = found || pr.name == name
		}
		if !found {
			gone = append(gone, name+" (no such probe)")
		}
	}
	sort.Strings(gone)
	t.Logf("%d probes, %d known differences", len(probes), len(proberKnown))
	if len(diffs) > 0 {
		t.Errorf("%d of %d probes tell sluice from a Go server:\n%s", len(diffs), len(probes), strings.Join(diffs, "\n"))
	}
	if len(gone) > 0 {
		t.Errorf("known differences that no longer differ; remove them from proberKnown:\n%s", strings.Join(gone, "\n"))
	}
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n          ") }

// TestE2EProberCamouflageStillProxies: what camouflage hides is still
// served to a client that may use the proxy: CONNECT over HTTP/3 and
// HTTP/2, and connect-udp over HTTP/3 with its datagrams in capsules, as
// no QUIC datagrams are offered under --camouflage go.
func TestE2EProberCamouflageStillProxies(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	udp := startUDPEcho(t)
	p := startOpenProxy(t, "--camouflage", "go")
	rs, resp := h3Connect(t, h3Conn(t, p, nil), echo.addr(), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT over HTTP/3: status %d", resp.StatusCode)
	}
	_ = rs.SetReadDeadline(time.Now().Add(waitLimit))
	want := []byte("through the camouflage")
	got := make([]byte, len(want))
	if _, err := rs.Write(want); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rs, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("HTTP/3 tunnel echoed %q (%v)", got, err)
	}
	h2Echo(t, h2ClientConn(t, p, true), echo.addr(), nil)

	f, resp := h3CapsuleUDP(t, h3Conn(t, p, nil), p.quic, udp.addr())
	if f == nil {
		t.Fatalf("connect-udp over HTTP/3: status %d", resp.StatusCode)
	}
	defer f.close()
	if err := f.send(want); err != nil {
		t.Fatal(err)
	}
	if got, err := f.recv(waitLimit); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("connect-udp over HTTP/3 echoed %q (%v)", got, err)
	}
}
