// Package capsule is sluice's codec for HTTP Datagrams carried in the
// Capsule Protocol (RFC 9297), as connect-udp (RFC 9298) uses them over
// HTTP/2 and HTTP/1.1, where there are no QUIC DATAGRAM frames.
//
// It is sans-IO and imports only the standard library: parsers take a
// []byte that holds the start of the input and either report what they
// parsed and how many bytes it took, or report [ErrNeedMore] without
// consuming anything (the Decoder may consume bytes of capsules it drops
// before it runs out); writers append to a caller-owned []byte. Parsed
// slices alias the input and are valid only as long as it is.
//
// The pieces, by file:
//
//   - varint.go: QUIC variable-length integers (RFC 9000 section 16),
//     [ParseVarint], [AppendVarint], [VarintLen]. Parsing accepts
//     non-minimal encodings, which RFC 9297 section 1.1 allows; writing
//     is always minimal.
//   - capsule.go: the Type, Length, Value framing of RFC 9297 section 3.2,
//     [ParseHeader], [Parse] (bounded by the caller's max),
//     [AppendHeader], [Append].
//   - datagram.go: the DATAGRAM capsule (RFC 9297 section 3.5) and the
//     connect-udp payload inside it, a Context ID then the UDP payload
//     (RFC 9298 section 5): [ParseDatagram], [AppendDatagram], [Encode],
//     [DatagramCapsuleLen], [MaxDatagramPayload].
//   - decoder.go: [Decoder], the hot-path reader of a relay stage between
//     a data stream and UDP datagrams.
//   - errors.go: [ErrNeedMore], and the hard errors, after which the
//     stream is reset (RFC 9297 section 3.3).
//
// A relay stage drives a Decoder like this, keeping what Decode did not
// consume in front of the next bytes that arrive:
//
//	var d capsule.Decoder             // Max: DefaultMax
//	on stream bytes: buf = append(buf, p...)
//	    for {
//	        payload, n, err := d.Decode(buf)
//	        buf = buf[n:]             // whatever err is
//	        if err == capsule.ErrNeedMore { break }
//	        if err != nil { reset the stream }
//	        send payload as one UDP datagram (it aliases buf)
//	    }
//	on stream end: if d.End(buf) != nil { the stream was malformed }
//	on UDP datagram: out = capsule.Encode(out, datagram)
//
// Flow control: RFC 9297 section 3.2 warns that a receiver which waits for
// whole capsules before releasing flow-control credit can deadlock, since
// a capsule may be longer than the window. A Decoder holds no bytes
// itself, and the caller never holds more than MaxHeaderLen + Max of them,
// so an HTTP/2 adapter can credit bytes as consumed as soon as it has
// buffered them: memory stays bounded by Max regardless.
//
// Everything here is safe for concurrent use except a Decoder, which
// belongs to one owner.
package capsule
