package main

import (
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestTrimDue(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name                 string
		grew, live, resident uint64
		want                 bool
	}{
		{"quiet with headroom", 0, 40 * mib, 80 * mib, true},
		{"allocating", 2 * mib, 40 * mib, 80 * mib, false},
		{"just under the quiet share", 40*mib/32 - 1, 40 * mib, 80 * mib, true},
		{"headroom under a quarter of live", 0, 40 * mib, 49 * mib, false},
		{"headroom a quarter of live", 0, 40 * mib, 50 * mib, true},
		{"small heap, small headroom", 0, 1 * mib, 4 * mib, false},
		{"small heap, 4 MiB headroom", 0, 1 * mib, 5 * mib, true},
		{"nothing resident past live", 0, 40 * mib, 40 * mib, false},
		{"live above resident (stale reading)", 0, 40 * mib, 39 * mib, false},
	} {
		if _, ok := trimDue(c.grew, c.live, c.resident); ok != c.want {
			t.Errorf("%s: trimDue(%d, %d, %d) = %v, want %v", c.name, c.grew, c.live, c.resident, ok, c.want)
		}
	}
}

var trimSink [][]byte

// The headroom a burst of allocation left goes back to the kernel at the
// first quiet check, and only then.
func TestMemTrimReleasesAfterBurst(t *testing.T) {
	released := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	m := newMemTrim(zerolog.Nop())
	if m.check() {
		t.Fatal("the first check trimmed: it has no interval to judge")
	}
	// Other tests' goroutines may still allocate a little; a check that
	// sees them is not quiet, so allow a few.
	for try := 0; try < 20; try++ {
		for i := 0; i < 64; i++ {
			trimSink = append(trimSink, make([]byte, 1<<20))
		}
		trimSink = nil
		runtime.GC() // the burst is dead, its pages still resident
		m.check()    // the burst itself: not quiet
		before := released()
		if !m.check() {
			continue
		}
		if got := released() - before; got < 32<<20 {
			t.Fatalf("trim released %d bytes after a 64 MiB burst, want at least 32 MiB", got)
		}
		if m.check() {
			t.Fatal("a second quiet check trimmed again with nothing to give back")
		}
		// Garbage, but no collection since the trim (the collector is off):
		// no trim, however much could go back. After a collection, one.
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		for i := 0; i < 64; i++ {
			trimSink = append(trimSink, make([]byte, 1<<20))
		}
		trimSink = nil
		m.check()
		if m.check() {
			t.Fatal("trimmed twice without a collection of the heap's own between")
		}
		runtime.GC() // a collection, and no allocation: the next check is quiet
		if !m.check() {
			t.Fatal("no trim after a collection, with 64 MiB to give back")
		}
		return
	}
	t.Fatal("no quiet check in 20 tries")
}

// A connect timeout of 0 would fail every dial and DNS query at once, and
// a negative trim interval means nothing: both are refused at start.
func TestFlagsRefuseZeroConnectTimeoutAndNegativeTrim(t *testing.T) {
	for _, args := range [][]string{{"--connect-timeout", "0"}, {"--connect-timeout", "-1s"}, {"--mem-trim", "-1s"}} {
		if _, err := parseFlags(args, io.Discard); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: %v; want an error naming the flag", args, err)
		}
	}
	if _, err := parseFlags([]string{"--mem-trim", "0"}, io.Discard); err != nil {
		t.Errorf("--mem-trim 0 (off): %v", err)
	}
}
