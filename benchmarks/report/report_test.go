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
