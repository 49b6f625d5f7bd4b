package main

import (
	"sync"
	"sync/atomic"
	"time"
)

// live is a tunnel in flight, as the watchdog sees it: a tunnel with no
// byte either way for its stall limit, or older than the hard cap, is
// aborted, so that no tunnel of the tool can hang on a stuck proxy.
type live struct {
	last    atomic.Int64 // UnixNano of the last byte read or written
	start   time.Time
	stall   time.Duration
	hardCap time.Duration
	abort   func()
	fired   atomic.Pointer[string] // why the watchdog aborted it
}

func (l *live) touch() { l.last.Store(time.Now().UnixNano()) }

// why is the watchdog's reason, "" if it did not fire.
func (l *live) why() string {
	if p := l.fired.Load(); p != nil {
		return *p
	}
	return ""
}

// tracker holds the tunnels in flight and scans them.
type tracker struct {
	mu    sync.Mutex
	lives map[*live]struct{}
	stop  chan struct{}
	wg    sync.WaitGroup
}

func newTracker(every time.Duration) *tracker {
	t := &tracker{lives: make(map[*live]struct{}), stop: make(chan struct{})}
	tickEvery(every, t.stop, &t.wg, t.scan)
	return t
}

func (t *tracker) add(stall, hardCap time.Duration, abort func()) *live {
	l := &live{start: time.Now(), stall: stall, hardCap: hardCap, abort: abort}
	l.touch()
	t.mu.Lock()
	t.lives[l] = struct{}{}
	t.mu.Unlock()
	return l
}

func (t *tracker) remove(l *live) {
	t.mu.Lock()
	delete(t.lives, l)
	t.mu.Unlock()
}

func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.lives)
}

func (t *tracker) scan(now time.Time) {
	var fire []*live
	t.mu.Lock()
	for l := range t.lives {
		if l.fired.Load() != nil {
			continue
		}
		var why string
		switch {
		case now.Sub(l.start) > l.hardCap:
			why = "hard_cap"
		case now.UnixNano()-l.last.Load() > int64(l.stall):
			why = "stall"
		default:
			continue
		}
		l.fired.Store(&why)
		fire = append(fire, l)
	}
	t.mu.Unlock()
	for _, l := range fire {
		go l.abort()
	}
}

// abortAll fires every tunnel still in flight (the run is over).
func (t *tracker) abortAll(why string) int {
	var fire []*live
	t.mu.Lock()
	for l := range t.lives {
		if l.fired.CompareAndSwap(nil, &why) {
			fire = append(fire, l)
		}
	}
	t.mu.Unlock()
	for _, l := range fire {
		go l.abort()
	}
	return len(fire)
}

func (t *tracker) close() {
	close(t.stop)
	t.wg.Wait()
}
