package main

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// setup measures tunnel churn: each of -c workers opens a tunnel, does one
// echo of -size bytes, and closes it, until -n tunnels or -duration. The
// latency of an operation covers all three steps.
func (r *runner) setup() (*result, error) {
	res := r.newResult()
	var hist histogram
	var tickets, done atomic.Int64
	var lastMu sync.Mutex
	var last time.Time

	ph := r.beginPhase()
	deadline := ph.start.Add(r.cfg.duration)
	var wg sync.WaitGroup
	for w := 0; w < r.cfg.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := newPayload(r.cfg.size)
			buf := make([]byte, r.cfg.size)
			var mine time.Time
			for !r.expired(deadline) && tickets.Add(1) <= r.cfg.n {
				t0 := time.Now()
				if err := r.oneTunnel(payload, buf); err != nil {
					r.fail(err)
					// A dead proxy fails fast; do not spin on it.
					time.Sleep(time.Millisecond)
					continue
				}
				mine = time.Now()
				hist.Record(mine.Sub(t0))
				done.Add(1)
			}
			lastMu.Lock()
			if mine.After(last) {
				last = mine
			}
			lastMu.Unlock()
		}()
	}
	wg.Wait()
	if last.IsZero() {
		last = time.Now()
	}
	ph.end(res, last)
	res.Ops = done.Load()
	res.P50, res.P99, res.P999 = hist.Quantile(0.50), hist.Quantile(0.99), hist.Quantile(0.999)
	r.closeErrors(res)
	res.finish()
	if res.Ops == 0 {
		return res, errors.New("no tunnel completed: " + r.firstErr)
	}
	return res, nil
}

// oneTunnel is one setup operation: open, echo, close.
func (r *runner) oneTunnel(payload, buf []byte) error {
	t, err := r.op.Open(r.ctx, r.target)
	if err != nil {
		return err
	}
	defer t.Close()
	t.SetDeadline(time.Now().Add(r.cfg.timeout))
	return echoOnce(t, payload, buf, true)
}
