package relay

import (
	"net"
	"net/netip"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// Request is a proxy request as a front end parsed it: what Policy.Open
// needs to decide on it and to log it.
type Request struct {
	Proto  Proto
	Kind   Kind
	Use    Use // which port list governs the target
	Client netip.AddrPort
	Method string // as the client sent it, for the log
	Target string // as the client wrote it: logged, and admitted unless Host is set
	// Host and Port are the target when the front end split it itself (an
	// absolute URI, a URI template); with Host empty, Target is parsed as
	// host:port.
	Host          string
	Port          uint16
	Authorization string // the Proxy-Authorization value
	// Head goes upstream before any client byte (a forwarded request's
	// rewritten head); the tunnel keeps it.
	Head []byte
	// Rest is client bytes the front end read with the request, replayed
	// through the client end as if read now; borrowed for the call.
	Rest []byte
	// Upstream, if set, wraps the upstream end in stages once connected.
	Upstream func(End) End
	// Bad, if set, is why the front end found the request malformed (a
	// connect-udp path off the template, a padding-type-request it cannot
	// meet): it is refused with 400, but only once the gate has let it in,
	// so a prober without credentials still sees the site.
	Bad Reason
}

// Front is how a front end answers its proxy request. Its methods run on
// the tunnel's loop, at most one of them once.
type Front interface {
	// Reply answers the request: 200 once the upstream is connected (the
	// front end sends its success response; the early client bytes follow
	// upstream), anything else a refusal or a failure, after which the
	// front end ends the client end. A 407 carries the gate's challenge.
	Reply(status int)
	// Site hands the request to the web site, which answers it as any
	// request that is not a proxy's (probe resistance). early is what the
	// client sent after the request, borrowed for the call. The client end
	// belongs to the site afterwards.
	Site(early []byte)
}

// Open runs the admission sequence every front end shares: the gate (who
// may use the proxy; a password check goes off the loop and its verdict
// comes back through l), the policy (where to), the tunnel limits, then the
// dial. It answers through f and writes one access-log line for the request,
// whether it got a tunnel or a refusal with its reason. The tunnel is bound
// to client at once, so client bytes that come meanwhile wait in it,
// bounded by the high watermark.
func (p *Policy) Open(l Loop, cfg *Config, client End, f Front, r Request) *Tunnel {
	t := New(cfg, l, client, Record{
		Client: r.Client, Proto: r.Proto, Kind: r.Kind, Method: r.Method, Target: r.Target, ACL: -1,
	})
	t.front = f
	t.forward = r.Use == UseForward
	if len(r.Head) > 0 {
		t.pending().head = r.Head
	}
	if len(r.Rest) > 0 {
		if in, ok := client.(injector); ok {
			in.inject(r.Rest)
		} else {
			t.data(&t.ends[0], r.Rest)
		}
	}
	host := r.Host
	if host == "" {
		host = hostOf(r.Target)
	}
	if !p.Clients.Allowed(r.Client.Addr()) {
		t.refuse(403, ReasonClient, true) // not a proxy user: it sees the web site
		return t
	}
	g := p.Gate
	if r.Use == UseSNI {
		g = nil // nothing to authenticate: the client speaks TLS to its server
	}
	v, done := g.Authorize(r.Authorization, r.Client.Addr(), host)
	if done {
		t.admit(p, &r, v)
		return t
	}
	slow := r // only a request whose password is checked off the loop goes to the heap
	go func() {
		v := g.AuthorizeSlow(slow.Authorization, slow.Client.Addr(), host)
		l.Exec(func() { t.admit(p, &slow, v) })
	}()
	return t
}

// hostOf is the host of a host:port authority (brackets removed), for the
// probe secret.
func hostOf(a string) string {
	if host, _, err := net.SplitHostPort(a); err == nil {
		return host
	}
	return a
}

// admit goes on once the gate has spoken.
func (t *Tunnel) admit(p *Policy, r *Request, v Verdict) {
	if t.state == ended {
		return
	}
	t.Rec.User = v.User
	bad := t.pend != nil && t.pend.badEarly != nil
	if t.ends[client].done && !bad { // the client left while its password was checked
		t.Rec.Status = StatusClientGone
		t.finish()
		return
	}
	if v.Status != 0 {
		t.refuse(v.Status, v.Reason, v.Hide)
		return
	}
	if r.Bad != "" {
		t.refuse(400, r.Bad, false)
		return
	}
	if bad { // bad framing is known already: no dial
		se := t.pend.badEarly
		t.refuse(se.Status, se.Reason, false)
		return
	}
	var adm Admission
	if r.Host != "" {
		adm = p.AdmitHostPort(r.Host, r.Port, r.Use)
	} else {
		adm = p.Admit(r.Target, r.Use)
	}
	t.Rec.ACL, t.Rec.ACLRule = int8(adm.ACL), adm.Rule
	if adm.Status != 0 {
		t.refuse(adm.Status, adm.Reason, false)
		return
	}
	if p.Parent != nil && t.Rec.Kind == KindUDP {
		// A parent carries TCP only (CONNECT): a flow is refused rather
		// than sent around it, before it takes a tunnel slot.
		t.refuse(502, ReasonParentUDP, false)
		return
	}
	release, ok := p.Gate.Acquire(v.User, r.Client.Addr())
	if !ok {
		t.refuse(429, ReasonTunnelLimit, false)
		return
	}
	t.release = release
	t.connect(p, adm.Dial, r.Upstream)
}

// refuse answers a request that gets no tunnel and logs why.
func (t *Tunnel) refuse(status int, r Reason, site bool) {
	t.Rec.Status, t.Rec.Reason, t.Rec.Site = status, r, site
	switch {
	case site && t.front != nil:
		var early []byte
		if t.pend != nil && t.pend.early != nil {
			early = t.pend.early.B
		}
		t.front.Site(early)
	case status != 0:
		t.reply(status)
	default:
		t.ends[client].end.Close()
	}
	t.finish()
}

// Connect dials target from the tunnel's loop. Once the upstream is
// connected the client is answered 200 (Front.Reply) and the bytes it sent
// meanwhile follow upstream; a failed dial is answered with its status.
// wrap, if set, puts stages over the upstream end.
func (t *Tunnel) Connect(target engine.DialTarget, wrap func(End) End) { t.connect(nil, target, wrap) }

// connect is Connect, through p's parent when p has one.
func (t *Tunnel) connect(p *Policy, target engine.DialTarget, wrap func(End) End) {
	t.state = dialing
	if wrap != nil {
		t.pending().wrap = wrap
	}
	var cancel func()
	switch {
	case p != nil && p.Parent != nil:
		cancel = t.dialParent(p, target)
	case t.Rec.Kind == KindUDP:
		cancel = t.loop.DialUDP(target, &t.ends[upstream])
	default:
		cancel = t.loop.Dial(target, &t.ends[upstream])
	}
	if t.state == dialing { // a dial may have answered already (a refusal, the fake loop of the tests)
		t.cancelDial = cancel
	}
}

// Dialed implements Dialed: the upstream is connected, or will not be.
func (h *half) Dialed(up End, info engine.DialInfo, err error) { h.t.dialed(up, info, err) }

func (t *Tunnel) dialed(up End, info engine.DialInfo, err error) {
	if t.state == ended {
		if up != nil {
			up.Close()
		}
		return
	}
	t.cancelDial = nil
	var wrap func(End) End
	if t.pend != nil {
		wrap, t.pend.wrap = t.pend.wrap, nil
	}
	t.noteDial(info, err == nil)
	if err != nil {
		t.Rec.Status = Status(err)
		t.setReason(DialReason(err), false)
		if t.ends[client].done {
			t.Rec.Status = StatusClientGone
		} else {
			t.reply(t.Rec.Status)
		}
		t.finish()
		return
	}
	if wrap != nil {
		up = wrap(up)
	}
	u := &t.ends[upstream]
	u.end = up
	up.Bind(u)
	t.state = open
	if t.ends[client].done { // the client left while we dialed
		up.Close() // its Closed ends the tunnel
		return
	}
	t.opened()
}

// opened starts relaying: the answer, then what waited for the upstream.
func (t *Tunnel) opened() {
	if !t.forward {
		t.Rec.Status = 200
	}
	t.connectedUS = uint32(min(time.Since(t.Rec.Start)/time.Microsecond, 1<<32-1))
	t.loop.Idle(&t.idle, t.cfg.idleTimeout(t.Rec.Kind), t)
	c, up := t.ends[client].end, t.ends[upstream].end
	cs, us := socketOf(c), socketOf(up)
	t.spliceOK = t.cfg.SpliceAfter > 0 && cs != nil && us != nil && cs.bare() && us.bare()
	t.reply(200)
	if t.state != open {
		return
	}
	paused := false
	if pd := t.pend; pd != nil {
		if len(pd.head) > 0 {
			t.countUp(int64(len(pd.head)))
			up.Write(pd.head)
		}
		if pd.early != nil && t.Rec.Kind == KindUDP {
			t.sendEarlyDatagrams(pd.early.B)
		} else if pd.early != nil {
			t.countUp(int64(len(pd.early.B)))
			up.Write(pd.early.B)
		}
		paused = pd.paused
		t.dropPending()
	}
	if t.state != open {
		return
	}
	n := up.Buffered()
	t.PeakUp = max(t.PeakUp, int32(n))
	if paused && n <= t.cfg.high() {
		c.ResumeRead()
	} else if paused {
		up.WatchDrain(t.cfg.low()) // its Drained resumes the client
	}
	if t.ends[client].eof && t.Rec.Kind != KindUDP {
		up.CloseWrite()
	}
}

// StatusClientGone is logged for a request whose client left before it
// could be answered (nginx's 499).
const StatusClientGone = 499

// Refuse logs a proxy request that a front end refused before Open could
// see it (a request it cannot even rewrite), with the status it answered;
// on l, whose meters count it.
func Refuse(l Loop, cfg *Config, r Request, status int, reason Reason) {
	rec := Record{Start: time.Now(), Client: r.Client, Proto: r.Proto, Kind: r.Kind, Method: r.Method,
		Target: r.Target, ACL: -1, Status: status, Reason: reason}
	rec.Write(cfg.AccessLog)
	if m := l.Meters(); m != nil {
		m.ended(&rec)
	}
}
