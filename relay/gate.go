package relay

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/sluice-proxy/sluice/acl"
)

// Gate decides who may use the proxy, before where they may go. Shared by
// every loop; the Authenticator and Limiters are safe for concurrent use.
type Gate struct {
	Auth            *acl.Authenticator // nil: no proxy authentication
	Realm           string
	ProbeResistance bool
	ProbeSecret     string // lowercase host that still gets the 407 challenge
	PerUser         *acl.Limiter[string]
	PerIP           *acl.Limiter[netip.Prefix]
}

// Verdict is the gate's answer for one proxy request.
type Verdict struct {
	User   string
	Status int    // 0: go on; 407, 429 or 503: the answer
	Reason Reason // why, when Status is set
	Hide   bool   // probe resistance: answer as the site would, reveal no proxy
}

// Authorize answers on the event loop when it can: no auth configured,
// missing or malformed credentials, a rate-limited client, a cached
// credential. done is false when a password hash must be checked: call
// AuthorizeSlow off the loop then.
func (g *Gate) Authorize(header string, client netip.Addr, host string) (v Verdict, done bool) {
	if g == nil || g.Auth == nil {
		return Verdict{}, true
	}
	user, done, err := g.Auth.TryCheck(header, client)
	if !done {
		return Verdict{}, false
	}
	return g.verdict(user, err, host), true
}

// AuthorizeSlow is Authorize with the password check; it may take tens of
// milliseconds (bcrypt) and wait for a hashing slot, so never call it on an
// event loop.
func (g *Gate) AuthorizeSlow(header string, client netip.Addr, host string) Verdict {
	user, err := g.Auth.Check(header, client)
	return g.verdict(user, err, host)
}

func (g *Gate) verdict(user string, err error, host string) Verdict {
	var v Verdict
	switch {
	case err == nil:
		return Verdict{User: user}
	case errors.Is(err, acl.ErrRateLimited):
		v = Verdict{Status: 429, Reason: ReasonRateLimited}
	case errors.Is(err, acl.ErrBusy):
		v = Verdict{Status: 503, Reason: ReasonAuthBusy}
	default:
		v = Verdict{Status: 407, Reason: ReasonAuth}
	}
	v.Hide = g.ProbeResistance && !strings.EqualFold(strings.TrimSuffix(host, "."), g.ProbeSecret)
	return v
}

// Challenge is the Proxy-Authenticate value that goes with a 407.
func (g *Gate) Challenge() string {
	realm := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(g.Realm)
	return `Basic realm="` + realm + `"`
}

// Acquire counts a tunnel against the per-user and per-address limits; ok
// false means 429. release must be called once when the tunnel ends.
func (g *Gate) Acquire(user string, client netip.Addr) (release func(), ok bool) {
	if g == nil || (g.PerUser == nil && g.PerIP == nil) {
		return func() {}, true
	}
	key := acl.ClientKey(client)
	if !g.PerIP.Acquire(key) {
		return nil, false
	}
	if user != "" && !g.PerUser.Acquire(user) {
		g.PerIP.Release(key)
		return nil, false
	}
	return func() {
		g.PerIP.Release(key)
		if user != "" {
			g.PerUser.Release(user)
		}
	}, true
}
