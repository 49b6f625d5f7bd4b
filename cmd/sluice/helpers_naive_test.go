package main

// A client that pads as NaïveProxy's does (its headers, its padding and
// fragmentation rules, its reading of the reply), written here from the
// protocol's description and independent of package padding, so the
// proxy's codec is checked against a second implementation.

import (
	"bufio"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http2/hpack"
)

// naiveSymbols are the request-value symbols: printable ASCII whose HPACK
// Huffman code is 8 bits or longer, the first 16 of them, then a filler.
const (
	naiveSymbols = `!"#$&'()*+,;<>?@`
	naiveFiller  = "X"
	naiveFrames  = 8 // padded frames per direction
)

// naiveHeaders are what a current NaïveProxy client sends with a CONNECT:
// a padding value of 16 to 32 characters and its type list, Variant1
// preferred.
func naiveHeaders() http.Header {
	n := 16 + rand.IntN(17)
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i < 16 {
			b.WriteByte(naiveSymbols[rand.IntN(16)])
		} else {
			b.WriteString(naiveFiller)
		}
	}
	return http.Header{"Padding": {b.String()}, "Padding-Type-Request": {"1, 0"}}
}

// incompressible reports whether HPACK's Huffman code cannot make v
// shorter, as a reply's padding value must be.
func incompressible(v string) bool {
	return hpack.HuffmanEncodeLength(v) >= uint64(len(v))
}

// naiveConn is a tunnel as a NaïveProxy client drives it: its first 8
// writes each become a padded frame (a payload under 100 bytes gets
// 255-len to 255 bytes of padding, others 0 to 255), a frame of 400 to
// 1,024 bytes is handed down in pieces of 200 to 300 bytes, and the first
// 8 frames read are unpadded. It is a net.Conn so TLS can run over it.
type naiveConn struct {
	w     io.Writer
	r     *bufio.Reader
	close func()

	sent    int
	got     int
	left    int // payload bytes still due in the frame being read
	pad     int // its padding, skipped once the payload is read
	padSeen int // padding bytes read in all, for the test
}

func newNaiveConn(r io.Reader, w io.Writer, close func()) *naiveConn {
	return &naiveConn{w: w, r: bufio.NewReader(r), close: close}
}

func (c *naiveConn) Write(p []byte) (int, error) {
	if c.sent >= naiveFrames {
		return c.w.Write(p)
	}
	written := 0
	for len(p) > 0 && c.sent < naiveFrames {
		pad := rand.IntN(256)
		if len(p) < 100 {
			pad = 255 - len(p) + rand.IntN(len(p)+1)
		}
		n := min(len(p), 65535-3-pad)
		frame := append([]byte{byte(n >> 8), byte(n), byte(pad)}, p[:n]...)
		frame = append(frame, make([]byte, pad)...)
		if err := c.writeFrame(frame, n); err != nil {
			return written, err
		}
		c.sent++
		written += n
		p = p[n:]
	}
	if len(p) > 0 {
		n, err := c.w.Write(p)
		return written + n, err
	}
	return written, nil
}

// writeFrame hands a frame down, in pieces when its payload is the size
// of a TLS ClientHello.
func (c *naiveConn) writeFrame(frame []byte, payload int) error {
	if payload <= 400 || payload >= 1024 {
		_, err := c.w.Write(frame)
		return err
	}
	for len(frame) > 0 {
		k := min(len(frame), 200+rand.IntN(101))
		if _, err := c.w.Write(frame[:k]); err != nil {
			return err
		}
		frame = frame[k:]
	}
	return nil
}

func (c *naiveConn) Read(b []byte) (int, error) {
	for c.got < naiveFrames && c.left == 0 {
		var h [3]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return 0, err
		}
		c.left, c.pad = int(h[0])<<8|int(h[1]), int(h[2])
		if c.left == 0 {
			if err := c.skipPadding(); err != nil {
				return 0, err
			}
		}
	}
	if c.got >= naiveFrames {
		return c.r.Read(b)
	}
	n, err := c.r.Read(b[:min(len(b), c.left)])
	c.left -= n
	if c.left == 0 && err == nil {
		err = c.skipPadding()
	}
	return n, err
}

func (c *naiveConn) skipPadding() error {
	if _, err := c.r.Discard(c.pad); err != nil {
		return err
	}
	c.padSeen += c.pad
	c.got++
	return nil
}

func (c *naiveConn) Close() error                     { c.close(); return nil }
func (c *naiveConn) LocalAddr() net.Addr              { return naiveAddr{} }
func (c *naiveConn) RemoteAddr() net.Addr             { return naiveAddr{} }
func (c *naiveConn) SetDeadline(time.Time) error      { return nil }
func (c *naiveConn) SetReadDeadline(time.Time) error  { return nil }
func (c *naiveConn) SetWriteDeadline(time.Time) error { return nil }

type naiveAddr struct{}

func (naiveAddr) Network() string { return "naive" }
func (naiveAddr) String() string  { return "naive-tunnel" }
