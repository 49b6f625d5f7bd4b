package relay

import (
	"testing"
	"time"
)

// A tunnel's life in its loop's meters: open while it runs, its bytes as
// they move, its status and reason once it ends.
func TestMetersFollowATunnel(t *testing.T) {
	h := newHarness(t, nil)
	m := h.loop.Meters()
	if m.Open[ProtoH1][KindTCP] != 1 {
		t.Fatalf("open = %d while dialing; want 1", m.Open[ProtoH1][KindTCP])
	}
	h.connect()
	h.client.ev.Data([]byte("abc"))
	h.up.ev.Data([]byte("de"))
	if b := m.Bytes[ProtoH1][KindTCP]; b != [2]int64{3, 2} {
		t.Fatalf("bytes %v while open; want [3 2]", b)
	}
	if m.Connect.Counts == ([len(LatencyBuckets) + 1]uint64{}) || m.FirstByte.Sum < 0 {
		t.Error("no connect time observed")
	}
	h.client.ev.Closed(nil)
	h.up.ev.Closed(nil)
	if m.Open[ProtoH1][KindTCP] != 0 || m.Ended[EndKey{ProtoH1, KindTCP, 200}] != 1 || m.Reasons[ReasonClientClosed] != 1 {
		t.Fatalf("after the end: open %d, ended %v, reasons %v", m.Open[ProtoH1][KindTCP], m.Ended, m.Reasons)
	}
}

// The histogram puts an observation in the first bucket that holds it.
func TestHistogramBuckets(t *testing.T) {
	var h Histogram
	h.observe(300 * time.Microsecond) // <= .0005
	h.observe(3 * time.Millisecond)   // <= .005
	h.observe(time.Minute)            // above every bound
	if h.Counts[0] != 1 || h.Counts[3] != 1 || h.Counts[len(LatencyBuckets)] != 1 {
		t.Fatalf("counts %v", h.Counts)
	}
}
