package relay

import "github.com/sluice-proxy/sluice/padding"

// Padding is the codec of a NaïveProxy-padded CONNECT tunnel (Variant1),
// over the client end of an HTTP/2 or HTTP/3 stream: each write toward the
// client is one padded frame while the first ones last, and the client's
// padded frames are taken apart however the stream cut them. Once both
// directions are past their padded frames the stage steps aside.
func Padding() Codec { return &paddingCodec{} }

type paddingCodec struct {
	enc padding.Encoder // ServerPadding: uniform [0, 255]
	dec padding.Decoder
}

func (c *paddingCodec) Encode(dst, p []byte) []byte { return c.enc.Encode(dst, p) }

// Decode never fails: any byte stream is valid padded input. A unit of
// only framing relays nothing.
func (c *paddingCodec) Decode(b []byte) ([]byte, int, error) {
	p, n := c.dec.Next(b)
	if len(p) == 0 {
		return nil, n, nil
	}
	return p, n, nil
}

func (c *paddingCodec) EncodeDone() bool { return c.enc.Passthrough() }
func (c *paddingCodec) DecodeDone() bool { return c.dec.Passthrough() }

// Pad is what a CONNECT stream's request asked of padding and what the
// proxy chose, for its 200.
type Pad struct {
	Type  padding.Type
	Reply bool // the request had padding-type-request: the 200 names the type
}

// NegotiatePadding decides a stream's padding from its request (HTTP/2
// and HTTP/3 only; an HTTP/1.1 tunnel is never padded). enabled is
// --padding. An error means a padding-type-request to refuse with 400.
func NegotiatePadding(o padding.Offer, enabled bool) (Pad, error) {
	t, err := padding.Negotiate(o, enabled)
	return Pad{Type: t, Reply: o.HasTypeRequest}, err
}

// Wrap returns e behind the padding stage when the stream is padded.
func (p Pad) Wrap(e End) End {
	if p.Type != padding.Variant1 {
		return e
	}
	return Stage(e, Padding())
}

// ReplyFields calls add with the header fields of the 200: padding-type-
// reply for a client that asked for a type, and a padding value when the
// stream is padded; nothing for a client that said nothing of padding,
// who would otherwise learn what the server is.
func (p Pad) ReplyFields(add func(name, value string)) {
	if p.Reply {
		add(padding.HeaderTypeReply, padding.ReplyType(p.Type))
	}
	if p.Type == padding.Variant1 {
		add(padding.HeaderPadding, padding.ReplyValue(nil))
	}
}
