// Command report turns the JSON lines of loadgen runs into markdown: the
// medians of every (test, peer, protocol) over its repeats, the proxy's
// cost per unit of work, and the ratios sluice/peer.
//
// Usage:
//
//	report [-base sluice] results.jsonl...
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// run is the part of a loadgen result line the report reads; metrics keeps
// every numeric field by its JSON name.
type run struct {
	test, peer, proto, mode string
	c                       int
	padded                  bool // loadgen -padding: NaïveProxy padding on every tunnel
	firstError              string
	metrics                 map[string]float64
}

// group is every repeat of one test on one peer and protocol.
type group struct {
	test, peer, proto, mode string
	c                       int
	padded                  bool
	runs                    []run
}

func (g *group) row() string { return g.peer + " " + g.proto }

// median of a metric over the repeats; ok is false when no run has it.
func (g *group) median(key string) (float64, bool) {
	var v []float64
	for _, r := range g.runs {
		if x, ok := r.metrics[key]; ok {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

func main() {
	base := flag.String("base", "sluice", "peer whose numbers are divided by every other peer's")
	flag.Parse()
	groups, order, err := load(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	writeReport(os.Stdout, groups, order, *base)
}

// load reads JSON lines from the files, or from stdin when there are none.
// order keeps tests and rows in the order they were first run.
func load(paths []string) (map[string]*group, []string, error) {
	if len(paths) == 0 {
		return loadFrom(os.Stdin)
	}
	var readers []io.Reader
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		readers = append(readers, f)
	}
	return loadFrom(io.MultiReader(readers...))
}

// loadFrom groups the result lines of r; lines that are not results (build
// noise, a truncated line) are skipped.
func loadFrom(in io.Reader) (map[string]*group, []string, error) {
	groups := map[string]*group{}
	var order []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		r, ok := parse([]byte(line))
		if !ok {
			continue
		}
		k := r.test + "\x00" + r.peer + "\x00" + r.proto
		g := groups[k]
		if g == nil {
			g = &group{test: r.test, peer: r.peer, proto: r.proto, mode: r.mode, c: r.c, padded: r.padded}
			groups[k] = g
			order = append(order, k)
		}
		g.runs = append(g.runs, r)
	}
	return groups, order, sc.Err()
}

func parse(b []byte) (run, bool) {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return run{}, false
	}
	str := func(k string) string { s, _ := raw[k].(string); return s }
	r := run{
		test: str("test"), peer: str("peer"), proto: str("proto"), mode: str("mode"),
		firstError: str("first_error"), metrics: map[string]float64{},
	}
	r.padded, _ = raw["padding"].(bool)
	if r.mode == "" {
		return run{}, false
	}
	if r.test == "" {
		r.test = r.mode
	}
	if r.peer == "" {
		r.peer = "?"
	}
	for k, v := range raw {
		if f, ok := v.(float64); ok {
			r.metrics[k] = f
		}
	}
	r.c = int(r.metrics["c"])
	// The proxy-less run has no process: its costs are not zero, they
	// are unknown, so they are left out instead of shown as 0.
	if r.peer == "none" {
		for _, k := range []string{"proxy_cpu_s", "cpu_us_per_op", "cpu_s_per_gb", "cpu_us_per_dgram", "rss_per_tunnel", "fds_per_tunnel", "rss_max"} {
			delete(r.metrics, k)
		}
	}
	return r, true
}
