package clienthello

// TLS record and handshake framing constants.
const (
	recordHeaderLen    = 5       // ContentType, ProtocolVersion, uint16 length (RFC 8446 section 5.1)
	maxFragment        = 1 << 14 // RFC 8446 section 5.1: a TLSPlaintext.length over 2^14 is record_overflow
	contentHandshake   = 22
	handshakeHeaderLen = 4 // HandshakeType, uint24 length (RFC 8446 section 4)
	typeClientHello    = 1

	// minHelloBody is a ClientHello with one cipher suite, one
	// compression method and no extensions, which RFC 5246 section
	// 7.4.1.2 still allows: legacy_version, random, an empty session id,
	// cipher_suites<2..2^16-2>, legacy_compression_methods<1..2^8-1>.
	minHelloBody = 2 + 32 + 1 + 2 + 2 + 1 + 1
	// maxHelloBody is the largest body the vectors of RFC 8446 section
	// 4.1.2 can frame: every field at its maximum, extensions<..2^16-1>
	// included. Anything longer is not a ClientHello, whatever the limit.
	maxHelloBody = 2 + 32 + (1 + 32) + (2 + 65534) + (1 + 255) + (2 + 65535)

	// minLimit is the smallest ClientHello in records. A lower limit
	// would refuse every hello, and one under a record header would make
	// the first header straddle it.
	minLimit = recordHeaderLen + handshakeHeaderLen + minHelloBody
)

// frame is where the ClientHello sits in b once its records are complete.
type frame struct {
	end     int // bytes of b taken by the records carrying the ClientHello
	msgLen  int // handshake header plus body
	records int // number of records; 1 means the message is contiguous at b[5:]
}

// checkRecordHeader checks the bytes of a record header present in hdr
// (up to five), one byte at a time, so that a stream that is not TLS is
// recognised from its first byte and a verdict never depends on bytes not
// yet read. first selects the errors for the record that must open a TLS
// connection.
func checkRecordHeader(hdr []byte, first bool) error {
	if len(hdr) >= 1 && hdr[0] != contentHandshake {
		// RFC 8446 section 5.1: handshake messages must not be
		// interleaved with other record types, so any other type before
		// the ClientHello is complete means this is not our stream.
		if first {
			return errNotHandshake
		}
		return errInterleaved
	}
	// legacy_record_version: 0x0301 or 0x0303 in practice (RFC 8446
	// section 5.1, RFC 5246 appendix E.1); 3.0 and 3.4 are tolerated
	// because a version byte carries no routing decision.
	if len(hdr) >= 2 && hdr[1] != 3 || len(hdr) >= 3 && hdr[2] > 4 {
		if first {
			return errRecordVersion
		}
		return errNextVersion
	}
	// The high length byte alone can already show an overflow.
	if len(hdr) >= 4 && hdr[3] > maxFragment>>8 ||
		len(hdr) >= 5 && int(hdr[3])<<8|int(hdr[4]) > maxFragment {
		if first {
			return errRecordOverflow
		}
		return errNextOverflow
	}
	// RFC 8446 section 5.1 forbids zero-length handshake fragments.
	if len(hdr) >= 5 && hdr[3] == 0 && hdr[4] == 0 {
		if first {
			return errRecordEmpty
		}
		return errNextEmpty
	}
	return nil
}

// scanRecords walks the handshake records at the start of b until they
// hold one whole handshake message (RFC 8446 section 5.1: a message may
// be fragmented across records, its 4-byte header included). It reads
// headers and the handshake header only, so an incomplete ClientHello
// costs a few comparisons per record however often the caller retries,
// and it never looks at b[limit:].
//
// Every check runs in stream order and depends only on the bytes before
// it, so a prefix of b fails exactly when b fails, with the same error.
func scanRecords(b []byte, limit int) (frame, error) {
	var (
		hs   [handshakeHeaderLen]byte // handshake header, possibly spread over records
		have int                      // handshake bytes in the records walked so far
		need = -1                     // handshake header plus body, once known
		pos  int                      // start of the current record
	)
	for n := 0; ; n++ {
		// Another record is needed; not even its header fits.
		if n > 0 && pos+recordHeaderLen > limit {
			return frame{}, errRecordsTooLarge
		}
		hdr := b[pos:min(len(b), pos+recordHeaderLen)]
		if err := checkRecordHeader(hdr, n == 0); err != nil {
			return frame{}, err
		}
		if len(hdr) < recordHeaderLen {
			return frame{}, ErrNeedMore
		}
		rlen := int(hdr[3])<<8 | int(hdr[4])
		start := pos + recordHeaderLen
		if start+rlen > limit {
			return frame{}, errHelloTooLarge
		}
		frag := b[start:min(len(b), start+rlen)]
		for i := 0; have+i < handshakeHeaderLen && i < len(frag); i++ {
			hs[have+i] = frag[i]
			switch have + i {
			case 0:
				// Only a ClientHello may open a connection (RFC 8446
				// section 4.1.2); a ServerHello here is a server
				// talking to us, or a reflection.
				if hs[0] != typeClientHello {
					return frame{}, errNotClientHello
				}
			case handshakeHeaderLen - 1:
				body := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
				need = handshakeHeaderLen + body
				if err := checkHelloLen(body, need, have+rlen, start+rlen, limit); err != nil {
					return frame{}, err
				}
			}
		}
		if need >= 0 && have+rlen > need {
			// A ClientHello can precede a key change (0-RTT), so RFC
			// 8446 section 5.1 has it end on a record boundary; what
			// follows it is early data in records of their own.
			return frame{}, errPastHello
		}
		if len(frag) < rlen {
			return frame{}, ErrNeedMore
		}
		have += rlen
		pos = start + rlen
		if have == need {
			return frame{end: pos, msgLen: need, records: n + 1}, nil
		}
	}
}

// checkHelloLen judges a ClientHello by the length in its handshake
// header, as soon as that header is read: have is the handshake bytes up
// to the end of the current record, which ends at recEnd in b. The size
// limit is applied to the fewest record bytes that can still carry the
// rest, so an oversized hello is refused before it is buffered.
func checkHelloLen(body, need, have, recEnd, limit int) error {
	if rest := need - have; rest > 0 {
		records := (rest + maxFragment - 1) / maxFragment
		if recEnd+rest+records*recordHeaderLen > limit {
			return errHelloTooLarge
		}
	}
	if body < minHelloBody {
		return errHelloShort
	}
	if body > maxHelloBody {
		return errHelloLong
	}
	return nil
}

// message returns the handshake message that f locates in b: a sub-slice
// when it is contiguous in one record, otherwise a copy of its fragments
// in one allocation of f.msgLen bytes, which scanRecords bounded by the
// limit.
func message(b []byte, f frame) []byte {
	if f.records == 1 {
		return b[recordHeaderLen : recordHeaderLen+f.msgLen]
	}
	msg := make([]byte, 0, f.msgLen)
	for pos := 0; pos < f.end; {
		rlen := int(b[pos+3])<<8 | int(b[pos+4])
		start := pos + recordHeaderLen
		msg = append(msg, b[start:start+rlen]...)
		pos = start + rlen
	}
	return msg
}
