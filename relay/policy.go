package relay

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/acl"
	"github.com/sluice-proxy/sluice/engine"
)

// Policy decides whether a target may be tunneled to, the same way for
// every front end. It is shared by all loops: Ports, AllowPrivate and
// ConnectTimeout are immutable once serving; the ACL map is swapped
// atomically on reload.
type Policy struct {
	Ports          acl.Ports // CONNECT targets (--allow-ports)
	ForwardPorts   acl.Ports // absolute-URI requests (--allow-forward-ports)
	AllowPrivate   bool
	ConnectTimeout time.Duration
	ACL            atomic.Pointer[acl.Map]
	Gate           *Gate       // who may use the proxy; nil lets everyone
	Clients        acl.Clients // source addresses that may use it at all (--allow-clients); others get the site
	// Self reports whether an address is one of the proxy's own listeners:
	// a tunnel to itself would loop. Nil checks nothing.
	Self func(netip.AddrPort) bool
	// Parent, if set, is the parent proxy every TCP tunnel and forwarded
	// request goes through (--upstream-proxy); connect-udp is refused.
	Parent *Parent
}

// MaySite reports whether a proxy request may end up answered by the web
// site (probe resistance, --allow-clients): a front end then keeps what
// the site would need to answer it.
func (p *Policy) MaySite() bool {
	return !p.Clients.All() || p.Gate != nil && p.Gate.ProbeResistance
}

// ErrSelf refuses a target that is the proxy itself.
var ErrSelf = errors.New("relay: target is this proxy")

// Use is what a target is admitted for; each use has its own port list.
type Use uint8

const (
	UseConnect Use = iota // a CONNECT tunnel: --allow-ports
	UseForward            // an absolute-URI request: --allow-forward-ports
	// UseSNI is an L4 tunnel routed by a ClientHello's server name:
	// --allow-ports, and no credentials, which such a client cannot send.
	UseSNI
)

// Admission is the outcome of Admit.
type Admission struct {
	Target acl.Target
	Dial   engine.DialTarget
	ACL    int    // the ACL value that decided, -1 without an ACL
	LogACL bool   // the ACL line asked for the decision to be logged (values 2 and 3)
	Rule   string // the ACL pattern that decided, when LogACL
	Status int    // 0 when admitted, else the status to answer
	Reason Reason // why not, when Status is set
}

// Admit checks a CONNECT authority as the client wrote it: 400 when it is
// malformed, 403 when the port is not in the list for use or the ACL
// denies it.
func (p *Policy) Admit(authority string, use Use) Admission {
	t, err := acl.ParseTarget(authority)
	if err != nil {
		return Admission{ACL: -1, Status: 400, Reason: ReasonBadRequest}
	}
	return p.admit(t, use)
}

// AdmitHostPort is Admit for a host and port already split.
func (p *Policy) AdmitHostPort(host string, port uint16, use Use) Admission {
	t, err := acl.NormalizeTarget(host, port)
	if err != nil {
		return Admission{ACL: -1, Status: 400, Reason: ReasonBadRequest}
	}
	return p.admit(t, use)
}

func (p *Policy) ports(use Use) acl.Ports {
	if use == UseForward {
		return p.ForwardPorts
	}
	return p.Ports
}

func (p *Policy) admit(t acl.Target, use Use) Admission {
	a := Admission{Target: t, ACL: -1}
	if !p.ports(use).Allowed(t.Port) {
		a.Status, a.Reason = 403, ReasonPort
		return a
	}
	m := p.ACL.Load()
	if m != nil {
		d := m.Decide(t)
		a.ACL = int(d.Value)
		a.LogACL = d.Value.Logged()
		if a.LogACL {
			a.Rule = d.Rule
		}
		if !d.Value.Allowed() {
			a.Status, a.Reason = 403, ReasonACL
			return a
		}
	}
	g := acl.Guard{AllowPrivate: p.AllowPrivate, Map: m}
	a.Dial = engine.DialTarget{
		Host:    t.Host,
		Port:    t.Port,
		Timeout: p.ConnectTimeout,
		Check: func(ip netip.Addr) error {
			if p.Self != nil && p.Self(netip.AddrPortFrom(ip, t.Port)) {
				return ErrSelf
			}
			return g.Check(ip)
		},
	}
	return a
}
