package clienthello

import (
	"bytes"
	"strings"
	"testing"
)

// badInput is a vector that must fail with err, already from its first
// at bytes on (0 means only when complete); limit 0 is the default.
type badInput struct {
	name  string
	in    []byte
	at    int
	err   error
	limit int
}

// minimal is a small, valid ClientHello message with SNI.
var minimal = handshake(typeClientHello, body(sniExt("example.com")))

// withRecord returns a copy of rec (one record) with its header bytes
// replaced from off on.
func withHeader(rec []byte, off int, hdr ...byte) []byte {
	b := bytes.Clone(rec)
	copy(b[off:], hdr)
	return b
}

// twoRecords is minimal in two records; its second header is at 5+20.
var twoRecords = records(minimal, 20)

// tenByteRecords is minimal in 10-byte fragments; lastTen is the length
// of its last one.
var (
	tenByteRecords = records(minimal, 10)
	lastTen        = (len(minimal)-1)%10 + 1
)

// padded is a ClientHello whose padding extension (RFC 7685) makes its
// body n bytes long.
func padded(n int) []byte {
	base := len(body(sniExt("example.com"), ext(21)))
	return handshake(typeClientHello, body(sniExt("example.com"), ext(21, make([]byte, n-base))))
}

var badRecords = []badInput{
	// What a client of another protocol sends first: refused from the
	// first byte, so that an HTTP client never waits on ErrNeedMore.
	{"RFC8446-5.1/http-get", []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), 1, errNotHandshake, 0},
	{"RFC8446-5.1/http-connect", []byte("CONNECT example.com:443 HTTP/1.1\r\n"), 1, errNotHandshake, 0},
	{"RFC8446-5.1/http2-preface", []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 1, errNotHandshake, 0},
	{"RFC6101-E/sslv2-compatible-hello", []byte("\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10"), 1, errNotHandshake, 0},
	{"RFC8446-5.1/garbage-zeros", make([]byte, 16), 1, errNotHandshake, 0},
	{"RFC8446-5.1/garbage-high", []byte("\xff\xfe\xfd\xfc\xfb\xfa"), 1, errNotHandshake, 0},
	{"RFC8446-5.1/alert-record-first", []byte("\x15\x03\x01\x00\x02\x02\x28"), 1, errNotHandshake, 0},
	{"RFC8446-5.1/application-data-first", []byte("\x17\x03\x03\x00\x03abc"), 1, errNotHandshake, 0},
	{"RFC8446-5.1/change-cipher-spec-first", []byte("\x14\x03\x03\x00\x01\x01"), 1, errNotHandshake, 0},
	// The record header of the first record.
	{"RFC8446-5.1/version-major-2", withHeader(records(minimal), 1, 2, 0), 2, errRecordVersion, 0},
	{"RFC8446-5.1/version-major-4", withHeader(records(minimal), 1, 4, 1), 2, errRecordVersion, 0},
	{"RFC8446-5.1/version-3.5", withHeader(records(minimal), 2, 5), 3, errRecordVersion, 0},
	{"RFC8446-5.1/record-overflow-high-byte", withHeader(records(minimal), 3, 0x41, 0), 4, errRecordOverflow, 0},
	{"RFC8446-5.1/record-overflow-16385", withHeader(records(minimal), 3, 0x40, 0x01), 5, errRecordOverflow, 0},
	{"RFC8446-5.1/record-overflow-ffff", []byte("\x16\x03\x01\xff\xff"), 4, errRecordOverflow, 0},
	{"RFC8446-5.1/empty-first-record", []byte("\x16\x03\x01\x00\x00\x16\x03\x01\x00\x04"), 5, errRecordEmpty, 0},
	// Later records: the stream is TLS, but broken.
	{"RFC8446-5.1/interleaved-alert", withHeader(twoRecords, 25, 21), 26, errInterleaved, 0},
	{"RFC8446-5.1/interleaved-ccs", withHeader(twoRecords, 25, 20), 26, errInterleaved, 0},
	{"RFC8446-5.1/second-record-version", withHeader(twoRecords, 25, 22, 2), 27, errNextVersion, 0},
	{"RFC8446-5.1/second-record-overflow", withHeader(twoRecords, 28, 0x40, 0x01), 30, errNextOverflow, 0},
	{"RFC8446-5.1/second-record-empty", append(records(minimal[:20]), 0x16, 3, 1, 0, 0), 30, errNextEmpty, 0},
	// The handshake header.
	{"RFC8446-4.1.3/server-hello", records(handshake(2, body())), 6, errNotClientHello, 0},
	{"RFC8446-4/finished-first", records(handshake(20, make([]byte, 32))), 6, errNotClientHello, 0},
	{"RFC8446-4/server-hello-split-header", records(handshake(2, body()), 1), 6, errNotClientHello, 0},
	{"RFC8446-4.1.2/shorter-than-fixed-fields", records(handshake(typeClientHello, make([]byte, minHelloBody-1))), 9, errHelloShort, 0},
	{"RFC8446-4.1.2/longer-than-any-client-hello", []byte{contentHandshake, 3, 1, 0, 4, typeClientHello, 3, 0, 0},
		9, errHelloLong, 1 << 20},
	{"RFC8446-5.1/record-past-client-hello", records(append(bytes.Clone(minimal), 20, 0, 0, 0)), 9, errPastHello, 0},
	{"RFC8446-5.1/second-record-past-client-hello", append(records(minimal[:20]), records(append(bytes.Clone(minimal[20:]), 1))...), 30, errPastHello, 0},
	// Size limits: refused as soon as the header shows it.
	{"limit/hello-length-over-64KiB", records(handshake(typeClientHello, make([]byte, 70000)), maxFragment), 9, errHelloTooLarge, 0},
	{"limit/hello-just-over-64KiB", records(padded(MaxHelloSize-handshakeHeaderLen-4*recordHeaderLen+1), maxFragment), 9, errHelloTooLarge, 0},
	{"limit/record-over-small-limit", records(minimal), 5, errHelloTooLarge, 60},
	{"limit/hello-over-small-limit", records(minimal, 10), 9, errHelloTooLarge, 60},
	{"limit/next-header-over-limit", records(minimal, 1), 4 * 6, errHelloTooLarge, minLimit},
	// Fits the fewest records, but the client uses more.
	{"limit/more-records-than-projected", tenByteRecords, len(tenByteRecords) - lastTen - 5, errRecordsTooLarge,
		len(tenByteRecords) - lastTen - 1},
	{"limit/below-minimum-raised", records(minimal, 1), 4 * 6, errHelloTooLarge, 1},
}

func TestParseRecordErrors(t *testing.T) {
	for _, tt := range badRecords {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			if at == 0 {
				at = len(tt.in)
			}
			checkErrorPrefixes(t, tt.in, tt.limit, at, tt.err)
		})
	}
}

// TestParseLimitExact: records of exactly the limit pass, one byte more
// does not, and a zero limit means MaxHelloSize.
func TestParseLimitExact(t *testing.T) {
	in := records(minimal, 50)
	if _, err := ParseLimit(in, len(in)); err != nil {
		t.Fatalf("records of exactly the limit: %v", err)
	}
	if _, err := ParseLimit(in, len(in)-1); kindOf(err) != "too-large" {
		t.Fatalf("records one byte over the limit: %v", err)
	}
	// The largest ClientHello the default limit admits, in four records.
	big := records(padded(MaxHelloSize-handshakeHeaderLen-4*recordHeaderLen), maxFragment)
	if len(big) != MaxHelloSize {
		t.Fatalf("built %d bytes; want %d", len(big), MaxHelloSize)
	}
	for _, limit := range []int{0, -1, MaxHelloSize} {
		h, err := ParseLimit(big, limit)
		if err != nil || h.Len != MaxHelloSize || h.ServerName != "example.com" {
			t.Fatalf("limit %d: got %+v, %v", limit, h, err)
		}
	}
	if _, err := Parse(big); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if _, err := ParseLimit(big, MaxHelloSize-1); kindOf(err) != "too-large" {
		t.Fatalf("limit one byte short: %v", err)
	}
}

// TestParseNeverReadsPastLimit: the verdict on a buffer cut at the limit
// is the verdict on the whole buffer.
func TestParseNeverReadsPastLimit(t *testing.T) {
	in := records(minimal, 7)
	for limit := minLimit; limit <= len(in); limit++ {
		_, whole := ParseLimit(in, limit)
		_, cut := ParseLimit(in[:limit], limit)
		if whole != cut {
			t.Fatalf("limit %d: %v on the whole, %v on b[:limit]", limit, whole, cut)
		}
	}
}

// TestParseTLS12RecordVersions: the record versions clients use for a
// first ClientHello (RFC 8446 section 5.1, RFC 5246 appendix E.1), and
// records of one hello that disagree, are all accepted.
func TestParseRecordVersions(t *testing.T) {
	for v := byte(0); v <= 4; v++ {
		in := withHeader(records(minimal, 30), 2, v)
		in = withHeader(in, 5+30+2, 4-v)
		if h, err := Parse(in); err != nil || h.ServerName != "example.com" {
			t.Errorf("record versions 3.%d, 3.%d: got %+v, %v", v, 4-v, h, err)
		}
	}
}

func TestErrorStrings(t *testing.T) {
	for _, tt := range badRecords {
		_, err := ParseLimit(tt.in, tt.limit)
		if !strings.HasPrefix(err.Error(), "clienthello: ") || !strings.Contains(err.Error(), ": ") {
			t.Errorf("%s: error %q", tt.name, err)
		}
	}
}
