package engine

import "time"

// workers runs off-loop jobs (dials, TLS handshakes) on goroutines that
// are kept for a while after their job. A fresh goroutine starts with a
// small stack and grows it on every dial and handshake (net.Dialer and
// crypto/tls are deep): 5-6% of proxy CPU in an HTTP/2 stream setup
// profile went to newstack/copystack before jobs reused goroutines.
type workers struct {
	jobs chan func() // unbuffered: a send succeeds only if a worker is idle
	idle time.Duration
	done <-chan struct{} // closed at shutdown: idle workers leave at once
}

func newWorkers(idle time.Duration, done <-chan struct{}) *workers {
	return &workers{jobs: make(chan func()), idle: idle, done: done}
}

// run starts f on an idle worker, or on a new one if none is idle; it
// never waits.
func (w *workers) run(f func()) {
	select {
	case w.jobs <- f:
	default:
		go w.work(f)
	}
}

// work runs f, then takes further jobs until it has been idle for w.idle
// (so a burst's goroutines go away once the burst is over) or the engine
// has shut down.
func (w *workers) work(f func()) {
	t := time.NewTimer(w.idle)
	defer t.Stop()
	for {
		f()
		f = nil // let the job's closure go while idle
		t.Reset(w.idle)
		select {
		case f = <-w.jobs:
		case <-t.C:
			return
		case <-w.done:
			return
		}
	}
}
