package padding

// Decoder states, one per field of a frame. The header fields are a byte
// each, so walking them byte by byte costs nothing and makes every split of
// the input the same as any other.
const (
	stLenHi uint8 = iota
	stLenLo
	stPadLen
	stPayload
	stPadding
)

// Decoder removes the padding from one direction of a tunnel. The zero
// value is ready. It never buffers: its state is a few counters, payload
// bytes are released as they arrive, and any byte stream is valid input,
// so there is nothing to fail on. A Decoder belongs to one goroutine.
//
// Frames with an empty payload (pure padding) are legal and count toward
// PaddedFrames like any other.
type Decoder struct {
	frames int
	state  uint8
	left   int // payload or padding bytes still due in the current field
	pad    int // the current frame's padding length, until its payload ends
}

// Next consumes the bytes of b up to and including the next run of payload
// bytes and returns that run, a sub-slice of b, and how many bytes of b it
// consumed. payload is empty when b held only framing (n is then len(b)).
// For a non-empty b, n > 0, so
//
//	for len(b) > 0 { p, n := dec.Next(b); use(p); b = b[n:] }
//
// ends, and yields the stream's payload without copying or allocating. Once
// the last padded frame is complete the rest of b is returned whole, joined
// to the payload before it when nothing lies between them.
func (d *Decoder) Next(b []byte) (payload []byte, n int) {
	for n < len(b) {
		// The last padded frame may end inside b, and what follows it is
		// raw, never a header.
		if d.frames >= PaddedFrames {
			return b[n:], len(b)
		}
		switch d.state {
		case stLenHi:
			d.left = int(b[n]) << 8
			d.state = stLenLo
			n++
		case stLenLo:
			d.left |= int(b[n])
			d.state = stPadLen
			n++
		case stPadLen:
			d.pad = int(b[n])
			n++
			d.state = stPayload
			if d.left == 0 {
				d.endPayload()
			}
		case stPayload:
			start := n
			k := min(d.left, len(b)-n)
			n += k
			d.left -= k
			if d.left == 0 {
				d.endPayload()
				if d.frames >= PaddedFrames {
					n = len(b)
				}
			}
			return b[start:n], n
		case stPadding:
			k := min(d.left, len(b)-n)
			n += k
			d.left -= k
			if d.left == 0 {
				d.endFrame()
			}
		}
	}
	return nil, n
}

// endPayload moves past a payload that has been fully released.
func (d *Decoder) endPayload() {
	if d.pad == 0 {
		d.endFrame()
		return
	}
	d.state, d.left, d.pad = stPadding, d.pad, 0
}

func (d *Decoder) endFrame() {
	d.frames++
	d.state, d.left, d.pad = stLenHi, 0, 0
}

// Decode appends the payload bytes in b to dst and returns the extended
// slice. It consumes all of b; a frame cut short resumes on the next call.
// Next does the same without the copy.
func (d *Decoder) Decode(dst, b []byte) []byte {
	for len(b) > 0 {
		p, n := d.Next(b)
		dst = append(dst, p...)
		b = b[n:]
	}
	return dst
}

// Passthrough reports that all PaddedFrames frames are complete and every
// later byte is payload.
func (d *Decoder) Passthrough() bool { return d.frames >= PaddedFrames }

// Frames is how many padded frames are complete, at most PaddedFrames.
func (d *Decoder) Frames() int { return d.frames }

// InFrame reports that a frame has begun but not ended. At the end of the
// stream it means the peer cut a frame short.
func (d *Decoder) InFrame() bool {
	return d.frames < PaddedFrames && d.state != stLenHi
}
