// Package padding is the NaïveProxy padding layer: a sans-IO codec for the
// Variant1 framing that a naive client and a padding-capable server wrap
// around the first bytes of each CONNECT tunnel, and the header rules that
// decide whether a tunnel uses it.
//
// The padding is end to end inside one tunnel and sits above HTTP/2 or
// HTTP/3 framing: a padded frame may be cut across DATA frames (or QUIC
// stream chunks) or share one with its neighbours, so the [Decoder] takes
// any fragmentation. Each direction pads only its first [PaddedFrames]
// frames, counted on its own; after that the direction carries raw bytes
// for the rest of the tunnel, with no marker in between. That is the whole
// protocol: the point is to blur the sizes of the first packets (a TLS
// handshake inside the tunnel) while costing nothing once data flows.
//
// Nothing here reads a socket, a clock, or a global random source the caller
// did not choose: every codec works over []byte, and randomness comes through
// [Rand] (nil means math/rand/v2's runtime generator, which is seeded from the
// OS and safe for concurrent use).
//
// A relay stage that pads toward the client and unpads what the client sends
// looks like this (enc and dec live in the stage, one pair per tunnel):
//
//	toward the client: if enc.Passthrough() { client.Write(p) } else { out = enc.Encode(out[:0], p); client.Write(out) }
//	from the client:   for len(b) > 0 { p, n := dec.Next(b); if len(p) > 0 { up.Write(p) }; b = b[n:] }
//
// [Decoder.Next] hands back sub-slices of the borrowed input, so the upload
// direction never copies; once both report Passthrough the stage can step
// out of the way entirely. Encode makes one frame of a p of up to
// [MaxUnsplit] bytes; a stage whose reads may be longer and that wants each
// frame in its own write uses [Encoder.EncodeFrame].
//
// Negotiation ([Negotiate], [ReplyValue], [ReplyType]) is only meaningful on
// HTTP/2 and HTTP/3 CONNECT streams; the caller decides that and must send no
// padding headers on an HTTP/1.1 tunnel it does not pad, since a client takes
// a bare padding reply header as a promise of Variant1.
//
// By file: frame.go (the Variant1 layout), encoder.go ([Encoder]),
// decoder.go ([Decoder]), header.go (negotiation), value.go (header values
// and their alphabet), rand.go ([Rand]), errors.go.
package padding
