package engine

import (
	"runtime"
	"testing"
)

func TestSetProcsSparesOneAboveTheLoops(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	t.Setenv("GOMAXPROCS", "")
	runtime.GOMAXPROCS(1)
	if got := SetProcs(2); got != 3 {
		t.Fatalf("SetProcs(2) with GOMAXPROCS 1 = %d, want 3", got)
	}
	runtime.GOMAXPROCS(8)
	if got := SetProcs(2); got != 8 {
		t.Fatalf("SetProcs(2) with GOMAXPROCS 8 = %d, want 8 (never lowered)", got)
	}
	// An operator's explicit GOMAXPROCS wins.
	t.Setenv("GOMAXPROCS", "1")
	runtime.GOMAXPROCS(1)
	if got := SetProcs(4); got != 1 {
		t.Fatalf("SetProcs(4) with GOMAXPROCS=1 in the environment = %d, want 1", got)
	}
}
