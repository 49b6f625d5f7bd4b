package h2

import "testing"

// A PING goes out once until its ACK comes; an ACK with other data does
// not count.
func TestPingAck(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.start()
	hs.c.Ping()
	hs.c.Ping() // still outstanding: no second one
	var sent []gotFrame
	for _, f := range hs.frames() {
		if f.Type == FramePing {
			sent = append(sent, f)
		}
	}
	if len(sent) != 1 || sent[0].Flags.Has(FlagPingAck) || !hs.c.PingOutstanding() {
		t.Fatalf("PING frames %v, outstanding %v; want one PING out", sent, hs.c.PingOutstanding())
	}
	var data, other [8]byte
	copy(data[:], sent[0].payload)
	other[0] = 0xff
	hs.feed(AppendPing(nil, true, other))
	if !hs.c.PingOutstanding() {
		t.Fatal("an ACK of other data cleared the PING")
	}
	hs.feed(AppendPing(nil, true, data))
	if hs.c.PingOutstanding() {
		t.Fatal("the ACK did not clear the PING")
	}
}

// TimedOut fails the connection: SETTINGS_TIMEOUT before the client
// acknowledged our SETTINGS, NO_ERROR after; every stream is reset.
func TestTimedOut(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.feed(append([]byte(ClientPreface), AppendSettings(nil, nil)...)) // no ACK of ours
	hs.frames()
	hs.c.TimedOut()
	if g := framesOf(hs.frames(), FrameGoAway); len(g) != 1 || g[0].code != ErrCodeSettingsTimeout || !hs.c.Closed() {
		t.Fatalf("GOAWAY %v closed %v; want SETTINGS_TIMEOUT and closed", g, hs.c.Closed())
	}

	hs = newHarness(t, Config{})
	hs.start()
	hs.feed(hs.connect(1, "a:443"))
	hs.c.Ping()
	hs.frames()
	hs.c.TimedOut()
	if g := framesOf(hs.frames(), FrameGoAway); len(g) != 1 || g[0].code != ErrCodeNo || !hs.c.Closed() {
		t.Fatalf("GOAWAY %v closed %v; want NO_ERROR and closed", g, hs.c.Closed())
	}
	if _, reset := hs.h.resets[1]; !reset {
		t.Error("the open stream was not reset when the conn timed out")
	}
}
