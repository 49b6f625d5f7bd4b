package relay

import (
	"sync"
	"testing"
)

// --max-splices: never more tunnels spliced at once than Max, however many
// loops ask together, and a released slot can be taken again.
func TestSplicesCap(t *testing.T) {
	s := &Splices{Max: 8}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if s.acquire() {
					mu.Lock()
					got++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if got != 8 || s.Active() != 8 {
		t.Fatalf("acquired %d, active %d; want exactly Max = 8", got, s.Active())
	}
	s.release()
	if !s.acquire() || s.acquire() {
		t.Fatal("a released slot must be taken once, and only once")
	}
	var none *Splices
	if none.acquire() || (&Splices{}).acquire() {
		t.Fatal("no Splices, or Max 0, must never splice")
	}
}
