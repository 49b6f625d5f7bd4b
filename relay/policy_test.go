package relay

import (
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-proxy/sluice/acl"
	"github.com/sluice-proxy/sluice/engine"
)

func testPolicy(t *testing.T, ports, aclText string) *Policy {
	t.Helper()
	p := &Policy{}
	var err error
	if p.Ports, err = acl.ParsePorts(ports); err != nil {
		t.Fatal(err)
	}
	if p.ForwardPorts, err = acl.ParsePorts("80,8080"); err != nil {
		t.Fatal(err)
	}
	if aclText != "" {
		m, err := acl.ParseMap(strings.NewReader(aclText))
		if err != nil {
			t.Fatal(err)
		}
		p.ACL.Store(m)
	}
	return p
}

func TestAdmit(t *testing.T) {
	p := testPolicy(t, "443", "blocked.example 0\nwatched.example 3\nhidden.example 2\ndefault 1\n")
	for _, tc := range []struct {
		authority string
		use       Use
		status    int
		reason    Reason
		acl       int
		rule      string
	}{
		{"example.com:443", UseConnect, 0, "", 1, ""},
		{"example.com", UseConnect, 400, ReasonBadRequest, -1, ""},      // CONNECT needs a port
		{"exa mple.com:443", UseConnect, 400, ReasonBadRequest, -1, ""}, // not a host
		{"example.com:8443", UseConnect, 403, ReasonPort, -1, ""},       // port not allowed
		{"example.com:8080", UseForward, 0, "", 1, ""},                  // forwarding has its own list
		{"example.com:443", UseForward, 403, ReasonPort, -1, ""},        // and the CONNECT list does not open it
		{"blocked.example:443", UseConnect, 403, ReasonACL, 0, ""},      // denied, not logged
		{"hidden.example:443", UseConnect, 403, ReasonACL, 2, "hidden.example"},
		{"watched.example:443", UseConnect, 0, "", 3, "watched.example"},
		{"WATCHED.example.:443", UseConnect, 0, "", 3, "watched.example"}, // normalized before the lookup
	} {
		a := p.Admit(tc.authority, tc.use)
		if a.Status != tc.status || a.Reason != tc.reason || a.ACL != tc.acl || a.Rule != tc.rule || a.LogACL != (tc.rule != "") {
			t.Errorf("Admit(%q, use %d) = status %d %q acl %d rule %q log %v; want %d %q %d %q",
				tc.authority, tc.use, a.Status, a.Reason, a.ACL, a.Rule, a.LogACL, tc.status, tc.reason, tc.acl, tc.rule)
		}
		if a.Status == 0 && (a.Dial.Port == 0 || a.Dial.Check == nil) {
			t.Errorf("Admit(%q): admitted without a dial target: %+v", tc.authority, a.Dial)
		}
	}
	// No ACL at all: everything on an allowed port passes, ACL -1.
	if a := testPolicy(t, "all", "").Admit("example.com:22", UseConnect); a.Status != 0 || a.ACL != -1 {
		t.Errorf("no ACL: %+v", a)
	}
}

// The dial check refuses private addresses (DNS may point a public name
// at them) unless allowed, and always refuses the proxy's own listeners.
func TestAdmitDialCheck(t *testing.T) {
	self := netip.MustParseAddrPort("127.0.0.1:8080")
	for _, allowPrivate := range []bool{false, true} {
		p := testPolicy(t, "all", "")
		p.AllowPrivate = allowPrivate
		p.Self = func(a netip.AddrPort) bool { return a == self }
		check := func(host string, port uint16, ip string) error {
			a := p.AdmitHostPort(host, port, UseConnect)
			if a.Status != 0 {
				t.Fatalf("%s:%d refused with %d", host, port, a.Status)
			}
			return a.Dial.Check(netip.MustParseAddr(ip))
		}
		if err := check("example.com", 443, "93.184.215.14"); err != nil {
			t.Errorf("allowPrivate=%v: public address refused: %v", allowPrivate, err)
		}
		if err := check("intranet.example", 443, "10.1.2.3"); (err == nil) == !allowPrivate {
			t.Errorf("allowPrivate=%v: private address: err %v", allowPrivate, err)
		}
		if err := check("localhost", 8080, "127.0.0.1"); !errors.Is(err, ErrSelf) {
			t.Errorf("allowPrivate=%v: the proxy's own listener: err %v, want ErrSelf", allowPrivate, err)
		}
		if err := check("localhost", 8081, "127.0.0.1"); (err == nil) == !allowPrivate {
			t.Errorf("allowPrivate=%v: loopback, another port: err %v", allowPrivate, err)
		}
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&engine.DialError{Stage: engine.StageResolve, Err: errors.New("no such host")}, 502},
		{&engine.DialError{Stage: engine.StageConnect, Err: errors.New("refused")}, 502},
		{&engine.DialError{Stage: engine.StageForbidden, Err: errors.New("private")}, 403},
		{&engine.DialError{Stage: engine.StageConnect, Err: syscall.EMFILE}, 503},
		{&engine.DialError{Stage: engine.StageTimeout, Err: errors.New("timeout")}, 504},
		{errors.New("anything else"), 502},
	} {
		if got := Status(tc.err); got != tc.want {
			t.Errorf("Status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
