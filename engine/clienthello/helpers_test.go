package clienthello

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// capture returns a ClientHello captured from a real client, stored in
// testdata as hex (see the capture table in parse_test.go for how).
func capture(t testing.TB, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// checkPrefixes asserts that every proper prefix of in gives ErrNeedMore
// and a zero Hello (the every-prefix rule for sans-IO parsers).
func checkPrefixes(t *testing.T, in []byte, limit int) {
	t.Helper()
	for i := 0; i < len(in); i++ {
		h, err := ParseLimit(in[:i], limit)
		if err != ErrNeedMore || !reflect.DeepEqual(h, Hello{}) {
			t.Fatalf("prefix of %d/%d bytes: got %+v, %v; want ErrNeedMore", i, len(in), h, err)
		}
	}
}

// checkErrorPrefixes asserts that in fails with want, that every prefix
// of at least at bytes already does, and that every shorter one gives
// ErrNeedMore: the verdict comes as early as promised and never changes.
func checkErrorPrefixes(t *testing.T, in []byte, limit, at int, want error) {
	t.Helper()
	for i := 0; i <= len(in); i++ {
		h, err := ParseLimit(in[:i], limit)
		if h.Len != 0 || h.ServerName != "" || h.ALPN != nil {
			t.Fatalf("prefix of %d bytes: got %+v with error %v", i, h, err)
		}
		switch {
		case i < at && err != ErrNeedMore:
			t.Fatalf("prefix of %d bytes (verdict due at %d): got %v; want ErrNeedMore", i, at, err)
		case i >= at && !errors.Is(err, want):
			t.Fatalf("prefix of %d bytes (verdict due at %d): got %v; want %v", i, at, err, want)
		}
	}
}

// nextPrefix steps through prefix lengths: every one for short inputs,
// and for long ones (a ClientHello in many tiny records) a stride plus
// every length near the end, so that the quadratic prefix checks stay
// fast enough to fuzz.
func nextPrefix(i, n int) int {
	if n <= 2048 || i >= n-256 {
		return i + 1
	}
	return i + 61
}

// kindOf names the error class of err, for messages and comparisons.
func kindOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case err == ErrNeedMore:
		return "need-more"
	case err == ErrNoSNI:
		return "no-sni"
	case errors.Is(err, ErrNotTLS):
		return "not-tls"
	case errors.Is(err, ErrTooLarge):
		return "too-large"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return "unknown: " + err.Error()
}

// Builders for constructed ClientHellos, for the cases no client sends.

func u16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }

func vec8(parts ...[]byte) []byte {
	b := []byte{0}
	for _, p := range parts {
		b = append(b, p...)
	}
	b[0] = byte(len(b) - 1)
	return b
}

func vec16(parts ...[]byte) []byte {
	b := []byte{0, 0}
	for _, p := range parts {
		b = append(b, p...)
	}
	copy(b, u16(len(b)-2))
	return b
}

// ext is one encoded extension: type and length-prefixed data.
func ext(typ int, data ...[]byte) []byte {
	return append(u16(typ), vec16(data...)...)
}

// sniExt is a server_name extension with one host_name entry per name.
func sniExt(names ...string) []byte {
	var entries [][]byte
	for _, n := range names {
		entries = append(entries, sniEntry(0, n))
	}
	return ext(extServerName, vec16(entries...))
}

// sniEntry is one ServerName of the given name_type.
func sniEntry(typ byte, name string) []byte {
	return append([]byte{typ}, vec16([]byte(name))...)
}

// alpnExt is an ALPN extension listing protos.
func alpnExt(protos ...string) []byte {
	var names [][]byte
	for _, p := range protos {
		names = append(names, vec8([]byte(p)))
	}
	return ext(extALPN, vec16(names...))
}

// versionsExt is a ClientHello supported_versions extension.
func versionsExt(vs ...int) []byte {
	var list [][]byte
	for _, v := range vs {
		list = append(list, u16(v))
	}
	return ext(extSupportedVersions, vec8(list...))
}

// body is a minimal TLS 1.3-shaped ClientHello body: legacy_version
// 0x0303, a zero random, a 32-byte session id, two cipher suites, the
// null compression method and the given extensions.
func body(exts ...[]byte) []byte {
	b := u16(0x0303)
	b = append(b, make([]byte, 32)...)
	b = append(b, vec8(make([]byte, 32))...)
	b = append(b, vec16(u16(0x1301), u16(0x1302))...)
	b = append(b, vec8([]byte{0})...)
	return append(b, vec16(exts...)...)
}

// handshake wraps a body in a handshake header of type typ.
func handshake(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// records frames msg as handshake records with version 0x0301; sizes
// are the fragment lengths in turn, the last repeating (none means one
// record).
func records(msg []byte, sizes ...int) []byte {
	var out []byte
	for i := 0; len(msg) > 0; i++ {
		n := len(msg)
		if len(sizes) > 0 {
			n = min(n, sizes[min(i, len(sizes)-1)])
		}
		out = append(out, contentHandshake, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

// hello is records(handshake(ClientHello, body(exts...))).
func hello(exts ...[]byte) []byte {
	return records(handshake(typeClientHello, body(exts...)))
}

// unframe returns the handshake bytes carried by the well-formed records
// in b (the test's own reassembly, independent of the package's).
func unframe(b []byte) []byte {
	var msg []byte
	for len(b) >= recordHeaderLen {
		n := int(b[3])<<8 | int(b[4])
		msg = append(msg, b[recordHeaderLen:recordHeaderLen+n]...)
		b = b[recordHeaderLen+n:]
	}
	return msg
}
