package main

import (
	"fmt"
	"net"
	"sort"
	"sync"
	"syscall"
	"time"
)

// A client that vanishes sends nothing more: no FIN, no RST, no QUIC
// CONNECTION_CLOSE, as when its machine loses power or its NAT mapping
// is dropped. For TCP the client socket is put in repair mode
// (TCP_REPAIR, needs CAP_NET_ADMIN) before it is closed: the kernel then
// destroys it without a segment. The proxy learns of it only from the RST
// its next segment draws (loopback answers a segment for a socket that is
// gone), from a TCP keepalive probe, or from its idle timeout. For QUIC
// the flow's own UDP socket is closed under quic-go, which then cannot
// send a CONNECTION_CLOSE; the proxy's QUIC idle timeout ends it.
//
// The tool cannot see the proxy's side of the client, so a vanish is
// judged by the upstream: the origin's connection of the tunnel must be
// closed by the proxy within -vanish-wait. A watcher does that in the
// background, so that a worker is not held for the proxy's timeouts.

// tcpRepairClose closes c without a FIN or an RST.
func tcpRepairClose(c *net.TCPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpRepair, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("TCP_REPAIR: %w", serr)
	}
	return c.Close()
}

const tcpRepair = 19 // TCP_REPAIR (Linux)

// canRepair says whether this process may use TCP_REPAIR (the
// client_vanish fault on TCP is left out otherwise).
func canRepair() bool {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	return syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, tcpRepair, 1) == nil
}

// vanishWatch is one vanished client whose upstream must close.
type vanishWatch struct {
	id       uint64
	class    string
	at       time.Time
	deadline time.Time
}

// vanishWatcher checks the watched upstreams every 200 ms.
type vanishWatcher struct {
	origin  *origin
	onError func(kind, msg string)

	mu       sync.Mutex
	watched  []vanishWatch
	detected map[string][]float64 // seconds from vanish to upstream closed, by class
	missed   map[string]int64
	stop     chan struct{}
	wg       sync.WaitGroup
}

func newVanishWatcher(o *origin, onError func(kind, msg string)) *vanishWatcher {
	w := &vanishWatcher{origin: o, onError: onError, detected: map[string][]float64{},
		missed: map[string]int64{}, stop: make(chan struct{})}
	tickEvery(200*time.Millisecond, w.stop, &w.wg, w.scan)
	return w
}

func (w *vanishWatcher) add(id uint64, class string, bound time.Duration) {
	now := time.Now()
	w.mu.Lock()
	w.watched = append(w.watched, vanishWatch{id: id, class: class, at: now, deadline: now.Add(bound)})
	w.mu.Unlock()
}

func (w *vanishWatcher) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.watched)
}

func (w *vanishWatcher) scan(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	keep := w.watched[:0]
	for _, v := range w.watched {
		switch {
		case !w.origin.isOpen(v.id):
			w.detected[v.class] = append(w.detected[v.class], now.Sub(v.at).Seconds())
		case now.After(v.deadline):
			w.missed[v.class]++
			w.onError("vanish_upstream_kept", fmt.Sprintf("%s: tunnel %d's client vanished %v ago, its upstream is still open",
				v.class, v.id>>8, now.Sub(v.at).Round(time.Second)))
		default:
			keep = append(keep, v)
		}
	}
	w.watched = keep
}

// finish waits (at most until every deadline) for the pending watches
// and stops the watcher.
func (w *vanishWatcher) finish() {
	for w.pending() > 0 {
		time.Sleep(200 * time.Millisecond) // each watch ends by its deadline
	}
	close(w.stop)
	w.wg.Wait()
}

// vanishReport is, by class, how many vanished clients' upstreams the
// proxy closed and how long it took.
type vanishReport struct {
	Detected   int64   `json:"upstream_closed"`
	Missed     int64   `json:"upstream_kept"`
	P50Seconds float64 `json:"p50_s"`
	MaxSeconds float64 `json:"max_s"`
}

func (w *vanishWatcher) report() map[string]vanishReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]vanishReport{}
	for class, ds := range w.detected {
		s := append([]float64(nil), ds...)
		sort.Float64s(s)
		r := out[class]
		r.Detected = int64(len(s))
		if len(s) > 0 {
			r.P50Seconds, r.MaxSeconds = s[len(s)/2], s[len(s)-1]
		}
		out[class] = r
	}
	for class, n := range w.missed {
		r := out[class]
		r.Missed = n
		out[class] = r
	}
	return out
}
