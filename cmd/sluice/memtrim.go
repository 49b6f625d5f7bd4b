package main

import (
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/rs/zerolog"
)

// Go's collector lets the heap grow GOGC percent past what is live before
// it runs, and its scavenger gives back only what lies beyond that goal.
// A node whose tunnels have gone quiet so keeps about as much again as
// its tunnels hold live, resident and waiting for allocations that do not
// come. memTrim gives that headroom back once allocation has stopped; the
// heap's goal is unchanged, so a node that gets busy again grows back
// into it without collecting more often than before.
type memTrim struct {
	samples    [6]metrics.Sample
	lastAllocs uint64 // 0 before the first check: never quiet
	trimCycle  uint64 // the collections counted when the last trim was done
	log        zerolog.Logger
}

// The metrics memTrim reads, in samples' order. A trim gives back free
// spans and the spans its collection empties; the free slots of spans
// that keep a live object stay, but which spans empty cannot be known
// before, so all of the resident heap that is not live counts.
var memTrimMetrics = [6]string{
	"/gc/heap/allocs:bytes",              // cumulative
	"/gc/heap/live:bytes",                // as the last collection marked it
	"/memory/classes/heap/objects:bytes", // live and dead, not yet swept
	"/memory/classes/heap/unused:bytes",  // free slots in spans in use
	"/memory/classes/heap/free:bytes",    // free spans still resident
	"/gc/cycles/total:gc-cycles",
}

const (
	// A check is quiet when the heap grew by less than this share of the
	// live heap since the last one.
	memTrimQuietShare = 32
	// Trimming is worth a forced collection only when more than a quarter
	// of the live heap, and at least memTrimMinSlack, would go back.
	memTrimSlackShare = 4
	memTrimMinSlack   = 4 << 20
)

func newMemTrim(log zerolog.Logger) *memTrim {
	t := &memTrim{log: log}
	for i, name := range memTrimMetrics {
		t.samples[i].Name = name
	}
	return t
}

// due reads the heap and reports whether it is quiet and holds enough
// resident headroom to give back.
func (t *memTrim) due() (slack uint64, ok bool) {
	metrics.Read(t.samples[:])
	allocs := t.samples[0].Value.Uint64()
	live := t.samples[1].Value.Uint64()
	resident := t.samples[2].Value.Uint64() + t.samples[3].Value.Uint64() + t.samples[4].Value.Uint64()
	cycles := t.samples[5].Value.Uint64()
	first := t.lastAllocs == 0
	grew := allocs - t.lastAllocs
	t.lastAllocs = allocs
	if first || t.trimCycle != 0 && cycles <= t.trimCycle {
		// At most one trim per collection the heap made itself: a heap
		// that allocates slowly but steadily costs at most twice its
		// collections, and one that does not allocate (or whose slack is
		// free slots no trim can return) is trimmed once.
		return 0, false
	}
	return trimDue(grew, live, resident)
}

// trimDue is the rule: the heap grew by less than 1/memTrimQuietShare of
// what is live since the last check, and the resident heap holds more
// than 1/memTrimSlackShare of the live heap again, and at least
// memTrimMinSlack, that is not live.
func trimDue(grew, live, resident uint64) (slack uint64, ok bool) {
	if grew >= live/memTrimQuietShare || resident <= live {
		return 0, false
	}
	slack = resident - live
	return slack, slack >= memTrimMinSlack && slack >= live/memTrimSlackShare
}

// check trims when due. A trim collects and then returns every free page
// (debug.FreeOSMemory); it runs on the checker's goroutine, never on a
// loop, and the loops go on during the collection's concurrent mark.
func (t *memTrim) check() bool {
	slack, ok := t.due()
	if !ok {
		return false
	}
	start := time.Now()
	debug.FreeOSMemory()
	t.log.Debug().Uint64("slack_bytes", slack).Dur("took", time.Since(start)).Msg("memory trimmed: heap quiet")
	// What the collection freed is not allocation: read the baseline
	// again, and the collection count that includes the trim's own.
	metrics.Read(t.samples[:])
	t.lastAllocs = t.samples[0].Value.Uint64()
	t.trimCycle = t.samples[5].Value.Uint64()
	return true
}

// run checks every interval until stop is closed.
func (t *memTrim) run(every time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			t.check()
		}
	}
}
