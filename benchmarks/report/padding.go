package main

import (
	"fmt"
	"io"
	"strings"
)

// NaïveProxy padding: a padded run (loadgen -padding, "padding": true in
// its line) is set against the unpadded run of the same peer, protocol
// and mode whose test name differs only by a -pad / -nopad suffix
// (run.sh's padding test: setup-nopad and setup-pad, first8-nopad and
// first8-pad).

// padCols are the columns of the padding table: each shows the unpadded
// median, the padded one and padded/unpadded.
var padCols = []metric{
	{"CPU µs/tunnel", "cpu_us_per_op", 0},
	{"p50 µs", "p50_us", 0},
	{"p99 µs", "p99_us", 0},
	{"tunnels/s", "rate", 0},
}

// padStem is a test name without its padding suffix.
func padStem(test string) string {
	for _, s := range []string{"-nopad", "-pad"} {
		if t, ok := strings.CutSuffix(test, s); ok {
			return t
		}
	}
	return test
}

// padPair is a padded group and the unpadded one it is compared with.
type padPair struct{ plain, padded *group }

func padPairs(groups map[string]*group, order []string) []padPair {
	var pairs []padPair
	for _, k := range order {
		p := groups[k]
		if !p.padded {
			continue
		}
		for _, k2 := range order {
			u := groups[k2]
			if !u.padded && u.peer == p.peer && u.proto == p.proto && u.mode == p.mode &&
				padStem(u.test) == padStem(p.test) {
				pairs = append(pairs, padPair{plain: u, padded: p})
				break
			}
		}
	}
	return pairs
}

// paddingRatios prints the padded runs against the unpadded ones; nothing
// when no run was padded.
func paddingRatios(w io.Writer, groups map[string]*group, order []string) {
	pairs := padPairs(groups, order)
	if len(pairs) == 0 {
		return
	}
	fmt.Fprintln(w, "### NaïveProxy padding: padded/unpadded (medians; above 1: padding costs more)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "p50 and p99 are of a whole tunnel (open, one echo, close) in setup, of one of the 8 round trips in first8.")
	fmt.Fprintln(w)
	head := []string{"test", "peer", "proto"}
	for _, m := range padCols {
		head = append(head, m.title+" unpadded", "padded", "ratio")
	}
	tableHead(w, head)
	for _, p := range pairs {
		line := []string{padStem(p.padded.test), p.padded.peer, p.padded.proto}
		for _, m := range padCols {
			line = append(line, cell(p.plain, m), cell(p.padded, m), ratioCell(p.padded, p.plain, m))
		}
		tableRow(w, line)
	}
	fmt.Fprintln(w)
}
