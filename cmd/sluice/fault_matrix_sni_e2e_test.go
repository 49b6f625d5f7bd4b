package main

// The fault matrix over the SNI listener (--listen-sni): the same
// scenarios, with the same leak check, for tunnels that have no request
// and no answer. Every origin listens on the one --sni-port, each on an
// address of its own (127.0.0.N), and is named lo-N.sni.test.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
)

// The scenarios that need an answer to the CONNECT; SNI has its own
// failures below.
var sniSkips = map[string]bool{"connect-refused": true, "dns-failure": true, "connect-timeout": true}

// TestE2EFaultMatrixSNI is not parallel, for the leak check (as
// TestE2EFaultMatrix).
func TestE2EFaultMatrixSNI(t *testing.T) {
	first, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	port := first.Addr().(*net.TCPAddr).Port
	names := map[string]string{} // origin address -> the name that resolves to it
	n := 2
	listen := func(t *testing.T) net.Listener {
		ln := first
		if n > 2 {
			if ln, err = net.Listen("tcp", "127.0.0."+strconv.Itoa(n)+":"+strconv.Itoa(port)); err != nil {
				t.Fatal(err)
			}
		}
		names[ln.Addr().String()] = "lo-" + strconv.Itoa(n) + ".sni.test"
		n++
		return ln
	}
	o := startFaultOrigins(t, listen, skipClientHello)
	refused := "lo-" + strconv.Itoa(n) + ".sni.test" // nothing listens there
	dns := dnsServer(t, func(q []byte, reply func([]byte)) {
		switch {
		case bytes.Contains(q, []byte("\x02nx\x07example")):
			reply(nxdomainFor(q))
		case bytes.Contains(q, []byte("\x09blackhole\x07example")): // never answered: the connect times out
		default:
			if r, _ := answerLoopback(q); r != nil {
				reply(r)
			}
		}
	})
	p := startOpenProxy(t, "--listen-sni", "127.0.0.1:0", "--sni-port", strconv.Itoa(port), "--resolver", dns,
		"--connect-timeout", "500ms", "--splice-after", "0")
	o.p = p
	dial := func() faultClient { return &h1Fault{p: p, sni: names} }

	c := dial()
	faultScenarios[0].run(t, c, o)
	c.close()
	base := snapshot(t, p)
	noLeaks(t, p, base, "warm-up")
	base = snapshot(t, p)

	for _, sc := range faultScenarios {
		if sniSkips[sc.name] {
			continue
		}
		t.Run("sni/"+sc.name, func(t *testing.T) {
			c := dial()
			t.Cleanup(c.close)
			sc.run(t, c, o)
			c.close()
			noLeaks(t, p, base, "sni/"+sc.name)
		})
	}
	// A tunnel that cannot be dialed is closed without a byte, and logged.
	for _, f := range []struct{ name, reason string }{
		{refused, "connect_failed"},
		{"nx.example", "dns"},
		{"blackhole.example", "connect_timeout"},
	} {
		t.Run("sni/"+f.reason, func(t *testing.T) {
			c := dial()
			t.Cleanup(c.close)
			tun, _ := c.connect(t, f.name)
			got, err := io.ReadAll(tun)
			if ne := (net.Error)(nil); errors.As(err, &ne) && ne.Timeout() || len(got) != 0 {
				t.Fatalf("%s: read %d bytes, %v; want the conn closed without a byte", f.name, len(got), err)
			}
			lines := p.waitLines(f.name, 1, func(l logLine) bool { return l.str("target") == f.name+":"+strconv.Itoa(port) })
			if r := lines[0].str("reason"); r != f.reason {
				t.Errorf("%s: logged %v; want reason %s", f.name, lines[0], f.reason)
			}
			c.close()
			noLeaks(t, p, base, "sni/"+f.reason)
		})
	}
}
