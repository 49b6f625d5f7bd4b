package clienthello

import "net/netip"

// MaxHelloSize is the default limit on the bytes of the records that carry
// a ClientHello, headers included. Real ones are under 2 KiB, those with a
// post-quantum key share (X25519MLKEM768) included; 64 KiB leaves room for
// large session tickets and PSK identities while bounding what one
// connection can make the proxy buffer before it routes.
const MaxHelloSize = 64 << 10

// Hello is what the proxy needs from a ClientHello to route a connection.
// Its strings never alias the input.
type Hello struct {
	// ServerName is the host_name of the server_name extension (RFC 6066
	// section 3), byte for byte as sent: case is kept, so fold it before
	// looking it up (DNS names compare case-insensitively). It is a
	// valid DNS name (letters, digits, '-', '_', dots; no empty label,
	// no trailing dot, at most 253 bytes) or an IPv6 literal. With ECH
	// (encrypted_client_hello) it is the outer, public name.
	ServerName string

	// ALPN holds the protocol names of the
	// application_layer_protocol_negotiation extension in the client's
	// order of preference (RFC 7301 section 3.1), nil without one.
	ALPN []string

	// LegacyVersion is ClientHello.legacy_version: 0x0303 for TLS 1.2
	// and 1.3 clients (RFC 8446 section 4.1.2).
	LegacyVersion uint16

	// MaxVersion is the highest protocol version offered: the largest
	// non-GREASE entry of supported_versions (RFC 8446 section 4.2.1),
	// 0x0304 for a TLS 1.3 client, or LegacyVersion without that
	// extension. 0 when the list holds GREASE values only.
	MaxVersion uint16

	// Len is the number of bytes at the start of the input taken by the
	// records that carry the ClientHello. The caller still forwards all
	// the bytes it read, b[Len:] included (early data, a pipelined
	// record): the upstream terminates TLS, not the proxy.
	Len int
}

// IPLiteral reports whether ServerName is an IP address, which RFC 6066
// section 3 forbids in HostName but some clients send; routing such a
// name is the caller's policy.
func (h Hello) IPLiteral() (netip.Addr, bool) {
	a, err := netip.ParseAddr(h.ServerName)
	return a, err == nil
}

// Parse reads the ClientHello at the start of b, the bytes received from
// the client so far, with the default limit [MaxHelloSize]. See
// [ParseLimit].
func Parse(b []byte) (Hello, error) {
	return ParseLimit(b, MaxHelloSize)
}

// ParseLimit reads the ClientHello at the start of b, the bytes received
// from the client so far, starting with its first byte. limit caps the
// bytes of the records carrying the ClientHello (headers included); zero
// or less means [MaxHelloSize], and a limit below the smallest possible
// ClientHello (50 bytes) is raised to that.
//
// The ClientHello may be split across several handshake records (RFC
// 8446 section 5.1), which are reassembled; b may end anywhere. The
// result is one of:
//
//   - a Hello and nil: the records end at b[Hello.Len], which may be
//     followed by anything;
//   - a Hello without ServerName and [ErrNoSNI]: the ClientHello is
//     complete and valid but names no host;
//   - [ErrNeedMore]: b is a valid but incomplete prefix; call again with
//     more bytes;
//   - a hard error wrapping [ErrNotTLS], [ErrTooLarge] or [ErrMalformed]
//     (test with errors.Is). ErrNotTLS is decided by the first record
//     header alone, from its first byte on; ErrTooLarge as soon as a
//     record header or the handshake header shows that the ClientHello
//     cannot fit in limit.
//
// A hard error on b is also the verdict on every longer b, and ParseLimit
// never reads b[limit:], so from limit bytes on the answer is never
// ErrNeedMore. While the ClientHello is incomplete only record
// and handshake headers are read, so calling again for every segment is
// cheap. A complete ClientHello in one record is parsed in place; one
// spread over records is first copied once into a buffer of its size.
// Success allocates the ServerName, one string holding the ALPN names
// and the ALPN slice.
func ParseLimit(b []byte, limit int) (Hello, error) {
	if limit <= 0 {
		limit = MaxHelloSize
	}
	limit = max(limit, minLimit)
	f, err := scanRecords(b, limit)
	if err != nil {
		return Hello{}, err
	}
	msg := message(b, f)
	fl, err := parseBody(msg[handshakeHeaderLen:])
	if err != nil {
		return Hello{}, err
	}
	h := Hello{
		ALPN:          fl.protocols(),
		LegacyVersion: fl.legacyVersion,
		MaxVersion:    fl.maxVersion,
		Len:           f.end,
	}
	if fl.serverName == nil {
		return h, ErrNoSNI
	}
	h.ServerName = string(fl.serverName)
	return h, nil
}
