//go:build unix

package acl

import (
	"syscall"
	"time"
)

// cpuTime is the process's CPU time so far. On a shared machine wall-clock
// ns/op mostly measures who else is running; CPU time per op does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
