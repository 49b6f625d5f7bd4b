package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// metric is one column: a title, the JSON field, and decimals to print.
type metric struct {
	title string
	key   string
	prec  int
}

// costOf is the proxy-side number each mode is judged by.
var costOf = map[string]metric{
	"setup":  {"CPU µs/tunnel", "cpu_us_per_op", 0},
	"rr":     {"CPU µs/round trip", "cpu_us_per_op", 1},
	"first8": {"CPU µs/tunnel", "cpu_us_per_op", 0},
	"bulk":   {"CPU s/GB", "cpu_s_per_gb", 2},
	"idle":   {"RSS B/tunnel", "rss_per_tunnel", 0},
	"dgram":  {"CPU µs/datagram", "cpu_us_per_dgram", 2},
}

// rateOf is the client-side number each mode is judged by.
var rateOf = map[string]metric{
	"setup":  {"tunnels/s", "rate", 0},
	"rr":     {"round trips/s", "rate", 0},
	"first8": {"tunnels/s", "rate", 0},
	"bulk":   {"MB/s", "mb_s", 0},
	"idle":   {"tunnels open", "ops", 0},
	"dgram":  {"datagrams/s", "rate", 0},
}

// details are the columns of the per-test tables.
var details = map[string][]metric{
	"setup": {rateOf["setup"], {"p50 µs", "p50_us", 0}, {"p99 µs", "p99_us", 0}, {"p999 µs", "p999_us", 0},
		costOf["setup"], {"proxy CPU s", "proxy_cpu_s", 2}, {"client CPU s", "client_cpu_s", 2}, {"peak RSS MB", "rss_max", 1}},
	"rr": {rateOf["rr"], {"p50 µs", "p50_us", 0}, {"p99 µs", "p99_us", 0}, {"p999 µs", "p999_us", 0},
		costOf["rr"], {"proxy CPU s", "proxy_cpu_s", 2}, {"client CPU s", "client_cpu_s", 2}, {"peak RSS MB", "rss_max", 1}},
	"first8": {rateOf["first8"], {"round trip p50 µs", "p50_us", 0}, {"round trip p99 µs", "p99_us", 0},
		{"round trip p999 µs", "p999_us", 0}, costOf["first8"], {"round trips", "round_trips", 0},
		{"proxy CPU s", "proxy_cpu_s", 2}, {"client CPU s", "client_cpu_s", 2}, {"peak RSS MB", "rss_max", 1}},
	"bulk": {rateOf["bulk"], costOf["bulk"], {"proxy CPU s", "proxy_cpu_s", 2}, {"client CPU s", "client_cpu_s", 2},
		{"elapsed s", "elapsed_s", 2}, {"peak RSS MB", "rss_max", 1}},
	"idle": {rateOf["idle"], costOf["idle"], {"fds/tunnel", "fds_per_tunnel", 2}, {"CPU µs/tunnel open", "cpu_us_per_op", 0},
		{"RSS before MB", "rss_base", 1}, {"RSS after MB", "rss_after", 1}},
	"dgram": {rateOf["dgram"], {"loss %", "loss_pct", 3}, {"RTT p50 µs", "p50_us", 0}, {"RTT p99 µs", "p99_us", 0},
		costOf["dgram"], {"proxy CPU s", "proxy_cpu_s", 2}, {"client CPU s", "client_cpu_s", 2},
		{"conns", "conns", 0}, {"rcvbuf drops", "udp_rcvbuf_errors", 0}, {"peak RSS MB", "rss_max", 1}},
}

func writeReport(w io.Writer, groups map[string]*group, order []string, base string) {
	tests, rows := axes(groups, order)
	byTestRow := map[[2]string]*group{}
	for _, k := range order {
		g := groups[k]
		byTestRow[[2]string{g.test, g.row()}] = g
	}

	fmt.Fprintln(w, "### Proxy cost (medians; lower is better)")
	fmt.Fprintln(w)
	summary(w, tests, rows, byTestRow, costOf)
	fmt.Fprintln(w, "### Client-side rates (medians; higher is better)")
	fmt.Fprintln(w)
	summary(w, tests, rows, byTestRow, rateOf)

	// Ratios need the base and another peer (a run of the base alone,
	// such as the padding test, has none).
	if hasPeer(rows, base) && hasOther(rows, base) {
		fmt.Fprintf(w, "### Ratios %s/peer of the proxy cost (below 1: %s is cheaper)\n\n", base, base)
		ratios(w, tests, rows, byTestRow, base, costOf)
		fmt.Fprintf(w, "### Ratios %s/peer of the client-side rates (above 1: %s is faster)\n\n", base, base)
		ratios(w, tests, rows, byTestRow, base, rateOf)
	}

	paddingRatios(w, groups, order)
	for _, t := range tests {
		detail(w, t, rows, byTestRow)
	}
	notes(w, order, groups)
}

type testCol struct{ name, mode string }

// protoRank orders a peer's rows the same way for every peer.
var protoRank = map[string]int{"h1": 0, "h1tls": 1, "h2": 2, "h3": 3, "raw": 4}

// axes lists the tests (columns) in run order, and the peer+protocol rows
// grouped by peer (in the order peers first ran) and then by protocol, so
// that a protocol that failed in the first tests still sits with its peer.
func axes(groups map[string]*group, order []string) ([]testCol, []string) {
	var tests []testCol
	seenT := map[string]bool{}
	peerRank := map[string]int{}
	rowSet := map[string]*group{}
	for _, k := range order {
		g := groups[k]
		if !seenT[g.test] {
			seenT[g.test] = true
			tests = append(tests, testCol{g.test, g.mode})
		}
		if _, ok := peerRank[g.peer]; !ok {
			peerRank[g.peer] = len(peerRank)
		}
		rowSet[g.row()] = g
	}
	rows := make([]string, 0, len(rowSet))
	for r := range rowSet {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rowSet[rows[i]], rowSet[rows[j]]
		if peerRank[a.peer] != peerRank[b.peer] {
			return peerRank[a.peer] < peerRank[b.peer]
		}
		ra, okA := protoRank[a.proto]
		rb, okB := protoRank[b.proto]
		if okA != okB {
			return okA
		}
		if ra != rb {
			return ra < rb
		}
		return a.proto < b.proto
	})
	return tests, rows
}

func hasPeer(rows []string, peer string) bool {
	for _, r := range rows {
		if strings.HasPrefix(r, peer+" ") {
			return true
		}
	}
	return false
}

func hasOther(rows []string, base string) bool {
	for _, r := range rows {
		if !strings.HasPrefix(r, base+" ") {
			return true
		}
	}
	return false
}

func summary(w io.Writer, tests []testCol, rows []string, cells map[[2]string]*group, pick map[string]metric) {
	head := []string{"peer", "proto"}
	for _, t := range tests {
		head = append(head, t.name+": "+pick[t.mode].title)
	}
	tableHead(w, head)
	for _, row := range rows {
		peer, proto, _ := strings.Cut(row, " ")
		line := []string{peer, proto}
		for _, t := range tests {
			g := cells[[2]string{t.name, row}]
			c := cell(g, pick[t.mode])
			if pick[t.mode].key == costOf[t.mode].key {
				c += shortfall(g)
			}
			line = append(line, c)
		}
		tableRow(w, line)
	}
	fmt.Fprintln(w)
}

// shortfall marks an idle cell whose peer held fewer tunnels than asked
// (typically out of fds), with the proxy's fd limit: its per-tunnel
// figure is then over fewer tunnels than the other rows.
func shortfall(g *group) string {
	if g == nil || g.mode != "idle" {
		return ""
	}
	open, ok := g.median("ops")
	if !ok || int(open) >= g.c {
		return ""
	}
	s := fmt.Sprintf(" (%s of %s open", num(open, 0), num(float64(g.c), 0))
	if l, ok := g.median("fd_limit"); ok && l > 0 {
		s += ", fd limit " + num(l, 0)
	}
	return s + ")"
}

// baseRowFor is the base peer's row a peer is compared with: the same
// protocol, and for the raw relays (no CONNECT) the base's plain h1.
func baseRowFor(base, row string) string {
	_, proto, _ := strings.Cut(row, " ")
	if proto == "raw" {
		proto = "h1"
	}
	return base + " " + proto
}

func ratios(w io.Writer, tests []testCol, rows []string, cells map[[2]string]*group, base string, pick map[string]metric) {
	head := []string{"peer", "proto", "vs"}
	for _, t := range tests {
		head = append(head, t.name)
	}
	tableHead(w, head)
	for _, row := range rows {
		if strings.HasPrefix(row, base+" ") {
			continue
		}
		peer, proto, _ := strings.Cut(row, " ")
		br := baseRowFor(base, row)
		line := []string{peer, proto, br}
		some := false
		for _, t := range tests {
			m := pick[t.mode]
			c := ratioCell(cells[[2]string{t.name, br}], cells[[2]string{t.name, row}], m)
			some = some || c != "–"
			line = append(line, c)
		}
		// A row with no ratio at all (no proxy, or a protocol the base
		// does not speak) says nothing.
		if some {
			tableRow(w, line)
		}
	}
	fmt.Fprintln(w)
}

func detail(w io.Writer, t testCol, rows []string, cells map[[2]string]*group) {
	var any *group
	for _, row := range rows {
		if g := cells[[2]string{t.name, row}]; g != nil {
			any = g
			break
		}
	}
	if any == nil {
		return
	}
	fmt.Fprintf(w, "### %s (mode %s, c=%d; medians of the repeats)\n\n", t.name, t.mode, any.c)
	cols := details[t.mode]
	head := []string{"peer", "proto", "runs", "errors"}
	for _, m := range cols {
		head = append(head, m.title)
	}
	tableHead(w, head)
	for _, row := range rows {
		g := cells[[2]string{t.name, row}]
		if g == nil {
			continue
		}
		errs := 0.0
		for _, r := range g.runs {
			errs += r.metrics["errors"]
		}
		line := []string{g.peer, g.proto, fmt.Sprint(len(g.runs)), fmt.Sprint(int64(errs))}
		for _, m := range cols {
			line = append(line, cell(g, m))
		}
		tableRow(w, line)
	}
	fmt.Fprintln(w)
}

// notes lists the runs that had errors, with the first message and the
// proxy's fd limit: that is how "ran out of fds" shows up.
func notes(w io.Writer, order []string, groups map[string]*group) {
	var lines []string
	for _, k := range order {
		g := groups[k]
		for i, r := range g.runs {
			if r.metrics["errors"] == 0 {
				continue
			}
			s := fmt.Sprintf("- %s, %s %s, run %d: %d errors, %d ops", g.test, g.peer, g.proto, i+1,
				int64(r.metrics["errors"]), int64(r.metrics["ops"]))
			if l := r.metrics["fd_limit"]; l > 0 {
				s += fmt.Sprintf(" (proxy fd limit %d)", int64(l))
			}
			if r.firstError != "" {
				s += ": " + r.firstError
			}
			lines = append(lines, s)
		}
	}
	if len(lines) == 0 {
		return
	}
	sort.Stable(sort.StringSlice(lines))
	fmt.Fprintln(w, "### Errors")
	fmt.Fprintln(w)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
}

func cell(g *group, m metric) string {
	if g == nil {
		return "–"
	}
	v, ok := g.median(m.key)
	if !ok {
		return "–"
	}
	if strings.HasPrefix(m.key, "rss_") && m.key != "rss_per_tunnel" {
		v /= 1e6
	}
	return num(v, m.prec)
}

func ratioCell(baseG, peerG *group, m metric) string {
	if baseG == nil || peerG == nil {
		return "–"
	}
	b, ok1 := baseG.median(m.key)
	p, ok2 := peerG.median(m.key)
	if !ok1 || !ok2 || p == 0 || math.IsNaN(b/p) {
		return "–"
	}
	return num(b/p, 2)
}

// num prints with thousands separators, which makes the wide tables
// readable.
func num(v float64, prec int) string {
	s := fmt.Sprintf("%.*f", prec, v)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, ch := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

func tableHead(w io.Writer, cols []string) {
	tableRow(w, cols)
	seps := make([]string, len(cols))
	for i := range cols {
		if i < 2 {
			seps[i] = "---"
		} else {
			seps[i] = "---:"
		}
	}
	tableRow(w, seps)
}

func tableRow(w io.Writer, cols []string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
}
