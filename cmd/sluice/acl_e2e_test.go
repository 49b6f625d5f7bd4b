package main

// End-to-end tests of the ACL map (--acl) over loopback sockets, HTTP/1.1
// (plain and TLS) and HTTP/2 (TLS): every pattern kind and value, the
// spellings that try to dodge a rule, the access-log fields, and reloads.

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// aclCase is one CONNECT and the ACL decision it must meet.
type aclCase struct {
	target string
	status int // 200 or 403
	acl    int // the value the access log must name
	why    string
	rule   string // the pattern the log must name as acl_rule (values 2 and 3 only)
}

// TestE2EACLMap: every pattern kind and every value 0-3 plus a default line,
// over h1 plain, h1 TLS and h2; the usual spellings that try to dodge a rule
// (case, trailing dot, IPv4-mapped IPv6, another port, another spelling of
// an IPv6 literal, a port with leading zeros) all land on the rule; denied
// names are never resolved; the access log names the deciding value, and the
// deciding pattern for values 2 and 3; absolute-form forwarding goes through
// the same map.
func TestE2EACLMap(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	other := startEcho(t) // a second port, for host:port rules
	P, Q := strconv.Itoa(echo.port()), strconv.Itoa(other.port())
	dns, asked := loopbackDNS(t)
	aclPath := filepath.Join(t.TempDir(), "acl.map")
	writeFileAtomic(t, aclPath, strings.Join([]string{
		"# every pattern kind, every value",
		"denied.test 0           # exact host, deny",
		"hp.test:" + P + " 2      # exact host:port, deny+log",
		"zp.test:443 0",
		"*.corp.test 0           # suffix, deny (covers corp.test itself)",
		"ok.corp.test 1          # exact host beats the suffix, allow",
		".logged.test 3          # nginx-style suffix, allow+log",
		"127.0.0.2/32 2          # CIDR for IP literals, deny+log",
		"127.0.0.0/8 3           # CIDR, allow+log",
		"::1/128 0               # IPv6 CIDR, deny",
		`~^rx-deny[0-9]+\.test$ 2`,
		`~^rx-allow\.test:` + P + `$ 3`,
		"default 1",
		"",
	}, "\n"))
	p := startOpenProxy(t, "--acl", aclPath, "--resolver", dns)

	cases := []aclCase{
		{"denied.test:" + P, 403, 0, "exact host", ""},
		{"DENIED.TEST:" + P, 403, 0, "exact host, upper case", ""},
		{"denied.test.:" + P, 403, 0, "exact host, trailing dot", ""},
		{"DeNiEd.TeSt.:" + P, 403, 0, "exact host, mixed case and trailing dot", ""},
		{"denied.test:443", 403, 0, "a host rule covers every port", ""},
		{"hp.test:" + P, 403, 2, "exact host:port", "hp.test:" + P},
		{"HP.Test.:" + P, 403, 2, "exact host:port, case and trailing dot", "hp.test:" + P},
		{"hp.test:" + Q, 200, 1, "a host:port rule does not cover another port", ""},
		{"x.corp.test:" + P, 403, 0, "suffix", ""},
		{"a.b.CORP.test.:" + P, 403, 0, "suffix, deeper, case, trailing dot", ""},
		{"corp.test:" + P, 403, 0, "suffix covers the apex", ""},
		{"ok.corp.test:" + P, 200, 1, "exact allow inside a denied suffix", ""},
		{"OK.CORP.TEST.:" + P, 200, 1, "exact allow, case and trailing dot", ""},
		{"www.logged.test:" + P, 200, 3, "suffix allow+log", ".logged.test"},
		{"127.0.0.1:" + P, 200, 3, "CIDR allow+log", "127.0.0.0/8"},
		{"[::ffff:127.0.0.1]:" + P, 200, 3, "IPv4-mapped IPv6 literal hits the IPv4 CIDR", "127.0.0.0/8"},
		{"127.0.0.2:" + P, 403, 2, "more specific CIDR wins", "127.0.0.2/32"},
		{"[::ffff:127.0.0.2]:" + P, 403, 2, "IPv4-mapped spelling of a denied address", "127.0.0.2/32"},
		{"[::FFFF:7f00:2]:" + P, 403, 2, "hex IPv4-mapped spelling of a denied address", "127.0.0.2/32"},
		{"[::1]:" + P, 403, 0, "IPv6 CIDR", ""},
		{"[0:0:0:0:0:0:0:1]:" + P, 403, 0, "long spelling of ::1", ""},
		{"rx-deny7.test:" + P, 403, 2, "regex deny+log", `~^rx-deny[0-9]+\.test$`},
		{"RX-DENY7.TEST.:" + P, 403, 2, "regex sees the normalized host", `~^rx-deny[0-9]+\.test$`},
		{"rx-allow.test:" + P, 200, 3, "regex on host:port", `~^rx-allow\.test:` + P + `$`},
		{"rx-allow.test:" + Q, 200, 1, "regex on host:port does not match another port", ""},
		{"nothing.test:" + P, 200, 1, "default", ""},
	}
	listeners := []struct {
		name string
		run  func(t *testing.T, c aclCase)
	}{
		{"h1-plain", func(t *testing.T, c aclCase) { aclConnectH1(t, p, false, c) }},
		{"h1-tls", func(t *testing.T, c aclCase) { aclConnectH1(t, p, true, c) }},
		{"h2", func(t *testing.T, c aclCase) {
			cc := h2ClientConn(t, p, true)
			if c.status == 200 {
				h2Echo(t, cc, c.target, nil)
				return
			}
			if got := h2Status(t, cc, c.target, nil).StatusCode; got != c.status {
				t.Errorf("h2 CONNECT %s (%s): status %d; want %d", c.target, c.why, got, c.status)
			}
		}},
	}
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			for _, c := range cases {
				l.run(t, c)
			}
		})
	}
	// Every decision, by every front end, is in the access log with the
	// value that decided it.
	for _, proto := range []string{"h1", "h2"} {
		for _, c := range cases {
			want := 1
			if proto == "h1" {
				want = 2 // plain and TLS
			}
			lines := p.waitLines(proto+" "+c.target, want, func(l logLine) bool {
				return l.str("proto") == proto && l.str("target") == c.target
			})
			for _, l := range lines {
				if int(l.num("acl")) != c.acl || int(l.num("status")) != c.status {
					t.Errorf("access log for %s %s (%s): acl=%v status=%v; want acl=%d status=%d",
						proto, c.target, c.why, l["acl"], l["status"], c.acl, c.status)
				}
				// Values 2 and 3 name the deciding pattern; 0 and 1 do not.
				rule, has := l["acl_rule"]
				if c.rule != "" && rule != c.rule || c.rule == "" && has {
					t.Errorf("access log for %s %s (%s): acl_rule=%v; want %q", proto, c.target, c.why, rule, c.rule)
				}
			}
		}
	}
	if !asked("ok.corp.test") || asked("denied.test") || asked("x.corp.test") {
		t.Errorf("DNS: allowed names must be resolved, denied ones never: ok.corp.test=%v denied.test=%v x.corp.test=%v",
			asked("ok.corp.test"), asked("denied.test"), asked("x.corp.test"))
	}

	// Absolute-form forwarding goes through the same map.
	t.Run("forward", func(t *testing.T) {
		for _, host := range []string{"denied.test:" + P, "DENIED.test.:" + P, "x.corp.test:" + P, "127.0.0.2:" + P} {
			req := "GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
			expectStatus(t, p.plain, false, req, 403)
		}
	})
	// A port spelled with leading zeros is the same port: it must not get
	// past a host:port rule. 400 or 403 are both fine; 502 would mean the
	// proxy let it through and dialed 127.0.0.1:443.
	t.Run("leading-zero-port", func(t *testing.T) {
		for _, target := range []string{"zp.test:0443", "zp.test:00443", "ZP.test.:0443"} {
			c := dialProxy(t, p.plain, false)
			r := rawExchange(t, c, []byte(connectReq(target)), waitLimit)
			if s := r.resp.StatusCode; s != 403 && s != 400 {
				t.Errorf("CONNECT %s: %d; want 403 (or 400): a leading-zero port dodged the host:port rule", target, s)
			}
		}
	})
}

// aclConnectH1 runs one ACL case over HTTP/1.1.
func aclConnectH1(t *testing.T, p *proxy, useTLS bool, c aclCase) {
	t.Helper()
	if c.status == 200 {
		conn := openTunnel(t, p, useTLS, c.target)
		echoOnce(t, conn, c.target)
		_ = conn.Close()
		return
	}
	r := expectStatus(t, p.addr(useTLS), useTLS, connectReq(c.target), c.status)
	if r.resp.StatusCode != c.status {
		t.Errorf("CONNECT %s (%s) over %s: status %d; want %d", c.target, c.why, listenerName(useTLS), r.resp.StatusCode, c.status)
	}
}

// TestE2EACLReload: s.reload() (what SIGHUP calls) swaps the map in and
// changes decisions on every front end; a broken file keeps the old map and
// the error log says which line is wrong; open tunnels are not touched.
func TestE2EACLReload(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	P := strconv.Itoa(echo.port())
	dns, _ := loopbackDNS(t)
	aclPath := filepath.Join(t.TempDir(), "acl.map")
	writeFileAtomic(t, aclPath, "flip.test 0\nstay.test 1\ndefault 1\n")
	p := startOpenProxy(t, "--acl", aclPath, "--resolver", dns)

	flip, stay, other := "flip.test:"+P, "stay.test:"+P, "other.test:"+P
	expectStatus(t, p.plain, false, connectReq(flip), 403)
	open := openTunnel(t, p, false, stay)
	echoOnce(t, open, "a tunnel opened before the reload")

	writeFileAtomic(t, aclPath, "flip.test 3\nstay.test 0\ndefault 2\n")
	p.s.reload()
	p.waitErrLog("acl reloaded")
	c := openTunnel(t, p, true, flip)
	echoOnce(t, c, flip+" after the reload")
	_ = c.Close()
	expectStatus(t, p.plain, false, connectReq(stay), 403)
	expectStatus(t, p.tls, true, connectReq(other), 403) // the new default
	if got := h2Status(t, h2ClientConn(t, p, true), stay, nil).StatusCode; got != 403 {
		t.Errorf("h2 CONNECT %s after the reload: %d; want 403", stay, got)
	}
	echoOnce(t, open, "a tunnel opened before the reload, after it")

	// A broken file: line 2 has a value out of range. The old map stays.
	writeFileAtomic(t, aclPath, "flip.test 0\nstay.test 7\ndefault 1\n")
	p.s.reload()
	log := p.waitErrLog("acl reload failed", aclPath+":2:")
	c = openTunnel(t, p, false, flip) // still allowed by the second map
	echoOnce(t, c, flip+" after a failed reload")
	_ = c.Close()
	expectStatus(t, p.plain, false, connectReq(stay), 403)
	expectStatus(t, p.plain, false, connectReq(other), 403)
	echoOnce(t, open, "a tunnel opened before both reloads")
	_ = open.Close()

	l := p.waitLines("flip.test tunnels", 2, func(l logLine) bool { return l.str("target") == flip && l.num("status") == 200 })
	for _, x := range l {
		if x.num("acl") != 3 || x.str("acl_rule") != "flip.test" {
			t.Errorf("access log for %s after the reload: acl=%v acl_rule=%v; want 3, flip.test", flip, x["acl"], x["acl_rule"])
		}
	}
	for _, x := range p.readLog() {
		if x.str("target") == other && (x.num("acl") != 2 || x.str("acl_rule") != "default") {
			t.Errorf("access log for %s (the new default 2): %v; want acl 2, acl_rule default", other, x)
		}
	}
	if strings.Count(log, "acl reloaded") != 1 {
		t.Errorf("error log: want exactly one successful acl reload:\n%s", log)
	}
}
