package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
// It is 100 on every Linux build that matters here; asking sysconf would
// need cgo for no gain.
const clockTicks = 100

// procSet is the proxy under test: one or more PIDs whose CPU time, RSS
// and open fds are summed (a proxy that forks workers is given as a list).
type procSet struct {
	pids []int
}

// parsePIDs reads "-pid 123" or "-pid 123,456". An empty string means no
// proxy process (the "none" peer), and every sample is zero.
func parsePIDs(s string) (procSet, error) {
	var ps procSet
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return ps, fmt.Errorf("bad -pid %q", f)
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/stat", pid)); err != nil {
			return ps, fmt.Errorf("-pid %d: %w", pid, err)
		}
		ps.pids = append(ps.pids, pid)
	}
	return ps, nil
}

// Empty reports whether there is no proxy process to sample.
func (ps procSet) Empty() bool { return len(ps.pids) == 0 }

// cpuSample is a process set's CPU time, read two ways: utime+stime from
// /proc/PID/stat, which counts exited threads too but only in 10 ms ticks,
// and the sum of the live threads' run time from /proc/PID/task/*/schedstat,
// in nanoseconds. A bulk run uses 0.1-0.5 s of proxy CPU, where ticks alone
// would be 2-10 % off.
type cpuSample struct {
	ticks, exec float64 // seconds
}

// CPU samples the CPU time consumed so far by all threads.
func (ps procSet) CPU() cpuSample {
	var s cpuSample
	var ticks int64
	for _, pid := range ps.pids {
		ticks += statTicks(fmt.Sprintf("/proc/%d/stat", pid))
		s.exec += schedExec(pid)
	}
	s.ticks = float64(ticks) / clockTicks
	return s
}

// cpuSince is the CPU seconds used between a and b: the precise figure,
// unless threads that ran for a while exited in between (their run time
// leaves the schedstat sum), which the tick count then shows.
func cpuSince(a, b cpuSample) float64 {
	exec, ticks := b.exec-a.exec, b.ticks-a.ticks
	if a.exec == 0 || ticks > exec+2.0/clockTicks {
		return ticks
	}
	return exec
}

// schedExec sums the first field of every thread's schedstat: time spent
// on a CPU, in nanoseconds (0 if schedstat is not available).
func schedExec(pid int) float64 {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var ns int64
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			ns += v
		}
	}
	return float64(ns) / 1e9
}

// selfCPU is the load tool's own CPU time: when it is near the elapsed
// time, the client was the ceiling, not the proxy.
func selfCPU() float64 { return float64(statTicks("/proc/self/stat")) / clockTicks }

// statTicks returns utime+stime from a stat file. The fields are counted
// after the last ')' because the command name may contain spaces.
func statTicks(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// RSS returns the resident set size in bytes (VmRSS).
func (ps procSet) RSS() int64 {
	var total int64
	for _, pid := range ps.pids {
		total += statusKB(pid, "VmRSS:") * 1024
	}
	return total
}

func statusKB(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// FDs returns the number of open file descriptors.
func (ps procSet) FDs() int {
	total := 0
	for _, pid := range ps.pids {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err == nil {
			total += len(ents)
		}
	}
	return total
}

// FDLimit returns the soft "Max open files" of the first process, so that
// a report can say why a peer stopped accepting.
func (ps procSet) FDLimit() int64 {
	if ps.Empty() {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", ps.pids[0]))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// rssSampler records the peak RSS every interval until stopped; a single
// reading at the end would miss the bulk buffers a proxy frees again.
type rssSampler struct {
	ps   procSet
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	max  int64
}

func startRSSSampler(ps procSet, every time.Duration) *rssSampler {
	s := &rssSampler{ps: ps, stop: make(chan struct{})}
	if ps.Empty() {
		return s
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.observe()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) observe() {
	r := s.ps.RSS()
	s.mu.Lock()
	if r > s.max {
		s.max = r
	}
	s.mu.Unlock()
}

// Stop ends sampling and returns the peak.
func (s *rssSampler) Stop() int64 {
	close(s.stop)
	s.wg.Wait()
	if !s.ps.Empty() {
		s.observe()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

// snmpCounter reads one counter of /proc/net/snmp, where each protocol has
// a line of names and a line of values that both start with proto ("Udp:").
// It returns -1 when the counter is not there.
func snmpCounter(proto, name string) int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return -1
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != proto {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i := 1; i < len(f) && i < len(names); i++ {
			if names[i] == name {
				v, err := strconv.ParseInt(f[i], 10, 64)
				if err != nil {
					return -1
				}
				return v
			}
		}
		return -1
	}
	return -1
}
