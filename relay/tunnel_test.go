package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/acl"
	"github.com/sluice-proxy/sluice/engine"
)

// harness is a tunnel between two fake ends on a fake loop, opened through
// the admission path with an open policy.
type harness struct {
	t      *testing.T
	loop   *fakeLoop
	cfg    *Config
	log    *bytes.Buffer
	front  *fakeFront
	client *fakeEnd
	up     *fakeEnd
	tun    *Tunnel
}

const testHigh = 1000

// withClient opens the harness's tunnel on c instead of its fake client end.
func withClient(c End) func(*harness) End { return func(*harness) End { return c } }

func newHarness(t *testing.T, r *Request, client ...func(*harness) End) *harness {
	t.Helper()
	h := &harness{t: t, loop: &fakeLoop{}, log: &bytes.Buffer{}, front: &fakeFront{}, client: newFakeEnd(), up: newFakeEnd()}
	var c End = h.client
	for _, f := range client {
		c = f(h)
	}
	l := zerolog.New(h.log)
	h.cfg = &Config{High: testHigh, Low: testHigh / 4, HardCap: 4 * testHigh, AccessLog: &l}
	p := testPolicy(t, "all", "")
	if r == nil {
		r = &Request{Proto: ProtoH1, Kind: KindTCP, Method: "CONNECT", Target: "example.com:443"}
	}
	h.tun = p.Open(h.loop, h.cfg, c, h.front, *r)
	return h
}

// connect ends the pending dial with the upstream fake end.
func (h *harness) connect() {
	h.t.Helper()
	if len(h.loop.dials) != 1 {
		h.t.Fatalf("%d dials, want 1", len(h.loop.dials))
	}
	h.loop.finishDial(0, h.up, nil)
}

// line is the access-log line; it fails unless exactly one was written.
func (h *harness) line() map[string]any {
	h.t.Helper()
	lines := strings.Split(strings.TrimSpace(h.log.String()), "\n")
	if len(lines) != 1 || lines[0] == "" {
		h.t.Fatalf("access log has %d lines, want 1: %q", len(lines), h.log.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) wantEnd(reason Reason, status int) {
	h.t.Helper()
	if h.tun.state != ended {
		h.t.Fatalf("tunnel not ended (state %d)", h.tun.state)
	}
	m := h.line()
	if m["reason"] != string(reason) || int(m["status"].(float64)) != status {
		h.t.Errorf("access log: reason %v status %v; want %q %d", m["reason"], m["status"], reason, status)
	}
}

// Bytes the client sends before the upstream is connected (with the
// request, and after it) follow it upstream in order, after the 200.
func TestTunnelEarlyBytesFollowTheAnswer(t *testing.T) {
	h := newHarness(t, &Request{Proto: ProtoH1, Kind: KindTCP, Method: "CONNECT", Target: "example.com:443", Rest: []byte("abc")})
	h.client.ev.Data([]byte("def"))
	if len(h.up.got) != 0 || len(h.front.replies) != 0 {
		t.Fatal("something moved before the upstream was connected")
	}
	h.connect()
	if len(h.front.replies) != 1 || h.front.replies[0] != 200 {
		t.Fatalf("replies %v, want [200]", h.front.replies)
	}
	if string(h.up.got) != "abcdef" {
		t.Fatalf("upstream got %q, want the early bytes in order", h.up.got)
	}
	if h.tun.Rec.Up != 6 {
		t.Errorf("bytes up %d, want 6", h.tun.Rec.Up)
	}
}

// Early bytes are bounded: past the high watermark the client is paused
// until the upstream is connected and takes them.
func TestTunnelEarlyBytesPauseTheClient(t *testing.T) {
	h := newHarness(t, nil)
	h.client.ev.Data(make([]byte, testHigh+1))
	if !h.client.paused {
		t.Fatal("client not paused with more than High early bytes")
	}
	h.connect()
	if !h.client.paused || h.up.watchLow != h.cfg.Low {
		t.Fatal("the early bytes sit queued upstream above High: the client must stay paused until they drain")
	}
	h.up.drain(-1)
	if h.client.paused {
		t.Fatal("client still paused after the upstream drained the early bytes")
	}
}

// A client end that half-closes before the upstream exists: the FIN
// follows the early bytes upstream.
func TestTunnelEarlyHalfClose(t *testing.T) {
	h := newHarness(t, nil)
	h.client.ev.Data([]byte("x"))
	h.client.ev.EOF()
	h.connect()
	if string(h.up.got) != "x" || !h.up.fin {
		t.Fatalf("upstream got %q fin %v; want the byte then the FIN", h.up.got, h.up.fin)
	}
}

// Memory stays bounded toward a slow reader, both ways: above High the
// source is paused and a drain watch set at Low; draining resumes it.
func TestTunnelSlowReaderBothWays(t *testing.T) {
	for _, dir := range []string{"toward the client", "toward the upstream"} {
		h := newHarness(t, nil)
		h.connect()
		src, dst := h.up, h.client
		if dir == "toward the upstream" {
			src, dst = h.client, h.up
			dst.drain(-1)
		}
		for i := 0; i < 3 && !src.paused; i++ {
			src.ev.Data(make([]byte, testHigh/2+1))
		}
		if !src.paused || dst.watchLow != h.cfg.Low {
			t.Fatalf("%s: source paused %v, drain watch %d; want paused at High with a watch at Low", dir, src.paused, dst.watchLow)
		}
		if dst.queued > testHigh+testHigh/2+1 {
			t.Errorf("%s: %d queued; want at most High plus one read", dir, dst.queued)
		}
		dst.drain(dst.queued - h.cfg.Low)
		if src.paused {
			t.Fatalf("%s: source still paused after the destination drained to Low", dir)
		}
		if dir == "toward the client" && h.tun.PeakDown == 0 || dir == "toward the upstream" && h.tun.PeakUp == 0 {
			t.Errorf("%s: peak not recorded", dir)
		}
	}
}

// When both ends have stopped reading and both keep sending, the hard cap
// ends the tunnel: both ends cut, logged as overflow.
func TestTunnelHardCap(t *testing.T) {
	h := newHarness(t, nil)
	h.connect()
	for i := 0; i < 10 && h.tun.state != ended; i++ {
		h.up.ev.Data(make([]byte, testHigh))
		if !h.client.reset {
			continue
		}
		h.client.ev.Closed(errors.New("reset"))
		h.up.ev.Closed(errors.New("reset"))
	}
	if !h.client.reset || !h.up.reset {
		t.Fatalf("hard cap: client reset %v, upstream reset %v; want both", h.client.reset, h.up.reset)
	}
	h.wantEnd(ReasonOverflow, 200)
}

// Half-close both ways: a client FIN goes upstream and the upstream's
// bytes still reach the client; the upstream's FIN then ends both once
// flushed. And the other order.
func TestTunnelHalfCloseBothWays(t *testing.T) {
	h := newHarness(t, nil)
	h.connect()
	h.client.ev.EOF()
	if !h.up.fin || h.client.fin {
		t.Fatalf("client FIN: upstream fin %v, client fin %v; want only the upstream's", h.up.fin, h.client.fin)
	}
	h.up.ev.Data([]byte("answer"))
	if string(h.client.got) != "answer" {
		t.Fatalf("after the client's FIN the client got %q", h.client.got)
	}
	h.up.ev.EOF()
	if !h.up.flushed || !h.client.flushed {
		t.Fatal("both FINs seen: both ends must close after their flush")
	}

	h = newHarness(t, nil)
	h.connect()
	h.up.ev.EOF()
	if !h.client.fin {
		t.Fatal("upstream FIN not passed to the client")
	}
	h.client.ev.Data([]byte("more"))
	if string(h.up.got) != "more" {
		t.Fatalf("after the upstream's FIN the upstream got %q", h.up.got)
	}
}

// An orderly close loses nothing: the other end closes only after what is
// queued toward it is out, never with a reset.
func TestTunnelNoLossAtClose(t *testing.T) {
	h := newHarness(t, nil)
	h.connect()
	h.up.ev.Data([]byte("last bytes"))
	h.up.ev.Closed(io.EOF)
	if !h.client.flushed || h.client.reset {
		t.Fatalf("upstream EOF: client flushed %v reset %v; want a close after the flush", h.client.flushed, h.client.reset)
	}
	h.client.ev.Closed(nil)
	h.wantEnd(ReasonUpstreamEOF, 200)
	if h.tun.Rec.Down != int64(len("last bytes")) {
		t.Errorf("bytes down %d", h.tun.Rec.Down)
	}

	h = newHarness(t, nil)
	h.connect()
	h.client.ev.Closed(nil)
	if !h.up.flushed || h.up.reset {
		t.Fatal("client close: the upstream must close after its flush")
	}
	h.up.ev.Closed(nil)
	h.wantEnd(ReasonClientClosed, 200)
}

// A reset on either end resets the other.
func TestTunnelResetPropagates(t *testing.T) {
	h := newHarness(t, nil)
	h.connect()
	h.up.ev.Closed(errors.New("connection reset by peer"))
	if !h.client.reset {
		t.Fatal("upstream reset: client not reset")
	}
	h.client.ev.Closed(nil)
	h.wantEnd(ReasonUpstreamError, 200)
}

// The idle timeout cuts both ends and says so.
func TestTunnelIdleTimeout(t *testing.T) {
	h := newHarness(t, nil)
	h.connect()
	if h.loop.idle == nil {
		t.Fatal("no idle timer armed at connect")
	}
	h.loop.idle()
	if !h.client.reset || !h.up.reset {
		t.Fatal("idle: both ends must be cut")
	}
	h.client.ev.Closed(errors.New("closed"))
	h.up.ev.Closed(errors.New("closed"))
	h.wantEnd(ReasonIdle, 200)
}

// A failed dial is answered with the status of its stage and logged with
// its reason; nothing is relayed.
func TestTunnelDialFailureStatuses(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		reason Reason
	}{
		{&engine.DialError{Stage: engine.StageResolve, Err: errors.New("no such host")}, 502, ReasonDNS},
		{&engine.DialError{Stage: engine.StageConnect, Err: errors.New("refused")}, 502, ReasonConnectFailed},
		{&engine.DialError{Stage: engine.StageForbidden, Err: acl.ErrPrivateAddress}, 403, ReasonPrivate},
		{&engine.DialError{Stage: engine.StageForbidden, Err: ErrSelf}, 403, ReasonSelf},
		{&engine.DialError{Stage: engine.StageTimeout, Err: errors.New("timeout")}, 504, ReasonConnectTimeout},
	} {
		h := newHarness(t, nil)
		h.loop.finishDial(0, nil, tc.err)
		if len(h.front.replies) != 1 || h.front.replies[0] != tc.status {
			t.Errorf("%v: replies %v, want [%d]", tc.err, h.front.replies, tc.status)
		}
		h.wantEnd(tc.reason, tc.status)
	}
}

// A client that leaves while its tunnel is being dialed cancels the dial;
// the tunnel ends once, when the dial's result comes.
func TestTunnelClientLeavesDuringDial(t *testing.T) {
	h := newHarness(t, nil)
	h.client.ev.Closed(nil)
	if h.tun.state != ended {
		t.Fatal("the canceled dial's result did not end the tunnel")
	}
	h.wantEnd(ReasonClientClosed, StatusClientGone)
	if len(h.front.replies) != 0 {
		t.Errorf("a client that left got %v", h.front.replies)
	}
}

// Refusals by the policy are answered and logged with their reason, and no
// dial is made.
func TestOpenRefusals(t *testing.T) {
	for _, tc := range []struct {
		ports, aclText, target string
		status                 int
		reason                 Reason
	}{
		{"443", "", "example.com:22", 403, ReasonPort},
		{"all", "blocked.example 0\ndefault 1\n", "blocked.example:443", 403, ReasonACL},
		{"all", "", "not a host:443", 400, ReasonBadRequest},
	} {
		loop, front, client := &fakeLoop{}, &fakeFront{}, newFakeEnd()
		var log bytes.Buffer
		l := zerolog.New(&log)
		cfg := &Config{AccessLog: &l}
		p := testPolicy(t, tc.ports, tc.aclText)
		tun := p.Open(loop, cfg, client, front, Request{Proto: ProtoH2, Kind: KindTCP, Method: "CONNECT", Target: tc.target})
		if len(loop.dials) != 0 || len(front.replies) != 1 || front.replies[0] != tc.status || tun.state != ended {
			t.Errorf("%s: dials %d replies %v state %d; want no dial and [%d]", tc.target, len(loop.dials), front.replies, tun.state, tc.status)
		}
		if !strings.Contains(log.String(), `"reason":"`+string(tc.reason)+`"`) {
			t.Errorf("%s: access log %q lacks reason %q", tc.target, log.String(), tc.reason)
		}
	}
}

// A zero Config is usable: its watermarks are the defaults, so the first
// write the kernel does not take whole does not end the tunnel.
func TestZeroConfigDefaults(t *testing.T) {
	c := &Config{}
	if c.high() != DefaultHigh || c.low() != DefaultHigh/4 || c.hardCap() != 8*DefaultHigh {
		t.Fatalf("zero config: high %d low %d cap %d", c.high(), c.low(), c.hardCap())
	}
	loop, client, up := &fakeLoop{}, newFakeEnd(), newFakeEnd()
	tun := New(c, loop, client, Record{})
	tun.Connect(engine.DialTarget{Host: "example.com", Port: 443}, nil)
	loop.finishDial(0, up, nil)
	up.ev.Data(make([]byte, 64<<10))
	if tun.state != open || client.reset {
		t.Fatal("a zero Config aborted a tunnel on its first queued bytes")
	}
}
