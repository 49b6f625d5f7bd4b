package main

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// A storm is -storm-size extra tunnels started at once, every
// -storm-every, on top of the -concurrency workers: a burst of accepts,
// handshakes, dials, lookups and faults. Threads that the proxy's
// runtime starts for a burst (blocking syscalls, the scheduler) should
// come back to a plateau after it; each storm records the proxy's
// threads just before, at the peak during (sampled every 100 ms) and 10 s
// after it ended, so that a growth that stays shows storm by storm.
const (
	stormMaxBytes = 64 << 10 // storm tunnels are short
	stormSettle   = 10 * time.Second
)

type stormReport struct {
	T             float64 `json:"t_s"`
	Tunnels       int     `json:"tunnels"`
	Seconds       float64 `json:"seconds"`
	ThreadsBefore int64   `json:"threads_before"`
	ThreadsPeak   int64   `json:"threads_peak"`
	ThreadsAfter  int64   `json:"threads_after_10s"`
	FDsPeak       int64   `json:"fds_peak"`
}

// storms runs storms until end (the last one starts before end) and
// returns what each did.
func (s *soak) storms(ctx context.Context, started, end time.Time, smp *sampler, r *rand.Rand) []stormReport {
	var out []stormReport
	if s.cfg.stormEvery <= 0 || s.cfg.stormSize <= 0 {
		return out
	}
	next := started.Add(s.cfg.stormEvery)
	for {
		select {
		case <-ctx.Done():
			return out
		case <-time.After(time.Until(next)):
		}
		if !time.Now().Before(end) {
			return out
		}
		out = append(out, s.storm(ctx, started, smp, r))
		next = next.Add(s.cfg.stormEvery)
		if now := time.Now(); next.Before(now) {
			next = now // a storm longer than -storm-every: the next at once
		}
	}
}

func (s *soak) storm(ctx context.Context, started time.Time, smp *sampler, r *rand.Rand) stormReport {
	t0 := time.Now()
	before := smp.read(false)
	rep := stormReport{T: t0.Sub(started).Seconds(), ThreadsBefore: before.Threads, ThreadsPeak: before.Threads, FDsPeak: before.FDs}

	// Peak sampling while the storm runs.
	stop := make(chan struct{})
	var peakWG sync.WaitGroup
	tickEvery(100*time.Millisecond, stop, &peakWG, func(time.Time) {
		rd := smp.read(false)
		smp.observe(rd)
		rep.ThreadsPeak, rep.FDsPeak = max(rep.ThreadsPeak, rd.Threads), max(rep.FDsPeak, rd.FDs)
	})

	var wg sync.WaitGroup
	for i := 0; i < s.cfg.stormSize; i++ {
		n := s.seq.Add(1)
		if int64(n) > s.cfg.maxTunnels {
			break
		}
		p := s.newPlan(n, rand.New(rand.NewPCG(r.Uint64(), r.Uint64())))
		p.n = min(p.n, stormMaxBytes)
		p.k = min(p.k, max(p.n-1, 0))
		p.storm = true
		rep.Tunnels++
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.st.inFlight.Add(1)
			o := s.runTunnel(ctx, p)
			s.st.inFlight.Add(-1)
			s.st.record(p, o)
		}()
	}
	wg.Wait() // every tunnel is bounded by -tunnel-max and the watchdog
	close(stop)
	peakWG.Wait()
	rep.Seconds = time.Since(t0).Seconds()

	select {
	case <-ctx.Done():
	case <-time.After(stormSettle):
	}
	rep.ThreadsAfter = smp.read(false).Threads
	return rep
}
