package connectudp

import "github.com/quic-go/quic-go/quicvarint"

// CapsuleDatagram is the DATAGRAM capsule type (RFC 9297 section 3.5).
const CapsuleDatagram = 0

// AppendDatagram appends to b the DATAGRAM capsule that carries the UDP
// payload p: type 0, length, then context ID 0 and the payload. A flow on
// a byte stream writes each capsule with one Write, as a client that
// sends each datagram when it has it would.
func AppendDatagram(b, p []byte) []byte {
	b = quicvarint.Append(b, CapsuleDatagram)
	b = quicvarint.Append(b, uint64(1+len(p)))
	b = append(b, 0) // context ID 0: a UDP payload
	return append(b, p...)
}
