package main

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// rr measures chatty tunnels: -c tunnels are opened first (not timed), then
// each does echo round trips of -size bytes, one at a time, until -n round
// trips in total or -duration.
func (r *runner) rr() (*result, error) {
	res := r.newResult()
	tuns := r.openMany(r.cfg.conc, true)
	defer closeAll(tuns)
	if countOpen(tuns) == 0 {
		r.closeErrors(res)
		return res, errors.New("no tunnel opened: " + r.firstErr)
	}

	var hist histogram
	var tickets, done atomic.Int64
	ph := r.beginPhase()
	deadline := ph.start.Add(r.cfg.duration)
	var wg sync.WaitGroup
	for _, t := range tuns {
		if t == nil {
			continue
		}
		wg.Add(1)
		go func(t tunnel) {
			defer wg.Done()
			// One deadline for the whole phase bounds every call without
			// paying for a deadline update per round trip.
			t.SetDeadline(deadline.Add(r.cfg.timeout))
			payload := newPayload(r.cfg.size)
			buf := make([]byte, r.cfg.size)
			for !r.expired(deadline) && tickets.Add(1) <= r.cfg.n {
				t0 := time.Now()
				if _, err := t.Write(payload); err != nil {
					r.fail(err)
					return
				}
				if err := readEcho(t, payload, buf); err != nil {
					r.fail(err)
					return
				}
				hist.Record(time.Since(t0))
				done.Add(1)
			}
		}(t)
	}
	wg.Wait()
	ph.end(res, time.Now())
	res.Ops = done.Load()
	res.P50, res.P99, res.P999 = hist.Quantile(0.50), hist.Quantile(0.99), hist.Quantile(0.999)
	r.closeErrors(res)
	res.finish()
	return res, nil
}
