package padding

// Strategy is how an Encoder picks each frame's padding length.
type Strategy uint8

const (
	// ServerPadding draws P uniformly from [0, 255] for every frame: what a
	// server sends toward the client.
	ServerPadding Strategy = iota
	// ClientPadding is the naive client's rule toward the server: a payload
	// shorter than 100 bytes gets P uniform in [255-len, 255], so every
	// short frame is at least 258 bytes on the wire; longer payloads get P
	// uniform in [0, 255]. The server never needs it; tests that play the
	// client do.
	ClientPadding
)

// shortPayload is where ClientPadding stops inflating small frames.
const shortPayload = 100

// Encoder pads one direction of a tunnel. The zero value is ready and uses
// ServerPadding with the default Rand; set the fields before the first
// call. An Encoder belongs to one goroutine.
//
// Frame boundaries matter to the padding: a frame only hides the size of
// the write it carries if it leaves as its own unit, so each frame should go
// out as its own stream write (its own DATA frame, flushed) rather than be
// coalesced with the next. Encode writes one frame per call for any p of at
// most MaxUnsplit bytes, which makes the Encode call the boundary; for
// longer p, EncodeFrame hands out the frames one at a time.
type Encoder struct {
	Strategy Strategy
	Rand     Rand

	frames int
}

// Encode appends the wire form of p to dst and returns the extended slice.
// While padded frames remain, p becomes one frame, or several if it does not
// fit in one, each counting toward PaddedFrames; if they run out part way,
// the rest of p follows raw. After that p is appended unchanged, and a caller
// that checks Passthrough first can skip the copy. An empty p writes
// nothing and uses up no frame: an empty frame would spend one of the few
// frames that hide anything, and no real writer sends one.
func (e *Encoder) Encode(dst, p []byte) []byte {
	for len(p) > 0 {
		var n int
		dst, n = e.EncodeFrame(dst, p)
		p = p[n:]
	}
	return dst
}

// EncodeFrame is Encode for callers that need the frames apart: it appends
// at most one frame, made of the first n bytes of p, and returns n. In
// passthrough it appends all of p. It returns n == 0 only for an empty p.
func (e *Encoder) EncodeFrame(dst, p []byte) (out []byte, n int) {
	if e.frames >= PaddedFrames {
		return append(dst, p...), len(p)
	}
	if len(p) == 0 {
		return dst, 0
	}
	// The padding is drawn before the payload is cut, as the reference
	// writers do: a large P leaves less room for payload, never the reverse.
	pad := e.padding(len(p))
	n = min(len(p), maxFrameLen-HeaderLen-int(pad))
	e.frames++
	return AppendFrame(dst, p[:n], pad), n
}

func (e *Encoder) padding(n int) uint8 {
	lo := 0
	if e.Strategy == ClientPadding && n < shortPayload {
		lo = MaxPadding - n
	}
	return uint8(lo + uniform(e.Rand, MaxPadding+1-lo))
}

// Passthrough reports that all PaddedFrames frames are out and every later
// byte is sent as is.
func (e *Encoder) Passthrough() bool { return e.frames >= PaddedFrames }

// Frames is how many padded frames have been written, at most PaddedFrames.
func (e *Encoder) Frames() int { return e.frames }
