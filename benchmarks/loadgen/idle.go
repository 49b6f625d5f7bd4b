package main

import (
	"time"
)

// idle measures memory per idle tunnel: the proxy's RSS and fd count are
// read before the first tunnel, then -c tunnels are opened, each proven
// with one echo, and after -settle the readings are taken again. The
// per-tunnel numbers divide the growth by the tunnels actually open, so a
// peer that ran out of fds still gets an honest figure, and the errors say
// where it stopped.
func (r *runner) idle() (*result, error) {
	res := r.newResult()
	res.FDLimit = r.procs.FDLimit()
	res.RSSBase = r.procs.RSS()
	fds0 := r.procs.FDs()

	ph := r.beginPhase()
	tuns := r.openMany(r.cfg.conc, true)
	opened := time.Now()
	defer closeAll(tuns)
	open := countOpen(tuns)

	select {
	case <-r.ctx.Done():
	case <-time.After(r.cfg.settle):
	}
	res.RSSAfter = r.procs.RSS()
	fds1 := r.procs.FDs()
	ph.end(res, opened)

	res.Ops = int64(open)
	r.closeErrors(res)
	res.finish()
	if open > 0 && !r.procs.Empty() {
		res.RSSPerTunnel = float64(res.RSSAfter-res.RSSBase) / float64(open)
		res.FDsPerTunnel = float64(fds1-fds0) / float64(open)
	}
	if r.cfg.hold > 0 {
		select {
		case <-r.ctx.Done():
		case <-time.After(r.cfg.hold):
		}
	}
	return res, nil
}
