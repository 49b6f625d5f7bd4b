package capsule

// Decoder takes UDP payloads out of a Capsule Protocol data stream (RFC 9297
// section 3.1: the bytes of an HTTP/2 stream's DATA frames, or of an
// HTTP/1.1 connection after the 101 response), without copying them.
//
// It returns the payload of each DATAGRAM capsule with Context ID 0 and
// drops, counting them in Skipped, the capsules a connect-udp endpoint has
// no use for: unknown types, which RFC 9297 section 3.2 says to "silently
// drop" (GREASE among them, section 5.4), and DATAGRAMs for other context
// IDs, which RFC 9298 section 5 lets a receiver that has not registered
// them drop.
//
// The caller's buffer stays bounded. A DATAGRAM capsule is held whole until
// its last byte is in, so it is bounded by Max, and refused as soon as its
// header says it is longer. A capsule of another type may be of any length,
// but it is consumed piecemeal as its bytes arrive, the Decoder remembering
// how much of it is left, so the caller never holds more of it than its
// header. After Decode returns ErrNeedMore, what the caller keeps is
// shorter than MaxHeaderLen + Max.
//
// A DATAGRAM longer than Max is a hard error, where RFC 9297 section 3.5
// would rather it were dropped unread: with Max at DefaultMax, a longer
// one cannot carry a legal UDP payload, and for context ID 0, the only one
// connect-udp defines, RFC 9298 section 5 requires aborting the stream.
//
// The zero value is ready to use. A Decoder belongs to one owner and is not
// safe for concurrent use.
type Decoder struct {
	// Max is the largest DATAGRAM capsule Length (Context ID and payload)
	// accepted. Zero or less means DefaultMax. Set it before the first
	// Decode.
	Max int

	// Skipped counts the capsules dropped so far.
	Skipped uint64

	skip uint64 // bytes of a dropped capsule's value still to come
	err  error  // sticky hard error
}

// Reset prepares d for a new stream and zeroes Skipped; Max is kept.
func (d *Decoder) Reset() { *d = Decoder{Max: d.Max} }

// Decode finds the next UDP payload in b, which continues the stream where
// the bytes consumed by the previous calls ended, and returns it with n,
// the number of bytes of b consumed up to its end. payload aliases b, so
// use it before those bytes are overwritten (appending after b[n:] leaves
// them alone). It may be empty: so may a UDP datagram (RFC 9298
// section 5).
//
// ErrNeedMore means b holds no further payload: keep b[n:] and call again
// once more bytes are appended to it. n is 0 when b starts with part of a
// capsule, and counts the bytes of dropped capsules consumed on the way
// otherwise, including the first part of one whose end is still to come.
//
// Any other error is hard (ErrTooLarge, ErrMalformed; see their
// documentation) and sticky: n is 0 and the stream must be reset.
//
// Decode allocates nothing.
func (d *Decoder) Decode(b []byte) (payload []byte, n int, err error) {
	if d.err != nil {
		return nil, 0, d.err
	}
	max := d.Max
	if max <= 0 {
		max = DefaultMax
	}
	for {
		if d.skip > 0 {
			k := uint64(len(b) - n)
			if k < d.skip {
				d.skip -= k
				return nil, len(b), ErrNeedMore
			}
			n += int(d.skip)
			d.skip = 0
		}
		rest := b[n:]
		t, length, hn, err := ParseHeader(rest)
		if err != nil {
			return nil, n, ErrNeedMore
		}
		if t != TypeDatagram {
			d.Skipped++
			d.skip = length
			n += hn
			continue
		}
		if length > uint64(max) {
			return d.fail(ErrTooLarge)
		}
		if uint64(len(rest)-hn) < length {
			return nil, n, ErrNeedMore
		}
		end := hn + int(length)
		ctx, p, err := ParseDatagram(rest[hn:end:end])
		if err != nil {
			return d.fail(err)
		}
		n += end
		if ctx != 0 {
			d.Skipped++
			continue
		}
		return p, n, nil
	}
}

func (d *Decoder) fail(err error) ([]byte, int, error) {
	d.err = err
	return nil, 0, err
}

// End reports whether the stream may end here, given rest, the bytes the
// caller still holds after Decode last returned ErrNeedMore. A stream that
// ends inside a capsule, held by the caller or being dropped by d, is
// ErrTruncated (RFC 9297 section 3.3); after a hard error, End returns it.
func (d *Decoder) End(rest []byte) error {
	if d.err != nil {
		return d.err
	}
	if d.skip > 0 || len(rest) > 0 {
		return ErrTruncated
	}
	return nil
}
