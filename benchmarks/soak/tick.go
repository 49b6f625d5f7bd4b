package main

import (
	"sync"
	"time"
)

// tickEvery runs f on every tick of a period-long ticker, on a goroutine
// that wg counts, until stop is closed. The watchdog, the vanish watcher
// and a storm's peak sampling all scan this way: nothing at the start,
// then once per period.
func tickEvery(period time.Duration, stop <-chan struct{}, wg *sync.WaitGroup, f func(now time.Time)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(period)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tk.C:
				f(now)
			}
		}
	}()
}
