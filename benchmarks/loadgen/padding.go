package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
)

// NaïveProxy padding (Variant1), as its client does it, written here from
// the description rather than taken from the proxy's own padding package:
// the load tool must stay an independent client, so that a bug shared by
// both sides cannot cancel out.
//
// A CONNECT that asks for it carries "padding-type-request: 1, 0" and a
// "padding" header of random filler; a proxy that grants it answers
// "padding-type-reply: 1". The first 8 writes of each direction of the
// tunnel are then frames
//
//	2 bytes payload length (big-endian), 1 byte padding length P,
//	the payload, P zero bytes
//
// and everything after the 8th frame of a direction is raw. The client pads
// a payload shorter than 100 bytes with P uniform in [255-len, 255] (so a
// short frame is never below 258 bytes on the wire), a longer one with P
// uniform in [0, 255].
const (
	padTypeRequest  = "1, 0"
	padFrames       = 8
	padHeaderLen    = 3
	padMax          = 255
	padShortPayload = 100
	// padMaxFrame bounds header + payload + padding of one frame, as every
	// known writer keeps a frame within 64 KiB.
	padMaxFrame = 1 << 16
)

// padSymbols are the characters of the request's padding value: 16 of
// them, 4 random bits each, all with HPACK Huffman codes of 8 bits or more,
// so header compression cannot shrink the value.
const padSymbols = `!"#$&'()*+,;<>?@`

// paddingRequestValue is the padding header of a CONNECT: 16 to 32
// characters, the first 16 drawn from padSymbols and the rest 'X' filler.
func paddingRequestValue() string {
	n := 16 + rand.IntN(17)
	b := make([]byte, n)
	bits := rand.Uint64()
	for i := range b {
		if i < 16 {
			b[i] = padSymbols[bits&15]
			bits >>= 4
		} else {
			b[i] = 'X'
		}
	}
	return string(b)
}

// setPaddingRequest adds the headers that ask for Variant1.
func setPaddingRequest(h http.Header) {
	h.Set("Padding-Type-Request", padTypeRequest)
	h.Set("Padding", paddingRequestValue())
}

// checkPaddingReply fails a tunnel whose 200 did not grant Variant1: a
// padded run through a proxy that does not pad would measure nothing, or
// send framing the origin cannot parse.
func checkPaddingReply(h http.Header) error {
	if v := h.Values("Padding-Type-Reply"); len(v) != 1 || v[0] != "1" {
		return fmt.Errorf("padding not granted: padding-type-reply %q", v)
	}
	return nil
}

var padZeros [padMax]byte

// clientPadLen is the padding the client gives a payload of n bytes.
func clientPadLen(n int) int {
	lo := 0
	if n < padShortPayload {
		lo = padMax - n
	}
	return lo + rand.IntN(padMax+1-lo)
}

// paddedTunnel frames the first 8 writes and unframes the first 8 frames
// read, over the tunnel of one CONNECT stream. Reads and writes may run on
// two goroutines (one each), as on any tunnel.
type paddedTunnel struct {
	tunnel

	// write side
	outFrames int
	wbuf      []byte

	// read side: the frame being read
	inFrames int
	hdr      [padHeaderLen]byte
	hdrHave  int
	payLeft  int // payload bytes of the current frame not yet returned
	padLeft  int // padding bytes of the current frame not yet skipped
	inFrame  bool
	skip     []byte
}

func newPaddedTunnel(t tunnel) *paddedTunnel { return &paddedTunnel{tunnel: t} }

// Write sends p as one padded frame per underlying write while padded
// frames remain (a p too long for one frame takes several), and the rest
// raw.
func (t *paddedTunnel) Write(p []byte) (int, error) {
	done := 0
	for t.outFrames < padFrames && done < len(p) {
		rest := p[done:]
		pad := clientPadLen(len(rest))
		n := min(len(rest), padMaxFrame-padHeaderLen-pad)
		if cap(t.wbuf) < padHeaderLen+n+pad {
			t.wbuf = make([]byte, 0, padHeaderLen+n+pad)
		}
		b := append(t.wbuf[:0], byte(n>>8), byte(n), byte(pad))
		b = append(b, rest[:n]...)
		b = append(b, padZeros[:pad]...)
		t.wbuf = b
		t.outFrames++
		if _, err := t.tunnel.Write(b); err != nil {
			return done, err
		}
		done += n
	}
	if done == len(p) {
		return done, nil
	}
	n, err := t.tunnel.Write(p[done:])
	return done + n, err
}

// Read returns payload bytes: of the current padded frame (skipping its
// header and padding), or raw ones once 8 frames came in. It blocks until
// at least one payload byte is there, as any Read.
func (t *paddedTunnel) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		switch {
		case !t.inFrame && t.inFrames >= padFrames:
			return t.tunnel.Read(b)
		case !t.inFrame:
			n, err := t.tunnel.Read(t.hdr[t.hdrHave:])
			t.hdrHave += n
			if t.hdrHave == padHeaderLen {
				t.hdrHave = 0
				t.inFrame = true
				t.inFrames++
				t.payLeft = int(t.hdr[0])<<8 | int(t.hdr[1])
				t.padLeft = int(t.hdr[2])
				t.endIfDone()
			}
			if err != nil {
				return 0, midFrame(err, t.hdrHave > 0 || t.inFrame)
			}
		case t.payLeft > 0:
			n, err := t.tunnel.Read(b[:min(len(b), t.payLeft)])
			t.payLeft -= n
			t.endIfDone()
			if err != nil && n == 0 {
				return 0, midFrame(err, true)
			}
			if n > 0 {
				return n, nil
			}
		default: // padding to skip
			if t.skip == nil {
				t.skip = make([]byte, padMax)
			}
			// Its content means nothing; it is not looked at.
			n, err := t.tunnel.Read(t.skip[:t.padLeft])
			t.padLeft -= n
			t.endIfDone()
			if err != nil {
				return 0, midFrame(err, t.inFrame)
			}
		}
	}
}

func (t *paddedTunnel) endIfDone() {
	if t.payLeft == 0 && t.padLeft == 0 {
		t.inFrame = false
	}
}

// midFrame turns an EOF inside a frame into an error: the proxy cut a
// frame short.
func midFrame(err error, inFrame bool) error {
	if inFrame && err == io.EOF {
		return fmt.Errorf("padding: stream ended inside a frame: %w", io.ErrUnexpectedEOF)
	}
	return err
}
