package clienthello

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// okBody is a constructed ClientHello that must parse.
type okBody struct {
	name string
	in   []byte // handshake records
	want Hello  // Len is filled in
	err  error  // nil or ErrNoSNI
}

// tls12Body is a TLS 1.2 ClientHello without an extensions block, which
// RFC 5246 section 7.4.1.2 allows.
func tls12Body() []byte {
	b := body()
	return b[:len(b)-2]
}

// manyExtensions returns n extensions of distinct unknown types and a
// server_name, for the duplicate check past its in-place array.
func manyExtensions(n int, dup bool) [][]byte {
	exts := [][]byte{sniExt("example.com")}
	for i := range n {
		exts = append(exts, ext(0x1000+i))
	}
	if dup {
		exts = append(exts, ext(0x1000))
	}
	return exts
}

var okBodies = []okBody{
	{"RFC6066-3/one-host-name", hello(sniExt("example.com")),
		Hello{ServerName: "example.com", LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
	{"RFC6066-3/uppercase-kept", hello(sniExt("WWW.EXAMPLE.com")),
		Hello{ServerName: "WWW.EXAMPLE.com", LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
	{"RFC6066-3/host-name-after-other-type", hello(ext(extServerName, vec16(sniEntry(1, "opaque"), sniEntry(0, "b.example"), sniEntry(7, "x")))),
		Hello{ServerName: "b.example", LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
	{"RFC6066-3/only-other-types", hello(ext(extServerName, vec16(sniEntry(1, "opaque")))),
		Hello{LegacyVersion: 0x0303, MaxVersion: 0x0303}, ErrNoSNI},
	{"RFC6066-3/no-server-name", hello(alpnExt("h2"), versionsExt(0x0304)),
		Hello{ALPN: []string{"h2"}, LegacyVersion: 0x0303, MaxVersion: 0x0304}, ErrNoSNI},
	{"RFC6066-3/ipv6-literal-sent-anyway", hello(sniExt("2001:db8::1")),
		Hello{ServerName: "2001:db8::1", LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
	{"RFC5246-7.4.1.2/no-extensions-block", records(handshake(typeClientHello, tls12Body())),
		Hello{LegacyVersion: 0x0303, MaxVersion: 0x0303}, ErrNoSNI},
	{"RFC5246-7.4.1.2/empty-extensions-block", hello(),
		Hello{LegacyVersion: 0x0303, MaxVersion: 0x0303}, ErrNoSNI},
	{"RFC5246-E.1/legacy-version-3.9", records(handshake(typeClientHello, append(u16(0x0309), body(sniExt("a.example"))[2:]...))),
		Hello{ServerName: "a.example", LegacyVersion: 0x0309, MaxVersion: 0x0309}, nil},
	{"RFC7301-3.1/order-kept", hello(sniExt("a.example"), alpnExt("http/1.1", "h2", "\x00\xff")),
		Hello{ServerName: "a.example", ALPN: []string{"http/1.1", "h2", "\x00\xff"}, LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
	{"RFC7301-3.1/name-of-255", hello(sniExt("a.example"), alpnExt(strings.Repeat("p", 255))),
		Hello{ServerName: "a.example", ALPN: []string{strings.Repeat("p", 255)}, LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
	{"RFC8701-2/grease-versions-skipped", hello(sniExt("a.example"), versionsExt(0xfafa, 0x0304, 0x0303, 0x1a1a)),
		Hello{ServerName: "a.example", LegacyVersion: 0x0303, MaxVersion: 0x0304}, nil},
	{"RFC8446-4.2.1/only-grease-versions", hello(sniExt("a.example"), versionsExt(0x3a3a)),
		Hello{ServerName: "a.example", LegacyVersion: 0x0303}, nil},
	{"RFC8446-4.2.1/tls12-only", hello(sniExt("a.example"), versionsExt(0x0303, 0x0302)),
		Hello{ServerName: "a.example", LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
	{"RFC8446-4.2.11/pre-shared-key-last", hello(sniExt("a.example"), ext(extPreSharedKey, []byte{1, 2, 3})),
		Hello{ServerName: "a.example", LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
	{"RFC8446-4.2/40-distinct-extensions", hello(manyExtensions(40, false)...),
		Hello{ServerName: "example.com", LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
	{"RFC8446-4.2/server-name-after-unknown-extensions", hello(ext(0xffce, []byte("junk")), ext(21, make([]byte, 100)), sniExt("z.example")),
		Hello{ServerName: "z.example", LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
}

func TestParseBodies(t *testing.T) {
	for _, tt := range okBodies {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			want.Len = len(tt.in)
			checkHello(t, tt.in, want, tt.err)
			checkPrefixes(t, tt.in, 0)
		})
	}
}

// raw is a ClientHello message around a hand-made extensions block.
func raw(exts []byte) []byte {
	b := body()
	b = append(b[:len(b)-2], exts...)
	return records(handshake(typeClientHello, b))
}

// withBody is the records of a ClientHello with body b.
func withBody(b []byte) []byte { return records(handshake(typeClientHello, b)) }

// fixed is the part of body() before the extensions block, for bodies
// broken in their fixed fields.
var fixed = tls12Body()

var badBodies = []badInput{
	// RFC 8446 section 4.1.2: the fixed fields.
	{"RFC8446-4.1.2/legacy-version-2.0", withBody(append(u16(0x0200), fixed[2:]...)), 0, errLegacyVersion, 0},
	{"RFC8446-4.1.2/session-id-33", withBody(append(append(bytes.Clone(fixed[:34]), vec8(make([]byte, 33))...), fixed[67:]...)), 0, errSessionID, 0},
	{"RFC8446-4.1.2/session-id-overruns", withBody(append(bytes.Clone(fixed[:34]), 200, 0, 0, 0, 0, 0, 0, 0)), 0, errBodyShort, 0},
	{"RFC8446-4.1.2/cipher-suites-odd", withBody(append(append(bytes.Clone(fixed[:67]), 0, 3, 0x13, 0x01, 0x13), fixed[73:]...)), 0, errCipherSuites, 0},
	{"RFC8446-4.1.2/cipher-suites-empty", withBody(append(append(bytes.Clone(fixed[:67]), 0, 0), fixed[73:]...)), 0, errCipherSuites, 0},
	{"RFC8446-4.1.2/compression-empty", withBody(append(bytes.Clone(fixed[:73]), 0)), 0, errCompression, 0},
	{"RFC8446-4.1.2/compression-overruns", withBody(append(bytes.Clone(fixed[:73]), 9, 0, 0)), 0, errBodyShort, 0},
	// The extensions block.
	{"RFC8446-4.2/block-one-byte", raw([]byte{0}), 0, errExtensionsBlock, 0},
	{"RFC8446-4.2/block-longer-than-body", raw(vec16(sniExt("a.example"))[:10]), 0, errExtensionsBlock, 0},
	{"RFC8446-4.2/byte-after-block", raw(append(vec16(sniExt("a.example")), 0)), 0, errExtensionsBlock, 0},
	{"RFC8446-4.2/extension-length-overflow", raw(vec16(u16(extServerName), u16(100), []byte("short"))), 0, errExtensionFrame, 0},
	{"RFC8446-4.2/extension-header-truncated", raw(vec16(sniExt("a.example"), []byte{0, 16, 0})), 0, errExtensionFrame, 0},
	{"RFC8446-4.2/duplicate-server-name", hello(sniExt("a.example"), sniExt("b.example")), 0, errDupExtension, 0},
	{"RFC8446-4.2/duplicate-unknown", hello(ext(0x1234), sniExt("a.example"), ext(0x1234)), 0, errDupExtension, 0},
	{"RFC8446-4.2/duplicate-after-40", hello(manyExtensions(40, true)...), 0, errDupExtension, 0},
	{"RFC8446-4.2/duplicate-grease", hello(ext(0x0a0a), sniExt("a.example"), ext(0x0a0a)), 0, errDupExtension, 0},
	{"RFC8446-4.2.11/pre-shared-key-not-last", hello(ext(extPreSharedKey, []byte{1}), sniExt("a.example")), 0, errPSKNotLast, 0},
	// RFC 6066 section 3: server_name.
	{"RFC6066-3/empty-extension", hello(ext(extServerName)), 0, errSNIList, 0},
	{"RFC6066-3/empty-list", hello(ext(extServerName, vec16())), 0, errSNIList, 0},
	{"RFC6066-3/list-overruns", hello(ext(extServerName, u16(50), sniEntry(0, "a.example"))), 0, errSNIList, 0},
	{"RFC6066-3/byte-after-list", hello(ext(extServerName, vec16(sniEntry(0, "a.example")), []byte{0})), 0, errSNIList, 0},
	{"RFC6066-3/empty-host-name", hello(ext(extServerName, vec16(sniEntry(0, "")))), 0, errSNIList, 0},
	{"RFC6066-3/entry-truncated", hello(ext(extServerName, vec16(sniEntry(0, "a.example"), []byte{0, 0}))), 0, errSNIList, 0},
	{"RFC6066-3/two-host-names", hello(ext(extServerName, vec16(sniEntry(0, "a.example"), sniEntry(0, "b.example")))), 0, errSNIDup, 0},
	{"RFC6066-3/trailing-dot", hello(sniExt("example.com.")), 0, errHostName, 0},
	{"RFC6066-3/nul-in-name", hello(sniExt("example.com\x00.evil")), 0, errHostName, 0},
	{"RFC6066-3/space-in-name", hello(sniExt("exa mple.com")), 0, errHostName, 0},
	{"RFC6066-3/port-in-name", hello(sniExt("example.com:443")), 0, errHostName, 0},
	{"RFC6066-3/bracketed-ipv6", hello(sniExt("[2001:db8::1]")), 0, errHostName, 0},
	{"RFC6066-3/utf8-not-a-label", hello(sniExt("bücher.example")), 0, errHostName, 0},
	// RFC 7301 section 3.1: ALPN.
	{"RFC7301-3.1/empty-extension", hello(ext(extALPN)), 0, errALPNList, 0},
	{"RFC7301-3.1/empty-list", hello(sniExt("a.example"), ext(extALPN, vec16())), 0, errALPNList, 0},
	{"RFC7301-3.1/empty-name", hello(sniExt("a.example"), ext(extALPN, vec16(vec8(), vec8([]byte("h2"))))), 0, errALPNList, 0},
	{"RFC7301-3.1/name-overruns-list", hello(sniExt("a.example"), ext(extALPN, vec16([]byte{5, 'h', '2'}))), 0, errALPNList, 0},
	{"RFC7301-3.1/byte-after-list", hello(sniExt("a.example"), ext(extALPN, vec16(vec8([]byte("h2"))), []byte{0})), 0, errALPNList, 0},
	// RFC 8446 section 4.2.1: supported_versions.
	{"RFC8446-4.2.1/empty-list", hello(sniExt("a.example"), ext(extSupportedVersions, vec8())), 0, errVersionsList, 0},
	{"RFC8446-4.2.1/odd-list", hello(sniExt("a.example"), ext(extSupportedVersions, vec8([]byte{3, 4, 3}))), 0, errVersionsList, 0},
	{"RFC8446-4.2.1/server-hello-form", hello(sniExt("a.example"), ext(extSupportedVersions, u16(0x0304))), 0, errVersionsList, 0},
	// The body is shorter than its fields claim.
	{"RFC8446-4.1.2/body-truncated", withBody(fixed[:60]), 0, errBodyShort, 0},
}

func TestParseBodyErrors(t *testing.T) {
	for _, tt := range badBodies {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			if at == 0 {
				at = len(tt.in)
			}
			checkErrorPrefixes(t, tt.in, tt.limit, at, tt.err)
			// The same verdict when the hello is spread over records.
			split := records(unframe(tt.in), 33)
			if h, err := Parse(split); err != tt.err || !reflect.DeepEqual(h, Hello{}) {
				t.Fatalf("in 33-byte records: got %+v, %v", h, err)
			}
		})
	}
}

// TestBodiesAgainstCryptoTLS: crypto/tls reads the constructed hellos
// as Parse does, and refuses every broken one but those that Parse
// refuses on purpose where crypto/tls defers to its later checks or
// accepts any bytes (host_name syntax).
func TestBodiesAgainstCryptoTLS(t *testing.T) {
	differ := map[string]bool{
		"RFC5246-E.1/legacy-version-3.9":     true, // crypto/tls caps versions at those it knows
		"RFC8446-4.2.11/pre-shared-key-last": true, // no real PSK identities and binders
		"RFC8446-4.1.2/legacy-version-2.0":   true,
		"RFC8446-4.1.2/session-id-33":        true,
		"RFC8446-4.1.2/cipher-suites-empty":  true,
		"RFC8446-4.1.2/compression-empty":    true,
		"RFC6066-3/nul-in-name":              true,
		"RFC6066-3/space-in-name":            true,
		"RFC6066-3/port-in-name":             true,
		"RFC6066-3/bracketed-ipv6":           true,
		"RFC6066-3/utf8-not-a-label":         true,
	}
	for _, tt := range okBodies {
		if !differ[tt.name] {
			t.Run(tt.name, func(t *testing.T) { checkAgainstCryptoTLS(t, tt.in) })
		}
	}
	for _, tt := range badBodies {
		if !differ[tt.name] && cryptoTLSHello(tt.in) != nil {
			t.Errorf("%s: crypto/tls accepts what Parse refuses", tt.name)
		}
	}
}

func TestIsGREASE(t *testing.T) {
	n := 0
	for v := range 1 << 16 {
		if isGREASE(uint16(v)) {
			n++
			if v&0xff != 0x0a|(v>>8)&0xf0 || v>>8 != v&0xff {
				t.Errorf("%#04x is not an RFC 8701 value", v)
			}
		}
	}
	if n != 16 {
		t.Errorf("%d GREASE values; want 16", n)
	}
}
