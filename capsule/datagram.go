package capsule

// MaxUDPPayload is the largest UDP payload: the UDP Length field is 16 bits
// and counts the 8-byte header (RFC 768). RFC 9298 section 5 makes a longer
// context-0 datagram a reason to abort the stream.
const MaxUDPPayload = 65535 - 8

// DefaultMax is the largest DATAGRAM capsule Length a Decoder accepts by
// default: a UDP payload of MaxUDPPayload bytes behind the longest Context
// ID varint (8 bytes). Any legal connect-udp datagram fits; anything longer
// is one RFC 9297 section 3.5 calls "so large as to not be usable".
const DefaultMax = MaxUDPPayload + 8

// ParseDatagram splits the value of a DATAGRAM capsule, an HTTP Datagram
// Payload, into the Context ID and what follows it (RFC 9298 section 5). For
// context ID 0 the rest is a UDP payload; other IDs belong to extensions
// (RFC 9298 section 4), and a receiver that has not registered one may
// drop its datagrams (section 5). payload aliases value.
//
// A value too short for its Context ID is ErrMalformed (RFC 9297 section
// 3.3). A context-0 payload longer than MaxUDPPayload is ErrTooLarge:
// RFC 9298 section 5 says the receiver MUST abort the stream.
func ParseDatagram(value []byte) (contextID uint64, payload []byte, err error) {
	contextID, n, err := ParseVarint(value)
	if err != nil {
		return 0, nil, ErrMalformed
	}
	payload = value[n:]
	if contextID == 0 && len(payload) > MaxUDPPayload {
		return 0, nil, ErrTooLarge
	}
	return contextID, payload, nil
}

// AppendDatagram appends a whole DATAGRAM capsule: Type, Length, Context ID
// and payload. It allocates only when dst lacks room, so a writer that
// sizes dst with DatagramCapsuleLen appends without allocating. Senders
// keep context-0 payloads within MaxUDPPayload (RFC 9298 section 5); this
// is not checked, as a UDP socket cannot produce more. It panics if
// contextID > MaxVarint.
func AppendDatagram(dst []byte, contextID uint64, payload []byte) []byte {
	dst = AppendHeader(dst, TypeDatagram, VarintLen(contextID)+len(payload))
	dst = AppendVarint(dst, contextID)
	return append(dst, payload...)
}

// Encode appends a DATAGRAM capsule carrying payload as a UDP payload,
// context ID 0. It is the writing half of a relay stage whose reading half
// is a Decoder.
func Encode(dst, payload []byte) []byte {
	return AppendDatagram(dst, 0, payload)
}

// DatagramCapsuleLen returns the size of the DATAGRAM capsule that Encode
// appends for a payload of payloadLen bytes: one byte of Type, the Length
// varint, one byte of Context ID 0, the payload. It panics if payloadLen is
// negative.
func DatagramCapsuleLen(payloadLen int) int {
	if payloadLen < 0 {
		panic("capsule: negative length")
	}
	return 1 + VarintLen(uint64(payloadLen)+1) + 1 + payloadLen
}

// MaxDatagramPayload returns the largest UDP payload whose whole capsule,
// as Encode writes it, fits in limit bytes: the inverse of
// DatagramCapsuleLen. The answer is not simply limit minus a fixed
// overhead, because the Length varint grows with the payload: at a limit
// of 66 the payload is 62, not 63, since a 63-byte payload makes a 64-byte
// value and that needs a 2-byte Length. It returns -1 when not even an
// empty datagram fits, below a limit of DatagramCapsuleLen(0) = 3.
func MaxDatagramPayload(limit int) int {
	if limit < DatagramCapsuleLen(0) {
		return -1
	}
	// Try each size of the Length varint: with k bytes of Length, the
	// value (Context ID 0 and payload) may be at most the k-byte maximum,
	// and at most what is left after the Type byte and k. The best of the
	// four is the answer; limit >= 3 keeps it at least 1.
	room := uint64(limit) - 1
	var best uint64
	for _, s := range [...]struct{ k, max uint64 }{{1, 1<<6 - 1}, {2, 1<<14 - 1}, {4, 1<<30 - 1}, {8, MaxVarint}} {
		if room <= s.k {
			break
		}
		best = max(best, min(room-s.k, s.max))
	}
	return int(best - 1)
}
