package main

// End-to-end test of /metrics: scraped with Prometheus's own text parser
// before and after traffic over every protocol, each family moves with
// the traffic that should move it; the metrics are not on a listener
// that clients reach.

import (
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape parses /metrics.
func scrape(t *testing.T, p *proxy) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + p.s.addrs["metrics"].String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v", err)
	}
	return fams
}

// value is the family's sample whose labels include want (name=value
// pairs), summed; histograms give their sample count.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	sum := 0.0
	for _, m := range f.Metric {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestE2EMetrics: tunnels over h1, h2 and h3, a connect-udp flow, a 407, an
// ACL denial and a per-user limit each move their families; an open
// tunnel shows in the gauge; the Go and process collectors are there.
func TestE2EMetrics(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	udp := startUDPEcho(t)
	dns, _ := loopbackDNS(t)
	dir := t.TempDir()
	authPath, aclPath := filepath.Join(dir, "htpasswd"), filepath.Join(dir, "acl.map")
	writeFileAtomic(t, authPath, bcryptLine(t, "mia", "metrics-pass", "$2y$")+"\n")
	writeFileAtomic(t, aclPath, "denied.test 0\ndefault 1\n")
	p := startOpenProxy(t, "--metrics", "127.0.0.1:0", "--auth-file", authPath, "--acl", aclPath,
		"--resolver", dns, "--max-tunnels-per-user", "2")
	before := scrape(t, p)
	auth := authHeader("mia", "metrics-pass")
	port := strconv.Itoa(echo.port())

	// A tunnel held open shows in the gauge.
	held := tunnelAs(t, p, false, "127.0.0.1", echo.addr(), "mia", "metrics-pass")
	open := scrape(t, p)
	if v := value(open, "sluice_tunnels_open", "proto", "h1", "kind", "tcp"); v != 1 {
		t.Errorf("sluice_tunnels_open{h1,tcp} = %v with one tunnel open", v)
	}
	// A second one fills the user's two slots: a third gets 429.
	second := tunnelAs(t, p, false, "127.0.0.1", echo.addr(), "mia", "metrics-pass")
	expectStatus(t, p.plain, false, "CONNECT "+echo.addr()+" HTTP/1.1\r\nHost: x\r\n"+auth+"\r\n", 429)
	_ = second.Close()
	// Bytes both ways through the held tunnel, by name (DNS).
	_ = held.Close()
	c := tunnelAs(t, p, true, "127.0.0.1", "metrics.test:"+port, "mia", "metrics-pass")
	msg := strings.Repeat("m", 1000)
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	expectStatus(t, p.plain, false, "CONNECT "+echo.addr()+" HTTP/1.1\r\nHost: x\r\n\r\n", 407)
	expectStatus(t, p.plain, false, "CONNECT denied.test:443 HTTP/1.1\r\nHost: x\r\n"+auth+"\r\n", 403)
	h2Echo(t, h2ClientConn(t, p, true), echo.addr(), authH2("mia", "metrics-pass"))
	rs, resp := h3Connect(t, h3Conn(t, p, nil), echo.addr(), authH2("mia", "metrics-pass"))
	if resp.StatusCode != 200 {
		t.Fatalf("h3 CONNECT: %d", resp.StatusCode)
	}
	rs.CancelRead(0)
	_ = rs.Close()
	f, resp := masqueDial(t, p, h3DatagramConn(t, p), udp.addr(), authH2("mia", "metrics-pass"))
	if f == nil {
		t.Fatalf("connect-udp: %d", resp.StatusCode)
	}
	if !pingUntil(t, f, []byte("metrics")) {
		t.Fatal("no echo on the flow")
	}
	f.close()
	p.waitLines("every request", 9, func(l logLine) bool { return true })
	p.waitLines("the flow", 1, func(l logLine) bool { return l.str("kind") == "udp" })
	after := scrape(t, p)

	moved := func(name string, min float64, labels ...string) {
		t.Helper()
		b, a := value(before, name, labels...), value(after, name, labels...)
		if a < 0 {
			t.Errorf("%s%v missing", name, labels)
			return
		}
		if b < 0 {
			b = 0
		}
		if a-b < min {
			t.Errorf("%s%v moved by %v; want at least %v", name, labels, a-b, min)
		}
	}
	moved("sluice_tunnels_total", 2, "proto", "h1", "kind", "tcp", "status", "200")
	moved("sluice_tunnels_total", 1, "proto", "h1", "status", "407")
	moved("sluice_tunnels_total", 1, "proto", "h1", "status", "403")
	moved("sluice_tunnels_total", 1, "proto", "h1", "status", "429")
	moved("sluice_tunnels_total", 1, "proto", "h2", "kind", "tcp", "status", "200")
	moved("sluice_tunnels_total", 1, "proto", "h3", "kind", "tcp", "status", "200")
	moved("sluice_tunnels_total", 1, "proto", "h3", "kind", "udp", "status", "200")
	moved("sluice_tunnel_bytes_total", 1000, "proto", "h1", "kind", "tcp", "direction", "up")
	moved("sluice_tunnel_bytes_total", 1000, "proto", "h1", "kind", "tcp", "direction", "down")
	moved("sluice_tunnel_bytes_total", 7, "proto", "h3", "kind", "udp", "direction", "down")
	moved("sluice_auth_failures_total", 1, "reason", "auth")
	moved("sluice_acl_decisions_total", 1, "value", "0")
	moved("sluice_acl_decisions_total", 4, "value", "1")
	moved("sluice_limit_rejections_total", 1, "limit", "tunnels")
	moved("sluice_udp_datagrams_total", 1, "direction", "up")
	moved("sluice_udp_datagrams_total", 1, "direction", "down")
	moved("sluice_upstream_connect_duration_seconds", 5)
	moved("sluice_dns_duration_seconds", 1)
	moved("sluice_tunnel_first_byte_seconds", 2)
	moved("sluice_connections_accepted_total", 5)
	moved("sluice_tunnel_end_reasons_total", 1, "reason", "acl")
	if v := value(after, "sluice_tunnels_open", "proto", "h1"); v != 0 {
		t.Errorf("sluice_tunnels_open{h1} = %v after every tunnel ended", v)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "sluice_udp_datagrams_dropped_total", "sluice_read_pauses_total"} {
		if after[name] == nil {
			t.Errorf("%s missing from /metrics", name)
		}
	}
	// Clients' listeners serve the site, not the metrics.
	r, err := http.Get("http://" + p.plain + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if strings.Contains(string(body), "sluice_") {
		t.Error("the plain listener serves the metrics")
	}
}
