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
	Ports          acl.Ports
	AllowPrivate   bool
	ConnectTimeout time.Duration
	ACL            atomic.Pointer[acl.Map]
	Gate           *Gate // who may use the proxy; nil lets everyone
	// Self reports whether an address is one of the proxy's own listeners:
	// a tunnel to itself would loop. Nil checks nothing.
	Self func(netip.AddrPort) bool
}

// ErrSelf refuses a target that is the proxy itself.
var ErrSelf = errors.New("relay: target is this proxy")

// Admission is the outcome of Admit.
type Admission struct {
	Target acl.Target
	Dial   engine.DialTarget
	ACL    int    // the ACL value that decided, -1 without an ACL
	LogACL bool   // the ACL line asked for the decision to be logged (values 2 and 3)
	Rule   string // the ACL pattern that decided, when LogACL
	Status int    // 0 when admitted, else the status to answer
}

// Admit checks a CONNECT authority as the client wrote it: 400 when it is
// malformed, 403 when the port is not allowed or the ACL denies it.
// checkPorts is false for plain-HTTP forwarding, which the CONNECT port
// list does not govern.
func (p *Policy) Admit(authority string, checkPorts bool) Admission {
	a := Admission{ACL: -1}
	t, err := acl.ParseTarget(authority)
	if err != nil {
		a.Status = 400
		return a
	}
	return p.admit(t, checkPorts)
}

// AdmitHostPort is Admit for a host and port already split.
func (p *Policy) AdmitHostPort(host string, port uint16, checkPorts bool) Admission {
	t, err := acl.NormalizeTarget(host, port)
	if err != nil {
		return Admission{ACL: -1, Status: 400}
	}
	return p.admit(t, checkPorts)
}

func (p *Policy) admit(t acl.Target, checkPorts bool) Admission {
	a := Admission{Target: t, ACL: -1}
	if checkPorts && !p.Ports.Allowed(t.Port) {
		a.Status = 403
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
			a.Status = 403
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
