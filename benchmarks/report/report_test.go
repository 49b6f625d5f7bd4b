package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestNum(t *testing.T) {
	for _, c := range []struct {
		v    float64
		prec int
		want string
	}{{0, 0, "0"}, {999, 0, "999"}, {1234, 0, "1,234"}, {1234567.891, 2, "1,234,567.89"}, {-12345, 0, "-12,345"}} {
		if got := num(c.v, c.prec); got != c.want {
			t.Errorf("num(%v, %d) = %q, want %q", c.v, c.prec, got, c.want)
		}
	}
}

const sample = `build noise that is not JSON
{"test":"rr","peer":"sluice","mode":"rr","proto":"h1","c":10,"ops":100,"errors":0,"cpu_us_per_op":10,"rate":1000}
{"test":"rr","peer":"sluice","mode":"rr","proto":"h1","c":10,"ops":100,"errors":0,"cpu_us_per_op":30,"rate":3000}
{"test":"rr","peer":"sluice","mode":"rr","proto":"h1","c":10,"ops":100,"errors":0,"cpu_us_per_op":20,"rate":2000}
{"test":"rr","peer":"nginx-stream","mode":"rr","proto":"raw","c":10,"ops":100,"errors":2,"first_error":"boom","cpu_us_per_op":40,"rate":4000}
{"test":"rr","peer":"none","mode":"rr","proto":"raw","c":10,"ops":100,"errors":0,"cpu_us_per_op":0,"rate":8000}
{"test":"rr","peer":"sluice","mode":"rr","proto":"h3","c":10,"ops":100,"errors":0,"cpu_us_per_op":15,"rate":1500}
{"test":"rr","peer":"caddy","mode":"rr","proto":"h3","c":10,"ops":100,"errors":0,"cpu_us_per_op":50,"rate":1000}
{"test":"rr","peer":"caddy","mode":"rr","proto":"h1","c":10,"ops":100,"errors":0,"cpu_us_per_op":25,"rate":1000}
{"test":"idle","peer":"goproxy","mode":"idle","proto":"h1","c":5000,"ops":3300,"errors":60,"rss_per_tunnel":24000,"fd_limit":20000}
`

func TestReport(t *testing.T) {
	groups, order, err := loadFrom(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 7 {
		t.Fatalf("%d groups, want 7", len(order))
	}
	g := groups[order[0]]
	if m, _ := g.median("cpu_us_per_op"); m != 20 {
		t.Errorf("median of 10, 30, 20 = %v, want 20", m)
	}
	var out bytes.Buffer
	writeReport(&out, groups, order, "sluice")
	s := out.String()
	for _, want := range []string{
		"| sluice | h1 | 20.0 |",                    // cost median
		"| nginx-stream | raw | sluice h1 | 0.50 |", // 20/40: raw peers are set against h1
		"| none | raw | – |",                        // no proxy process: no cost
		"| sluice | h3 | 15.0 |",                    // h3 after h2 and before raw
		"| caddy | h3 | sluice h3 | 0.30 |",         // 15/50: h3 against sluice's h3
		"| caddy | h1 | sluice h1 | 0.80 |",         // 20/25
		"rr, nginx-stream raw, run 1: 2 errors, 100 ops: boom",
		"24,000 (3,300 of 5,000 open, fd limit 20,000)", // a peer out of fds

	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}

// The dgram tests: CPU per datagram in the cost table, datagrams/s in the
// rates, masque's h3 against sluice's h3 only (masque has no h1 or h2),
// and loss shown even when it is 0.
const dgramSample = `{"test":"dgram-16","peer":"sluice","mode":"dgram","proto":"h1","c":16,"ops":90000,"errors":0,"rate":45000,"cpu_us_per_dgram":8,"loss_pct":0,"p50_us":900,"p99_us":2000,"udp_rcvbuf_errors":0}
{"test":"dgram-16","peer":"sluice","mode":"dgram","proto":"h2","c":16,"ops":80000,"errors":0,"rate":40000,"cpu_us_per_dgram":10,"loss_pct":0,"p50_us":1000,"p99_us":2500}
{"test":"dgram-16","peer":"sluice","mode":"dgram","proto":"h3","c":16,"ops":60000,"errors":0,"rate":30000,"cpu_us_per_dgram":9,"loss_pct":0.125,"p50_us":1500,"p99_us":4000,"conns":1}
{"test":"dgram-16","peer":"sluice","mode":"dgram","proto":"h3","c":16,"ops":60000,"errors":0,"rate":32000,"cpu_us_per_dgram":7,"loss_pct":0.375,"p50_us":1400,"p99_us":3800,"conns":1}
{"test":"dgram-16","peer":"masque","mode":"dgram","proto":"h3","c":16,"ops":70000,"errors":0,"rate":35000,"cpu_us_per_dgram":12.5,"loss_pct":0,"p50_us":1300,"p99_us":3000,"conns":1}
{"test":"dgram-16","peer":"none","mode":"dgram","proto":"raw","c":16,"ops":500000,"errors":0,"rate":250000,"cpu_us_per_dgram":0,"loss_pct":0,"p50_us":60,"p99_us":500}
`

func TestReportDgram(t *testing.T) {
	groups, order, err := loadFrom(strings.NewReader(dgramSample))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	writeReport(&out, groups, order, "sluice")
	s := out.String()
	for _, want := range []string{
		"| peer | proto | dgram-16: CPU µs/datagram |",
		"| sluice | h1 | 8.00 |",
		"| sluice | h2 | 10.00 |",
		"| sluice | h3 | 8.00 |", // median of 9 and 7
		"| masque | h3 | 12.50 |",
		"| none | raw | – |",
		"| peer | proto | dgram-16: datagrams/s |",
		"| masque | h3 | sluice h3 | 0.64 |", // 8/12.5
		"| masque | h3 | sluice h3 | 0.89 |", // 31,000/35,000
		"### dgram-16 (mode dgram, c=16; medians of the repeats)",
		"| peer | proto | runs | errors | datagrams/s | loss % | RTT p50 µs | RTT p99 µs | CPU µs/datagram |",
		"| sluice | h1 | 1 | 0 | 45,000 | 0.000 | 900 | 2,000 | 8.00 |",
		"| sluice | h3 | 2 | 0 | 31,000 | 0.250 | 1,450 | 3,900 | 8.00 |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	// masque speaks h3 only: no ratio row against sluice's h1 or h2.
	if strings.Contains(s, "| masque | h3 | sluice h1 |") || strings.Contains(s, "| masque | h1 |") {
		t.Errorf("masque compared with another protocol:\n%s", s)
	}
}

// The padding test: each padded run against the unpadded run of the same
// peer, protocol and test stem, with padded/unpadded ratios; first8 has
// its own cost and rate columns.
const paddingSample = `{"test":"setup-nopad","peer":"sluice","mode":"setup","proto":"h2","c":16,"ops":10000,"errors":0,"rate":10000,"cpu_us_per_op":70,"p50_us":1400,"p99_us":3000}
{"test":"setup-nopad","peer":"sluice","mode":"setup","proto":"h2","c":16,"ops":10000,"errors":0,"rate":10000,"cpu_us_per_op":74,"p50_us":1400,"p99_us":3000}
{"test":"setup-pad","peer":"sluice","mode":"setup","proto":"h2","c":16,"padding":true,"ops":9000,"errors":0,"rate":9000,"cpu_us_per_op":80,"p50_us":1600,"p99_us":4000}
{"test":"first8-nopad","peer":"sluice","mode":"first8","proto":"h3","c":16,"ops":2500,"round_trips":20000,"errors":0,"rate":2500,"cpu_us_per_op":350,"p50_us":580,"p99_us":2300}
{"test":"first8-pad","peer":"sluice","mode":"first8","proto":"h3","c":16,"padding":true,"ops":1900,"round_trips":15200,"errors":0,"rate":1900,"cpu_us_per_op":480,"p50_us":820,"p99_us":2760}
{"test":"first8-pad","peer":"sluice","mode":"first8","proto":"h2","c":16,"padding":true,"ops":4000,"round_trips":32000,"errors":0,"rate":4000,"cpu_us_per_op":190,"p50_us":350,"p99_us":1300}
`

func TestReportPadding(t *testing.T) {
	groups, order, err := loadFrom(strings.NewReader(paddingSample))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	writeReport(&out, groups, order, "sluice")
	s := out.String()
	for _, want := range []string{
		"| peer | proto | setup-nopad: CPU µs/tunnel | setup-pad: CPU µs/tunnel | first8-nopad: CPU µs/tunnel | first8-pad: CPU µs/tunnel |",
		"### NaïveProxy padding: padded/unpadded",
		"| test | peer | proto | CPU µs/tunnel unpadded | padded | ratio | p50 µs unpadded |",
		"| setup | sluice | h2 | 72 | 80 | 1.11 | 1,400 | 1,600 | 1.14 | 3,000 | 4,000 | 1.33 | 10,000 | 9,000 | 0.90 |",
		"| first8 | sluice | h3 | 350 | 480 | 1.37 | 580 | 820 | 1.41 | 2,300 | 2,760 | 1.20 | 2,500 | 1,900 | 0.76 |",
		"### first8-pad (mode first8, c=16; medians of the repeats)",
		"| peer | proto | runs | errors | tunnels/s | round trip p50 µs | round trip p99 µs |",
		"| sluice | h3 | 1 | 0 | 1,900 | 820 | 2,760 | – | 480 | 15,200 |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "Ratios sluice/peer") {
		t.Errorf("sluice alone: ratio tables against no peer:\n%s", s)
	}
	// first8 h2 has no unpadded run: no ratio row for it.
	if strings.Contains(s, "| first8 | sluice | h2 |") {
		t.Errorf("a padded run without an unpadded one got a ratio row:\n%s", s)
	}
}

func TestPadStem(t *testing.T) {
	for in, want := range map[string]string{"setup-pad": "setup", "setup-nopad": "setup", "first8": "first8", "rr-1k": "rr-1k"} {
		if got := padStem(in); got != want {
			t.Errorf("padStem(%q) = %q, want %q", in, got, want)
		}
	}
}
