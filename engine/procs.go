package engine

import (
	"os"
	"runtime"
)

// SetProcs gives the Go scheduler one P more than there are event loops,
// unless GOMAXPROCS is set in the environment, and returns the value in
// force.
//
// A loop spends its life in epoll_wait, read and write, holding its P in
// the syscall state. With GOMAXPROCS equal to the loop count, the goroutines
// that live beside the loops (the accept loop, dials, TLS handshakes,
// timers) run only when sysmon takes a P back from a loop, which costs a
// thread hand-off each time and up to 10 ms of latency. Measured on one
// core (benchmarks/loadgen -mode setup -c 16): 395-450 CPU µs per tunnel
// with GOMAXPROCS=1, 315-350 with 2, 345-395 with 3.
func SetProcs(workers int) int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	if want := workers + 1; runtime.GOMAXPROCS(0) < want {
		runtime.GOMAXPROCS(want)
	}
	return runtime.GOMAXPROCS(0)
}
