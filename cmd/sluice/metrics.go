package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sluice-proxy/sluice/relay"
)

// metricsHandler serves /metrics: the Go and process collectors, and the
// proxy's own families, read at scrape time from each loop's counters (so
// relaying pays no shared atomic) and from the engine.
func (s *server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &proxyCollector{s: s})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// proxyCollector is the proxy's families.
type proxyCollector struct{ s *server }

// scrapeWait bounds how long a scrape waits for a busy loop.
const scrapeWait = 2 * time.Second

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descOpen       = desc("sluice_tunnels_open", "tunnels open now", "proto", "kind")
	descTotal      = desc("sluice_tunnels_total", "tunnels and refused proxy requests, by the status answered (0: closed without one)", "proto", "kind", "status")
	descBytes      = desc("sluice_tunnel_bytes_total", "payload bytes relayed; up is client to upstream", "proto", "kind", "direction")
	descReasons    = desc("sluice_tunnel_end_reasons_total", "how tunnels ended, or why a request got none (the access log's reason)", "reason")
	descAuth       = desc("sluice_auth_failures_total", "proxy requests refused by authentication", "reason")
	descACL        = desc("sluice_acl_decisions_total", "ACL decisions by the deciding value (none: no ACL line decided)", "value")
	descLimits     = desc("sluice_limit_rejections_total", "requests refused by a limit", "limit")
	descDatagrams  = desc("sluice_udp_datagrams_total", "connect-udp datagrams relayed", "direction")
	descDrops      = desc("sluice_udp_datagrams_dropped_total", "connect-udp datagrams dropped", "reason")
	descConnect    = desc("sluice_upstream_connect_duration_seconds", "time to connect to the upstream, after DNS")
	descDNS        = desc("sluice_dns_duration_seconds", "time to resolve the target")
	descFirstByte  = desc("sluice_tunnel_first_byte_seconds", "from the tunnel's 200 to the upstream's first byte")
	descAccepted   = desc("sluice_connections_accepted_total", "client connections accepted")
	descRejected   = desc("sluice_connections_rejected_total", "client connections refused by --max-conns")
	descAcceptErrs = desc("sluice_accept_errors_total", "accept errors (EMFILE and others)")
	descActive     = desc("sluice_connections_active", "client connections open now")
	descPauses     = desc("sluice_read_pauses_total", "times a socket stopped being read (backpressure)")
	descResumes    = desc("sluice_read_resumes_total", "times a paused socket was read again")
	descTLSErrs    = desc("sluice_tls_handshake_errors_total", "failed TLS handshakes")
	descSpliced    = desc("sluice_tunnels_spliced", "tunnels on splice(2) now")
)

var (
	protoLabels = []relay.Proto{relay.ProtoH1, relay.ProtoH2, relay.ProtoH3, relay.ProtoSNI}
	kindLabels  = []relay.Kind{relay.KindTCP, relay.KindUDP}
	aclLabels   = [...]string{"none", "0", "1", "2", "3"}
	authReasons = []relay.Reason{relay.ReasonAuth, relay.ReasonRateLimited, relay.ReasonAuthBusy}
	limitOf     = map[relay.Reason]string{relay.ReasonTunnelLimit: "tunnels", relay.ReasonClient: "allow_clients"}
)

func (c *proxyCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descTotal, descBytes, descReasons, descAuth, descACL, descLimits,
		descDatagrams, descDrops, descConnect, descDNS, descFirstByte, descAccepted, descRejected, descAcceptErrs,
		descActive, descPauses, descResumes, descTLSErrs, descSpliced} {
		ch <- d
	}
}

func (c *proxyCollector) Collect(ch chan<- prometheus.Metric) {
	m := relay.Sum(c.s.eng.Loops(), scrapeWait)
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, p := range protoLabels {
		for _, k := range kindLabels {
			gauge(descOpen, m.Open[p][k], p.String(), k.String())
			counter(descBytes, m.Bytes[p][k][0], p.String(), k.String(), "up")
			counter(descBytes, m.Bytes[p][k][1], p.String(), k.String(), "down")
		}
	}
	for k, v := range m.Ended {
		counter(descTotal, v, k.Proto.String(), k.Kind.String(), strconv.Itoa(k.Status))
	}
	for r, v := range m.Reasons {
		counter(descReasons, v, string(r))
		if l, ok := limitOf[r]; ok {
			counter(descLimits, v, l)
		}
	}
	for _, r := range authReasons {
		counter(descAuth, m.Reasons[r], string(r))
	}
	for i, v := range m.ACL {
		counter(descACL, v, aclLabels[i])
	}
	counter(descDatagrams, m.Datagrams[0], "up")
	counter(descDatagrams, m.Datagrams[1], "down")
	for i, v := range m.Drops {
		counter(descDrops, v, relay.DropReason(i).String())
	}
	histogram(ch, descConnect, &m.Connect)
	histogram(ch, descDNS, &m.DNS)
	histogram(ch, descFirstByte, &m.FirstByte)

	st := c.s.eng.Stats()
	counter(descAccepted, st.Accepted)
	counter(descRejected, st.Rejected)
	counter(descAcceptErrs, st.AcceptErrors)
	gauge(descActive, st.Active)
	counter(descPauses, st.Parks)
	counter(descResumes, st.Unparks)
	counter(descTLSErrs, st.HandshakeErrors)
	gauge(descSpliced, c.s.splices.Active())
}

// histogram sends h as a Prometheus histogram: cumulative bucket counts.
func histogram(ch chan<- prometheus.Metric, d *prometheus.Desc, h *relay.Histogram) {
	buckets := make(map[float64]uint64, len(relay.LatencyBuckets))
	var n uint64
	for i, le := range relay.LatencyBuckets {
		n += h.Counts[i]
		buckets[le] = n
	}
	n += h.Counts[len(relay.LatencyBuckets)]
	ch <- prometheus.MustNewConstHistogram(d, n, h.Sum, buckets)
}
