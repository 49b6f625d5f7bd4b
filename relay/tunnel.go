package relay

import (
	"errors"
	"io"
	"time"

	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/engine"
)

// Config is shared by every tunnel of a server; immutable once in use.
type Config struct {
	High        int // per-direction high watermark: stop reading the source above it
	Low         int // resume below it
	HardCap     int // a direction buffered past this means both ends stopped reading: end the tunnel
	IdleTimeout time.Duration
	AccessLog   *zerolog.Logger // nil: no access log
	// SpliceAfter moves a plain-TCP HTTP/1.1 tunnel to splice(2) once it
	// has carried this many bytes (0: never); Splices caps how many at once.
	SpliceAfter int64
	Splices     *Splices
}

// Tunnel relays bytes between a client Side and a TCP upstream. It is an
// actor owned by one event loop: the client's, on which the upstream is
// enrolled too, so it needs no lock. Front ends feed client events in with
// FromClient/ClientEOF/ClientDrained/ClientClosed, or, when the client is a
// whole socket (HTTP/1.1), make the tunnel that socket's engine.Handler.
type Tunnel struct {
	// Immutable after New.
	cfg    *Config
	client Side
	cc     *engine.Conn // the client when it is a whole socket, else nil

	// Owned by the loop.
	Rec        Record
	up         *engine.Conn
	early      []byte // client bytes that came before the upstream was connected
	cancelDial func()
	connected  time.Time
	clientDone bool
	clientEOF  bool // the client half-closed before the upstream was connected
	upDone     bool
	ended      bool
	splice     *splicing // set once the tunnel is leaving the loop
	spliceOK   bool      // may ever splice: decided once, not on every read
	// PeakUp and PeakDown are the most bytes seen queued toward the upstream
	// and toward the client: what the watermarks bound.
	PeakUp, PeakDown int
	// OnEnd runs once, after the access-log line, when both sides are done.
	OnEnd func(t *Tunnel)
}

// New returns a tunnel for client. cc is the client's own socket for
// HTTP/1.1 (the tunnel becomes its handler), nil for streams.
func New(cfg *Config, client Side, cc *engine.Conn, rec Record) *Tunnel {
	t := &Tunnel{cfg: cfg, client: client, cc: cc, Rec: rec}
	t.spliceOK = cfg.SpliceAfter > 0 && cc != nil && !cc.IsTLS()
	if t.Rec.Start.IsZero() {
		t.Rec.Start = time.Now()
	}
	if t.Rec.Kind == "" {
		t.Rec.Kind = "tcp"
	}
	if cc != nil {
		cc.SetHandler(t)
	}
	return t
}

// Connect dials target from via's loop (the client's), then calls ready on
// that loop: with 200 when the upstream is connected (the front end writes
// its success response; early client bytes follow it upstream), or with the
// status to answer and the error.
func (t *Tunnel) Connect(via *engine.Conn, target engine.DialTarget, ready func(status int, err error)) {
	t.cancelDial = via.Dial(target, t, func(up *engine.Conn, info engine.DialInfo, err error) {
		t.cancelDial = nil
		t.Rec.Resolved, t.Rec.Resolve, t.Rec.Connect = info.Addr, info.Resolve, info.Connect
		if err != nil {
			t.Rec.Status = Status(err)
			if t.Rec.Reason == "" {
				t.Rec.Reason = ReasonDialFailed
			}
			t.upDone = true
			t.early = nil
			ready(t.Rec.Status, err)
			t.maybeEnd() // the client may have left during the dial
			return
		}
		if t.clientDone { // the client left while we dialed
			t.up = up
			up.Close() // its OnClose marks the upstream done and ends the tunnel
			return
		}
		t.up = up
		t.Rec.Status = 200
		t.connected = time.Now()
		up.SetIdleTimeout(t.cfg.IdleTimeout)
		ready(200, nil)
		if len(t.early) > 0 {
			early := t.early
			t.early = nil
			t.toUpstream(early)
			if !t.ended && t.up.Buffered() <= t.cfg.High {
				t.client.ResumeRead() // paused while the early bytes piled up
			}
		}
		if t.clientEOF && !t.ended {
			t.up.CloseWrite()
		}
	})
}

// KeepOnLoop rules out splicing: a front end that stands between the
// client socket and the tunnel (cutting a request body, say) must see
// every byte.
func (t *Tunnel) KeepOnLoop() { t.spliceOK = false }

// Upstream is the upstream socket once connected, else nil (for front
// ends that put a stage in front of the tunnel on that side).
func (t *Tunnel) Upstream() *engine.Conn { return t.up }

// ToClient relays upstream bytes that a front-end stage passed on; b is
// borrowed.
func (t *Tunnel) ToClient(b []byte) { t.toClient(b) }

// FromClient relays client bytes; b is borrowed. It returns len(b): the
// tunnel takes everything and applies backpressure by pausing the client.
func (t *Tunnel) FromClient(b []byte) int {
	if t.up == nil {
		if !t.upDone {
			t.early = append(t.early, b...)
			if len(t.early) > t.cfg.High {
				t.client.PauseRead()
			}
		}
		return len(b)
	}
	t.toUpstream(b)
	return len(b)
}

func (t *Tunnel) toUpstream(b []byte) {
	t.Rec.Up += int64(len(b))
	t.up.Write(b)
	t.up.Touch()
	n := t.up.Buffered()
	t.PeakUp = max(t.PeakUp, n)
	t.queued(t.up, t.client, n)
}

func (t *Tunnel) toClient(b []byte) {
	if t.Rec.Down == 0 && !t.connected.IsZero() {
		t.Rec.FirstByte = time.Since(t.connected)
	}
	t.Rec.Down += int64(len(b))
	t.client.Write(b)
	n := t.client.Buffered()
	t.PeakDown = max(t.PeakDown, n)
	t.queued(t.client, t.up, n)
}

// queued applies the watermarks once bytes from src were queued toward dst,
// which now holds n: above High, src stops until dst drains to Low; above
// HardCap both ends have stopped reading, and the tunnel ends.
func (t *Tunnel) queued(dst, src Side, n int) {
	if n > t.cfg.High {
		if n > t.cfg.HardCap {
			t.abort(ReasonOverflow)
			return
		}
		src.PauseRead()
		dst.WatchDrain(t.cfg.Low)
		return
	}
	t.maybeSplice()
}

// ClientDrained: the bytes queued toward the client fell to the low watermark.
func (t *Tunnel) ClientDrained() {
	if t.up != nil {
		t.up.ResumeRead()
	}
}

// ClientEOF: the client will send no more but still reads (half-close).
// Before the upstream is connected it is remembered and passed on after
// the early bytes.
func (t *Tunnel) ClientEOF() {
	if t.up != nil {
		t.up.CloseWrite()
		return
	}
	t.clientEOF = true
}

// ClientClosed: the client end is gone. err is nil or io.EOF for an
// orderly end, after which what the client sent still reaches the upstream.
func (t *Tunnel) ClientClosed(err error) {
	if t.clientDone {
		return
	}
	t.clientDone = true
	if t.Rec.Reason == "" {
		if err == nil || errors.Is(err, io.EOF) {
			t.Rec.Reason = ReasonClientClosed
		} else {
			t.Rec.Reason = ReasonClientError
		}
	}
	switch {
	case t.cancelDial != nil:
		t.cancelDial()
	case t.up != nil && !t.upDone:
		if t.Rec.Reason == ReasonClientClosed {
			t.up.CloseAfterFlush()
		} else {
			t.up.Close()
		}
	}
	t.maybeEnd()
}

// Abort ends both sides now, for reason r.
func (t *Tunnel) Abort(r Reason) { t.abort(r) }

// abort ends both sides now.
func (t *Tunnel) abort(r Reason) {
	if t.Rec.Reason == "" || t.Rec.Reason == ReasonClientClosed || t.Rec.Reason == ReasonUpstreamEOF {
		t.Rec.Reason = r
	}
	// The client first: closing the upstream first would look like its EOF
	// and end the client cleanly (END_STREAM), hiding the abort.
	if !t.clientDone {
		t.client.Close()
	}
	if t.up != nil && !t.upDone {
		t.up.Close()
	}
}

func (t *Tunnel) maybeEnd() {
	if t.ended || !t.clientDone || !t.upDone {
		return
	}
	t.ended = true
	if t.Rec.Reason == "" {
		t.Rec.Reason = ReasonDone
	}
	t.Rec.Write(t.cfg.AccessLog)
	if t.OnEnd != nil {
		t.OnEnd(t)
	}
}
