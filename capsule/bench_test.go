package capsule

import "testing"

// BenchmarkDecode is the upload direction of a connect-udp tunnel: 32
// DATAGRAM capsules of 1200-byte payloads, a typical QUIC packet size, with
// a GREASE capsule in front of every eighth.
func BenchmarkDecode(b *testing.B) {
	var in []byte
	for i := range 32 {
		if i%8 == 0 {
			in = Append(in, 0x17, []byte("grease"))
		}
		in = Encode(in, make([]byte, 1200))
	}
	var d Decoder
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		for rest := in; ; {
			_, n, err := d.Decode(rest)
			rest = rest[n:]
			if err == ErrNeedMore {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkAppendDatagram(b *testing.B) {
	p := make([]byte, 1200)
	buf := make([]byte, 0, DatagramCapsuleLen(len(p)))
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		buf = AppendDatagram(buf[:0], 0, p)
	}
}
