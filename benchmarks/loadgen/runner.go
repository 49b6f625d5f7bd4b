package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// openPhaseBound limits how long opening the tunnels of rr, bulk and idle
// may take in total, on top of -timeout for each one.
const openPhaseBound = 60 * time.Second

// runner holds what every mode needs.
type runner struct {
	cfg    config
	ctx    context.Context
	op     opener
	target string
	procs  procSet

	errs     atomic.Int64
	errMu    sync.Mutex
	firstErr string
}

// fail counts a failed operation and keeps the first message.
func (r *runner) fail(err error) {
	r.errs.Add(1)
	r.errMu.Lock()
	if r.firstErr == "" {
		r.firstErr = err.Error()
	}
	r.errMu.Unlock()
}

func (r *runner) newResult() *result {
	return &result{
		Test:  r.cfg.test,
		Peer:  r.cfg.label,
		Mode:  r.cfg.mode,
		Proto: r.cfg.proto,
		C:     r.cfg.conc,
		Pad:   r.cfg.padding,
	}
}

// closeErrors copies the error count into the result.
func (r *runner) closeErrors(res *result) {
	res.Errors = r.errs.Load()
	res.FirstError = r.firstErr
}

// phase measures one timed section: wall time, the proxy's CPU and peak
// RSS, and this tool's own CPU.
type phase struct {
	procs   procSet
	start   time.Time
	cpu0    cpuSample
	self0   float64
	sampler *rssSampler
}

func (r *runner) beginPhase() *phase {
	p := &phase{procs: r.procs}
	p.sampler = startRSSSampler(r.procs, 50*time.Millisecond)
	p.cpu0 = r.procs.CPU()
	p.self0 = selfCPU()
	p.start = time.Now()
	return p
}

// end fills elapsed time and CPU into res. until is the end of the useful
// work (the last operation), which may be earlier than now.
func (p *phase) end(res *result, until time.Time) {
	res.Elapsed = until.Sub(p.start).Seconds()
	res.ProxyCPU = cpuSince(p.cpu0, p.procs.CPU())
	res.ClientCPU = selfCPU() - p.self0
	res.RSSMax = p.sampler.Stop()
}

// expired tells a worker to stop: the phase deadline passed, the run was
// interrupted, or so many operations failed that going on would only add
// timeouts.
func (r *runner) expired(deadline time.Time) bool {
	return r.ctx.Err() != nil || time.Now().After(deadline) || r.errs.Load() >= r.cfg.maxErrors
}

// echoOnce sends the echo preamble with a payload and reads the payload
// back: the tunnel is proven end to end before it counts as open.
func echoOnce(t tunnel, payload, buf []byte, withPreamble bool) error {
	msg := payload
	if withPreamble {
		msg = append([]byte(preambleEcho), payload...)
	}
	if _, err := t.Write(msg); err != nil {
		return err
	}
	return readEcho(t, payload, buf)
}

// readEcho reads len(payload) bytes and checks they are the payload.
func readEcho(t tunnel, payload, buf []byte) error {
	if _, err := io.ReadFull(t, buf[:len(payload)]); err != nil {
		return err
	}
	if !bytes.Equal(buf[:len(payload)], payload) {
		return errors.New("echo: corrupted data")
	}
	return nil
}

// newPayload is an echo payload: pattern bytes, so that a proxy mixing up
// tunnels or offsets is caught.
func newPayload(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(i % patPeriod)
	}
	return p
}

// openMany opens k tunnels, at most -open-par at a time so that no peer's
// accept backlog overflows (a dropped SYN would add a 1 s retransmit to the
// numbers). With warm set each tunnel is an echo tunnel that has done one
// round trip. Failed opens are counted and leave a nil slot.
func (r *runner) openMany(k int, warm bool) []tunnel {
	tuns := make([]tunnel, k)
	deadline := time.Now().Add(openPhaseBound)
	var next atomic.Int64
	var wg sync.WaitGroup
	par := min(r.cfg.openPar, k)
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := newPayload(r.cfg.size)
			buf := make([]byte, r.cfg.size)
			for {
				i := int(next.Add(1) - 1)
				if i >= k || r.expired(deadline) {
					return
				}
				t, err := r.op.Open(r.ctx, r.target)
				if err != nil {
					r.fail(err)
					continue
				}
				if warm {
					t.SetDeadline(time.Now().Add(r.cfg.timeout))
					if err := echoOnce(t, payload, buf, true); err != nil {
						r.fail(err)
						t.Close()
						continue
					}
					t.SetDeadline(time.Time{})
				}
				tuns[i] = t
			}
		}()
	}
	wg.Wait()
	return tuns
}

// closeAll closes the open tunnels in parallel (closing an h2 stream waits
// for the transport, and thousands in a row would dominate a short run).
func closeAll(tuns []tunnel) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, t := range tuns {
		if t == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(t tunnel) {
			defer wg.Done()
			t.Close()
			<-sem
		}(t)
	}
	wg.Wait()
}

func countOpen(tuns []tunnel) int {
	n := 0
	for _, t := range tuns {
		if t != nil {
			n++
		}
	}
	return n
}
