package engine_test

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// framer takes only whole length-prefixed messages, as the HTTP/2 framer
// does with frames, so the engine has to keep every partial message and
// put it in front of the next plaintext. At the peer's end of data it
// answers with the count and digest of the message bodies it saw.
type framer struct {
	n   int
	sum [sha256.Size]byte // chained: sha256(previous sum || body)
}

func (f *framer) OnData(c *engine.Conn, b []byte) int {
	used := 0
	for len(b)-used >= 2 {
		size := int(binary.BigEndian.Uint16(b[used:]))
		if len(b)-used-2 < size {
			break
		}
		f.sum = sha256.Sum256(append(f.sum[:], b[used+2:used+2+size]...))
		f.n++
		used += 2 + size
	}
	return used
}
func (f *framer) OnReadEOF(c *engine.Conn) {
	c.Write([]byte(strconv.Itoa(f.n) + " " + hex.EncodeToString(f.sum[:])))
	c.CloseAfterFlush()
}
func (f *framer) OnDrained(c *engine.Conn)          {}
func (f *framer) OnTimeout(c *engine.Conn)          {}
func (f *framer) OnClose(c *engine.Conn, err error) {}

// Messages cut across TLS records and across reads at every size, from a
// byte to as much as the loop's 64 KB scratch, reach a handler that
// consumes only whole ones intact and in order.
func TestTLSPartialMessageLeftOverIsKept(t *testing.T) {
	a := serveTLS(t, engine.Config{Workers: 1}, func(c *engine.Conn) engine.Handler { return &framer{} })

	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var sum [sha256.Size]byte
	count := 0
	for len(stream) < 2<<20 {
		size := rng.IntN(100)
		if rng.IntN(8) == 0 {
			size = rng.IntN(65535)
		}
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
		stream = binary.BigEndian.AppendUint16(stream, uint16(size))
		stream = append(stream, body...)
		sum = sha256.Sum256(append(sum[:], body...))
		count++
	}

	c := tls.Client(dial(t, a), &tls.Config{InsecureSkipVerify: true})
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	for rest := stream; len(rest) > 0; {
		k := min(len(rest), 1+rng.IntN(40000))
		if _, err := c.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if want := strconv.Itoa(count) + " " + hex.EncodeToString(sum[:]); string(got) != want {
		t.Fatalf("the handler saw %q (%v); want %q", got, err, want)
	}
}
