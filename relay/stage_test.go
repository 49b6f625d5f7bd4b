package relay

import (
	"bytes"
	"errors"
	"testing"
)

// lenCodec frames units with a one-byte length; a zero length is an
// error, and after `raw` units it passes bytes through.
type lenCodec struct {
	raw     int
	decoded int
}

func (c *lenCodec) Encode(dst, p []byte) []byte { return append(append(dst, byte(len(p))), p...) }

func (c *lenCodec) Decode(b []byte) ([]byte, int, error) {
	n := int(b[0])
	if n == 0 {
		return nil, 0, &StageError{Status: 400, Reason: ReasonBadBody, Err: errors.New("zero length")}
	}
	if len(b) < 1+n {
		return nil, 0, nil
	}
	c.decoded++
	return b[1 : 1+n], 1 + n, nil
}

func (c *lenCodec) EncodeDone() bool { return false }
func (c *lenCodec) DecodeDone() bool { return c.raw > 0 && c.decoded >= c.raw }

// recorder is the Events a stage reports to.
type recorder struct {
	units  [][]byte
	closed error
}

func (r *recorder) Data(p []byte)    { r.units = append(r.units, append([]byte(nil), p...)) }
func (r *recorder) EOF()             {}
func (r *recorder) Drained()         {}
func (r *recorder) Closed(err error) { r.closed = err }

// A stage decodes units whatever the fragmentation of its end's reads, and
// encodes what is written toward the end.
func TestStageDecodesAcrossReads(t *testing.T) {
	wire := []byte("\x03abc\x01d\x05efghi")
	for split := 1; split <= len(wire); split++ {
		inner := newFakeEnd()
		s := Stage(inner, &lenCodec{})
		rec := &recorder{}
		s.Bind(rec)
		for off := 0; off < len(wire); off += split {
			inner.ev.Data(wire[off:min(off+split, len(wire))])
		}
		if got := bytes.Join(rec.units, []byte("|")); string(got) != "abc|d|efghi" {
			t.Fatalf("pieces of %d: units %q", split, got)
		}
		if s.(*stage).pend != nil {
			t.Fatalf("pieces of %d: a buffer is still held after the last unit", split)
		}
	}
	inner := newFakeEnd()
	s := Stage(inner, &lenCodec{})
	s.Write([]byte("xy"))
	if string(inner.got) != "\x02xy" {
		t.Fatalf("encoded %q", inner.got)
	}
}

// Once a codec says a direction is done, bytes pass untouched.
func TestStageTransparent(t *testing.T) {
	inner := newFakeEnd()
	s := Stage(inner, &lenCodec{raw: 1})
	rec := &recorder{}
	s.Bind(rec)
	inner.ev.Data([]byte("\x01a\x00\x00raw"))
	if got := bytes.Join(rec.units, []byte("|")); string(got) != "a|\x00\x00raw" {
		t.Fatalf("units %q; want the framed unit, then the rest raw", got)
	}
}

// A codec error is the end's close with a *StageError; the client of a
// tunnel that sent nothing toward it yet gets its status, the upstream is
// cut, and the access log says why.
func TestStageErrorAnswersTheClient(t *testing.T) {
	inner := newFakeEnd()
	h := newHarness(t, &Request{Proto: ProtoH1, Kind: KindTCP, Method: "POST", Target: "example.com:443"}, withClient(Stage(inner, &lenCodec{})))
	h.connect()
	inner.ev.Data([]byte("\x02ok\x00"))
	if string(h.up.got) != "ok" || !h.up.reset {
		t.Fatalf("upstream got %q reset %v; want the good unit, then a reset", h.up.got, h.up.reset)
	}
	if len(h.front.replies) != 2 || h.front.replies[1] != 400 {
		t.Fatalf("replies %v; want 200 then 400", h.front.replies)
	}
	h.up.ev.Closed(errors.New("reset"))
	h.wantEnd(ReasonBadBody, 400)
}
