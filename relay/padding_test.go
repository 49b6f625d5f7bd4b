package relay

import (
	"bytes"
	"testing"

	"github.com/sluice-proxy/sluice/padding"
)

// frame is a Variant1 frame, built by hand: length, padding length,
// payload, zeros.
func frame(payload string, pad int) []byte {
	b := []byte{byte(len(payload) >> 8), byte(len(payload)), byte(pad)}
	return append(append(b, payload...), make([]byte, pad)...)
}

// Padded bytes the client sends before the upstream is connected (fast
// open), cut anywhere, reach it unpadded and in order after the 200; the
// upstream's answer goes back as a padded frame.
func TestPaddingStageEarlyBytes(t *testing.T) {
	h := newHarness(t, nil, func(h *harness) End { return Stage(h.client, Padding()) })
	wire := append(frame("GET / ", 250), frame("HTTP/1.1", 3)...)
	for _, piece := range [][]byte{wire[:1], wire[1:2], wire[2:200], wire[200:]} {
		h.client.ev.Data(piece)
	}
	if len(h.up.got) != 0 {
		t.Fatal("bytes moved before the upstream was connected")
	}
	h.connect()
	if string(h.up.got) != "GET / HTTP/1.1" {
		t.Fatalf("upstream got %q; want the payloads in order", h.up.got)
	}
	h.up.ev.Data([]byte("ok"))
	var d padding.Decoder
	if p := d.Decode(nil, h.client.got); string(p) != "ok" || d.Frames() != 1 {
		t.Fatalf("client got %x: want one padded frame of \"ok\"", h.client.got)
	}
}

// After 8 frames each way the stage passes bytes through untouched, even
// bytes that look like frames.
func TestPaddingStagePassthrough(t *testing.T) {
	h := newHarness(t, nil, func(h *harness) End { return Stage(h.client, Padding()) })
	h.connect()
	for i := 0; i < 8; i++ {
		h.client.ev.Data(frame("x", 1))
		h.up.ev.Data([]byte("y"))
	}
	h.client.got, h.up.got = nil, nil
	raw := frame("raw", 2)
	h.client.ev.Data(raw)
	h.up.ev.Data(raw)
	if !bytes.Equal(h.up.got, raw) || !bytes.Equal(h.client.got, raw) {
		t.Fatalf("after 8 frames: upstream got %x, client %x; want %x both", h.up.got, h.client.got, raw)
	}
}

// Negotiation as the 200 shows it: a type list gets padding-type-reply,
// Variant1 a padding value; a client that said nothing gets nothing.
func TestNegotiatePaddingReply(t *testing.T) {
	for _, tc := range []struct {
		offer   padding.Offer
		enabled bool
		want    []string // field names in the reply
		padded  bool
		bad     bool
	}{
		{padding.Offer{Padding: true, HasTypeRequest: true, TypeRequest: "1, 0"}, true, []string{"padding-type-reply", "padding"}, true, false},
		{padding.Offer{Padding: true}, true, []string{"padding"}, true, false},
		{padding.Offer{Padding: true, HasTypeRequest: true, TypeRequest: "1, 0"}, false, []string{"padding-type-reply"}, false, false},
		{padding.Offer{}, true, nil, false, false},
		{padding.Offer{HasTypeRequest: true, TypeRequest: "3"}, true, []string{"padding-type-reply"}, false, true},
	} {
		pad, err := NegotiatePadding(tc.offer, tc.enabled)
		var got []string
		pad.ReplyFields(func(name, _ string) { got = append(got, name) })
		if (err != nil) != tc.bad || (pad.Type == padding.Variant1) != tc.padded || len(got) != len(tc.want) {
			t.Errorf("%+v enabled=%v: %+v %v, fields %v; want %v", tc.offer, tc.enabled, pad, err, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%+v: fields %v; want %v", tc.offer, got, tc.want)
			}
		}
	}
}
