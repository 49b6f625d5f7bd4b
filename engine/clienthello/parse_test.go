package clienthello

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"reflect"
	"slices"
	"testing"
	"time"
)

// goldenHello is a ClientHello captured from a real client on this
// machine, stored in testdata/<file>.hex (xxd -p of the bytes the client
// wrote first). Captures:
//
//   - go1.26.8-*: Go 1.26.8 crypto/tls, tls.Client over a net.Pipe end
//     whose Write recorded the bytes, InsecureSkipVerify.
//     x25519mlkem768: ServerName "example.com", NextProtos h2,http/1.1,
//     default CurvePreferences (the X25519MLKEM768 key share).
//     x25519: the same with CurvePreferences {X25519}.
//     no-sni: ServerName "" and no NextProtos.
//     uppercase: ServerName "WWW.Example.COM." (Go drops the trailing
//     dot), NextProtos http/1.1, CurvePreferences {X25519}.
//   - curl7.88.1-openssl3.0.19: Debian 12's curl 7.88.1 (OpenSSL
//     3.0.19, nghttp2 1.52.0) against a loopback listener that dumped
//     what it read: curl -sk --http2 --connect-to
//     example.com:443:127.0.0.1:PORT https://example.com/ .
//     -ip: curl -sk https://127.0.0.1:PORT/ , which sends no SNI.
//   - chromium156: Debian 12's Chromium 156.0.8078.114, headless,
//     against the same dumper: chromium --headless --no-sandbox
//     --disable-gpu --no-first-run --disable-background-networking
//     --disable-component-update --disable-sync --user-data-dir=TMP
//     --host-resolver-rules='MAP example.com 127.0.0.1:PORT'
//     https://example.com/ (GREASE, ECH GREASE, X25519MLKEM768).
type goldenHello struct {
	name string // after the source: RFC section / client
	file string
	want Hello
	err  error // nil or ErrNoSNI
}

var goldenHellos = []goldenHello{
	{
		name: "RFC8446-4.1.2/go1.26.8-x25519mlkem768",
		file: "go1.26.8-x25519mlkem768",
		want: Hello{ServerName: "example.com", ALPN: []string{"h2", "http/1.1"}, LegacyVersion: 0x0303, MaxVersion: 0x0304, Len: 1521},
	},
	{
		name: "RFC8446-4.1.2/go1.26.8-x25519",
		file: "go1.26.8-x25519",
		want: Hello{ServerName: "example.com", ALPN: []string{"h2", "http/1.1"}, LegacyVersion: 0x0303, MaxVersion: 0x0304, Len: 289},
	},
	{
		name: "RFC6066-3/go1.26.8-no-sni",
		file: "go1.26.8-no-sni",
		want: Hello{LegacyVersion: 0x0303, MaxVersion: 0x0304, Len: 1483},
		err:  ErrNoSNI,
	},
	{
		name: "RFC6066-3/go1.26.8-uppercase-name-kept",
		file: "go1.26.8-uppercase",
		want: Hello{ServerName: "WWW.Example.COM", ALPN: []string{"http/1.1"}, LegacyVersion: 0x0303, MaxVersion: 0x0304, Len: 290},
	},
	{
		name: "RFC7301-3.1/curl7.88.1-openssl3.0.19",
		file: "curl7.88.1-openssl3.0.19",
		want: Hello{ServerName: "example.com", ALPN: []string{"h2", "http/1.1"}, LegacyVersion: 0x0303, MaxVersion: 0x0304, Len: 517},
	},
	{
		name: "RFC6066-3/curl7.88.1-openssl3.0.19-ip-no-sni",
		file: "curl7.88.1-openssl3.0.19-ip",
		want: Hello{ALPN: []string{"h2", "http/1.1"}, LegacyVersion: 0x0303, MaxVersion: 0x0304, Len: 517},
		err:  ErrNoSNI,
	},
	{
		name: "RFC8701/chromium156-grease",
		file: "chromium156",
		want: Hello{ServerName: "example.com", ALPN: []string{"h2", "http/1.1"}, LegacyVersion: 0x0303, MaxVersion: 0x0304, Len: 1983},
	},
}

// checkHello asserts the verdict on in against a golden result.
func checkHello(t *testing.T, in []byte, want Hello, wantErr error) {
	t.Helper()
	h, err := Parse(in)
	if err != wantErr || !reflect.DeepEqual(h, want) {
		t.Fatalf("got  %+v, %v\nwant %+v, %v", h, err, want, wantErr)
	}
}

// trailer is what may follow a ClientHello on the wire: a TLS 1.3
// middlebox-compatibility change_cipher_spec and an early-data record.
var trailer = []byte("\x14\x03\x03\x00\x01\x01\x17\x03\x03\x00\x03abc")

func TestParseGolden(t *testing.T) {
	for _, tt := range goldenHellos {
		t.Run(tt.name, func(t *testing.T) {
			in := capture(t, tt.file)
			checkHello(t, in, tt.want, tt.err)
			// Bytes after the ClientHello change nothing; Len excludes them.
			checkHello(t, append(in[:len(in):len(in)], trailer...), tt.want, tt.err)
		})
	}
}

func TestParseGoldenPrefixes(t *testing.T) {
	for _, tt := range goldenHellos {
		t.Run(tt.name, func(t *testing.T) {
			checkPrefixes(t, capture(t, tt.file), 0)
		})
	}
}

// TestParsePostQuantumTwoSegments: a ClientHello with an X25519MLKEM768
// key share no longer fits in one 1500-byte Ethernet frame, so the proxy
// sees it as two TCP segments (1448 bytes of payload each with
// timestamps) and must wait for the second without failing.
func TestParsePostQuantumTwoSegments(t *testing.T) {
	in := capture(t, "go1.26.8-x25519mlkem768")
	if len(in) <= 1500 {
		t.Fatalf("post-quantum ClientHello is %d bytes; want > 1500", len(in))
	}
	seg1, seg2 := in[:1448], in[1448:]
	if h, err := Parse(seg1); err != ErrNeedMore {
		t.Fatalf("first segment: got %+v, %v; want ErrNeedMore", h, err)
	}
	buf := append(append([]byte(nil), seg1...), seg2...)
	checkHello(t, buf, goldenHellos[0].want, nil)
}

// TestParseSplitRecords re-frames each captured handshake message into
// several records (RFC 8446 section 5.1 allows any fragmentation, the
// handshake header included) and expects the same Hello, with Len
// covering the extra record headers.
func TestParseSplitRecords(t *testing.T) {
	for _, tt := range goldenHellos {
		in := capture(t, tt.file)
		msg := unframe(in)
		for _, sizes := range [][]int{
			{len(msg) / 2},      // two records
			{1, 2, 1, len(msg)}, // the handshake header spread over three records
			{3, len(msg) - 4, 1},
			{100},
			{maxFragment},
		} {
			split := records(msg, sizes...)
			want := tt.want
			want.Len = len(split)
			t.Run(tt.name, func(t *testing.T) {
				checkHello(t, split, want, tt.err)
				checkHello(t, append(split[:len(split):len(split)], trailer...), want, tt.err)
				if sizes[0] == len(msg)/2 {
					checkPrefixes(t, split, 0)
				}
			})
		}
	}
}

// TestParseSplitAllocs: a ClientHello in one record is parsed in place;
// one split across records costs one buffer more.
func TestParseSplitAllocs(t *testing.T) {
	in := capture(t, "chromium156")
	split := records(unframe(in), 1000)
	for _, c := range []struct {
		name string
		in   []byte
		want float64
	}{{"one-record", in, 3}, {"two-records", split, 4}, {"need-more", in[:1448], 0}} {
		got := testing.AllocsPerRun(100, func() { Parse(c.in) })
		if got != c.want {
			t.Errorf("%s: %v allocations; want %v", c.name, got, c.want)
		}
	}
}

// TestParseLiveGo parses what this Go release's crypto/tls sends now, so
// a change in its ClientHello shows up here before it shows up in
// production.
func TestParseLiveGo(t *testing.T) {
	for _, c := range []struct {
		cfg  *tls.Config
		want Hello
		err  error
	}{
		{&tls.Config{ServerName: "example.com", NextProtos: []string{"h2", "http/1.1"}},
			Hello{ServerName: "example.com", ALPN: []string{"h2", "http/1.1"}, LegacyVersion: 0x0303, MaxVersion: 0x0304}, nil},
		{&tls.Config{ServerName: "Mixed.Case.example", MaxVersion: tls.VersionTLS12},
			Hello{ServerName: "Mixed.Case.example", LegacyVersion: 0x0303, MaxVersion: 0x0303}, nil},
		{&tls.Config{ServerName: "192.0.2.1", NextProtos: []string{"acme-tls/1"}},
			Hello{ALPN: []string{"acme-tls/1"}, LegacyVersion: 0x0303, MaxVersion: 0x0304}, ErrNoSNI},
	} {
		in := goClientHello(t, c.cfg)
		c.want.Len = len(in)
		checkHello(t, in, c.want, c.err)
		checkAgainstCryptoTLS(t, in)
	}
}

// recorder is a net.Conn that keeps what is written and never answers.
type recorder struct {
	net.Conn
	wrote []byte
}

func (r *recorder) Write(p []byte) (int, error) { r.wrote = append(r.wrote, p...); return len(p), nil }
func (r *recorder) Read([]byte) (int, error)    { return 0, io.EOF }
func (r *recorder) Close() error                { return nil }
func (r *recorder) SetDeadline(time.Time) error { return nil }

// goClientHello returns the first flight of a crypto/tls client.
func goClientHello(t *testing.T, cfg *tls.Config) []byte {
	t.Helper()
	cfg.InsecureSkipVerify = true
	c1, c2 := net.Pipe() // for the methods crypto/tls may call besides Read and Write
	defer c1.Close()
	defer c2.Close()
	r := &recorder{Conn: c1}
	if err := tls.Client(r, cfg).Handshake(); err == nil {
		t.Fatal("handshake with a silent peer succeeded")
	}
	return r.wrote
}

// replay is a net.Conn that reads from a fixed input and discards writes.
type replay struct {
	net.Conn
	in *bytes.Reader
}

func (r *replay) Read(p []byte) (int, error)       { return r.in.Read(p) }
func (r *replay) Write(p []byte) (int, error)      { return len(p), nil }
func (r *replay) Close() error                     { return nil }
func (r *replay) SetDeadline(time.Time) error      { return nil }
func (r *replay) SetWriteDeadline(time.Time) error { return nil }

// cryptoTLSHello feeds in to a crypto/tls server and returns what it
// read from the ClientHello, or nil if it refused it.
func cryptoTLSHello(in []byte) *tls.ClientHelloInfo {
	var info *tls.ClientHelloInfo
	stop := errors.New("stop")
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	srv := tls.Server(&replay{Conn: c1, in: bytes.NewReader(in)}, &tls.Config{
		GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
			info = chi
			return nil, stop
		},
	})
	if err := srv.Handshake(); !errors.Is(err, stop) {
		return nil
	}
	return info
}

// checkAgainstCryptoTLS asserts that crypto/tls reads the same name,
// protocols and highest version from in as Parse.
func checkAgainstCryptoTLS(t *testing.T, in []byte) {
	t.Helper()
	info := cryptoTLSHello(in)
	if info == nil {
		t.Fatal("crypto/tls refused the ClientHello")
	}
	h, err := Parse(in)
	if err != nil && err != ErrNoSNI {
		t.Fatalf("Parse: %v", err)
	}
	var hi uint16
	for _, v := range info.SupportedVersions {
		if !isGREASE(v) {
			hi = max(hi, v)
		}
	}
	if h.ServerName != info.ServerName || !slices.Equal(h.ALPN, info.SupportedProtos) || h.MaxVersion != hi {
		t.Fatalf("Parse: %q %q %#x; crypto/tls: %q %q %#x",
			h.ServerName, h.ALPN, h.MaxVersion, info.ServerName, info.SupportedProtos, hi)
	}
}

func TestParseAgainstCryptoTLS(t *testing.T) {
	for _, tt := range goldenHellos {
		t.Run(tt.name, func(t *testing.T) {
			in := capture(t, tt.file)
			checkAgainstCryptoTLS(t, in)
			checkAgainstCryptoTLS(t, records(unframe(in), 700))
		})
	}
}

func TestIPLiteral(t *testing.T) {
	for _, c := range []struct {
		name string
		ip   bool
	}{{"example.com", false}, {"", false}, {"192.0.2.1", true}, {"2001:db8::1", true}, {"1.2.3", false}} {
		a, ok := Hello{ServerName: c.name}.IPLiteral()
		if ok != c.ip || ok && a.String() != c.name {
			t.Errorf("IPLiteral(%q) = %v, %v; want %v", c.name, a, ok, c.ip)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	chromium := capture(b, "chromium156")
	for _, bb := range []struct {
		name string
		in   []byte
	}{
		{"chromium156", chromium},
		{"curl7.88.1", capture(b, "curl7.88.1-openssl3.0.19")},
		{"chromium156-two-records", records(unframe(chromium), 1448)},
		{"chromium156-need-more", chromium[:1448]},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.in)))
			for b.Loop() {
				if _, err := Parse(bb.in); err != nil && err != ErrNeedMore {
					b.Fatal(err)
				}
			}
		})
	}
}
