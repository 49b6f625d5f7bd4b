package main

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// first8RoundTrips is how many echo round trips a first8 tunnel does: the
// first 8 writes of each direction are the ones NaïveProxy padding frames
// (the first carries the echo preamble too), so with -padding every round
// trip of this mode is padded both ways and none after it is.
const first8RoundTrips = padFrames

// first8 measures the start of a tunnel's life: each of -c workers opens a
// tunnel, does exactly 8 echo round trips of -size bytes, one at a time,
// and closes it, until -n tunnels or -duration. The latency is that of
// one round trip (the open is not in it); the proxy's CPU is per tunnel,
// open and close included.
func (r *runner) first8() (*result, error) {
	res := r.newResult()
	var hist histogram
	var tickets, done, trips atomic.Int64
	var lastMu sync.Mutex
	var last time.Time

	ph := r.beginPhase()
	deadline := ph.start.Add(r.cfg.duration)
	var wg sync.WaitGroup
	for w := 0; w < r.cfg.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := append([]byte(preambleEcho), newPayload(r.cfg.size)...)
			buf := make([]byte, r.cfg.size)
			var mine time.Time
			for !r.expired(deadline) && tickets.Add(1) <= r.cfg.n {
				n, err := r.first8Tunnel(msg, buf, &hist)
				trips.Add(int64(n))
				if err != nil {
					r.fail(err)
					// A dead proxy fails fast; do not spin on it.
					time.Sleep(time.Millisecond)
					continue
				}
				mine = time.Now()
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
	res.RoundTrips = trips.Load()
	res.P50, res.P99, res.P999 = hist.Quantile(0.50), hist.Quantile(0.99), hist.Quantile(0.999)
	r.closeErrors(res)
	res.finish()
	if res.Ops == 0 {
		return res, errors.New("no tunnel completed: " + r.firstErr)
	}
	return res, nil
}

// first8Tunnel opens a tunnel and does its 8 round trips; msg is the echo
// preamble followed by the payload, which the first write sends whole. It
// returns how many round trips were done (and recorded).
func (r *runner) first8Tunnel(msg, buf []byte, hist *histogram) (int, error) {
	t, err := r.op.Open(r.ctx, r.target)
	if err != nil {
		return 0, err
	}
	defer t.Close()
	t.SetDeadline(time.Now().Add(r.cfg.timeout))
	payload := msg[len(preambleEcho):]
	for i := 0; i < first8RoundTrips; i++ {
		out := payload
		if i == 0 {
			out = msg
		}
		t0 := time.Now()
		if _, err := t.Write(out); err != nil {
			return i, err
		}
		if err := readEcho(t, payload, buf); err != nil {
			return i, err
		}
		hist.Record(time.Since(t0))
	}
	return first8RoundTrips, nil
}
