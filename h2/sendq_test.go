package h2

import (
	"bytes"
	"testing"
)

// TestSendQueueThroughWindowUpdates: a response larger than the client's
// window waits in the queue and goes out, in order and whole, as credit
// comes in small steps; END_STREAM follows the last byte; once empty the
// queue holds no buffer. Bytes written while others wait join them behind.
func TestSendQueueThroughWindowUpdates(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	st := hs.h.streams[1]
	st.WriteHeaders(200, nil, false)
	_ = hs.frames()
	hs.c.ResetOutput()

	body := make([]byte, 300<<10)
	for i := range body {
		body[i] = byte(i * 13)
	}
	var q sendQueue
	q.write(st, body[:200<<10], false)
	if q.len() == 0 {
		t.Fatal("nothing queued past a 65,535-byte window")
	}
	q.write(st, body[200<<10:], true) // joins the queue behind
	var got []byte
	ended := false
	collect := func() {
		for _, f := range hs.frames() {
			if f.Type == FrameData && f.StreamID == 1 {
				got = append(got, f.data...)
				ended = ended || f.Flags.Has(FlagDataEndStream)
			}
		}
		hs.c.ResetOutput()
	}
	collect()
	for steps := 0; q.len() > 0 || !ended; steps++ {
		if steps > 1000 {
			t.Fatalf("queue not drained after %d window updates: %d bytes left", steps, q.len())
		}
		hs.feed(AppendWindowUpdate(AppendWindowUpdate(nil, 0, 7000), 1, 7000))
		q.flush(st)
		collect()
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("sent %d bytes; want the %d written, in order", len(got), len(body))
	}
	if q.buf != nil || q.off != 0 {
		t.Fatalf("an empty queue keeps a buffer (%d bytes at offset %d)", cap(*q.buf), q.off)
	}
}
