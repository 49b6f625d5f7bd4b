package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// reading is one look at the proxy: open fds, threads (/proc/PID/status
// Threads), RSS (VmRSS) and, with -pprof-url, goroutines. -1: unknown.
type reading struct {
	FDs        int64 `json:"fds"`
	Threads    int64 `json:"threads"`
	RSS        int64 `json:"rss_bytes"`
	Goroutines int64 `json:"goroutines"`
}

// span is one figure before the load, at its peak (during the load and
// the settling), and after the proxy settled.
type span struct {
	Before int64 `json:"before"`
	Peak   int64 `json:"peak"`
	After  int64 `json:"after"`
}

type sampler struct {
	pid      int
	pprofURL string
	client   *http.Client

	mu     sync.Mutex
	before reading
	peak   reading
	last   reading
	n      int
}

func newSampler(pid int, pprofURL string) *sampler {
	return &sampler{pid: pid, pprofURL: strings.TrimSuffix(pprofURL, "/"),
		client: &http.Client{Timeout: 5 * time.Second}}
}

func (s *sampler) read(withGoroutines bool) reading {
	r := reading{FDs: -1, Threads: -1, RSS: -1, Goroutines: -1}
	if s.pid > 0 {
		if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid)); err == nil {
			r.FDs = int64(len(ents))
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid)); err == nil {
			r.Threads = statusField(b, "Threads:")
			if v := statusField(b, "VmRSS:"); v >= 0 {
				r.RSS = v * 1024
			}
		}
	}
	if withGoroutines && s.pprofURL != "" {
		r.Goroutines = s.goroutines()
	}
	return r
}

func statusField(b []byte, key string) int64 {
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				v, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// goroutines reads the total from the first line of
// /debug/pprof/goroutine?debug=1 ("goroutine profile: total N").
func (s *sampler) goroutines() int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.pprofURL+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return -1
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil && line == "" {
		return -1
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return -1
	}
	v, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// observe records a reading toward the peak; the first is "before".
func (s *sampler) observe(r reading) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		s.before, s.peak = r, r
	}
	s.n++
	s.last = r
	s.peak.FDs = max(s.peak.FDs, r.FDs)
	s.peak.Threads = max(s.peak.Threads, r.Threads)
	s.peak.RSS = max(s.peak.RSS, r.RSS)
	s.peak.Goroutines = max(s.peak.Goroutines, r.Goroutines)
}

// settle samples every second until the proxy's fds, threads and
// goroutines have not fallen for `quiet` (or `bound` passed), and returns
// the last reading and how long it took.
func (s *sampler) settle(bound, quiet time.Duration) (reading, time.Duration, bool) {
	start := time.Now()
	r := s.read(true)
	s.observe(r)
	low := r
	lastFall := start
	for {
		if time.Since(lastFall) >= quiet {
			return r, time.Since(start), true
		}
		if time.Since(start) >= bound {
			return r, time.Since(start), false
		}
		time.Sleep(time.Second)
		r = s.read(true)
		s.observe(r)
		if r.FDs < low.FDs || r.Threads < low.Threads || r.Goroutines < low.Goroutines {
			lastFall = time.Now()
		}
		low.FDs, low.Threads, low.Goroutines = min(low.FDs, r.FDs), min(low.Threads, r.Threads), min(low.Goroutines, r.Goroutines)
	}
}

func (s *sampler) spans(after reading) (fds, threads, rss, gor span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, p := s.before, s.peak
	return span{b.FDs, p.FDs, after.FDs}, span{b.Threads, p.Threads, after.Threads},
		span{b.RSS, p.RSS, after.RSS}, span{b.Goroutines, p.Goroutines, after.Goroutines}
}

// procCPU is a process's user plus system CPU seconds from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux);
// -1 when unknown.
func procCPU(pid int) float64 {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return float64(u+st) / 100
}

// selfCPU is this process's CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
