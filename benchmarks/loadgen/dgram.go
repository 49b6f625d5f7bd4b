package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The dgram mode measures connect-udp flows: -c flows to the UDP echo,
// each a closed loop with -window datagrams of -size bytes in flight. A
// datagram that came back frees its slot for the next one; one that is
// not back within -lost-after (1 s) counts as lost and frees its slot too,
// so a lossy proxy slows the loop down instead of stopping it. Each
// datagram crosses the proxy twice (up, and its echo down).
//
// A datagram carries its flow's index and a sequence number in its first
// 12 bytes, then pattern bytes; what comes back is checked whole, so a
// proxy that mixes up flows, cuts or corrupts datagrams fails the run.

const dgramHeader = 12 // flow index (4 bytes), sequence number (8 bytes)

// dgramStats are one flow's counts, added up at the end.
type dgramStats struct {
	sent, recv, lost, late int64
	last                   time.Time // the last datagram back in time
}

// dgramFlow is an open flow with its reader goroutine: Recv has no
// deadline (see masqueFlow), so a goroutine blocks in it and hands the
// datagrams to the flow's loop, which times them out on its own clock.
type dgramFlow struct {
	f    flow
	in   chan []byte // datagrams read, in buffers from free
	free chan []byte // buffers back from the loop
	done chan struct{}
	err  error // why the reader stopped; read after done
}

func startDgramFlow(f flow, window, size int) *dgramFlow {
	// The reader never waits for the loop: at most window datagrams are
	// answered at once, and late ones only after theirs was given up, so
	// the queue has room for both.
	q := 4*window + 16
	d := &dgramFlow{f: f, in: make(chan []byte, q), free: make(chan []byte, q), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		for {
			var b []byte
			select {
			case b = <-d.free:
			default:
				b = make([]byte, size+256) // room to see a datagram that grew
			}
			p, err := f.Recv(b[:cap(b)])
			if err != nil {
				d.err = err
				return
			}
			select {
			case d.in <- p:
			default:
				// The loop is that far behind only if the proxy sent
				// more than was asked for: a duplicate, not an answer.
			}
		}
	}()
	return d
}

// recycle gives a buffer back to the reader.
func (d *dgramFlow) recycle(b []byte) {
	select {
	case d.free <- b:
	default:
	}
}

// close ends the flow and waits for its reader.
func (d *dgramFlow) close() {
	d.f.Close()
	<-d.done
}

// dgramSlot is one datagram in flight.
type dgramSlot struct {
	busy    bool
	counted bool // sent in the measured phase, not the warm-up
	seq     uint64
	sent    time.Time
}

// openFlows opens k flows, at most -open-par at a time, and proves each
// with one echo (resent every 200 ms: UDP may lose the first datagram, and
// a proxy may still be connecting its socket). A flow that fails is
// counted and leaves a nil slot.
func (r *runner) openFlows(fo flowOpener, k int) []*dgramFlow {
	flows := make([]*dgramFlow, k)
	deadline := time.Now().Add(openPhaseBound)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(r.cfg.openPar, k); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= k || r.expired(deadline) {
					return
				}
				f, err := fo.OpenFlow(r.ctx, r.target)
				if err != nil {
					r.fail(err)
					continue
				}
				d := startDgramFlow(f, r.cfg.window, r.cfg.size)
				if err := r.warmFlow(d, i); err != nil {
					r.fail(err)
					d.close()
					continue
				}
				flows[i] = d
			}
		}()
	}
	wg.Wait()
	return flows
}

// warmFlow sends datagram 0 of flow i until it comes back, within -timeout.
func (r *runner) warmFlow(d *dgramFlow, i int) error {
	p := dgramPayload(r.cfg.size, i)
	limit := time.NewTimer(r.cfg.timeout)
	defer limit.Stop()
	for {
		if err := d.f.Send(p); err != nil {
			return err
		}
		select {
		case b := <-d.in:
			ok := bytes.Equal(b, p)
			d.recycle(b)
			if !ok {
				return errors.New("dgram: the first echo came back altered")
			}
			return nil
		case <-d.done:
			return fmt.Errorf("dgram: flow ended before the first echo: %v", d.err)
		case <-time.After(200 * time.Millisecond):
		case <-limit.C:
			return fmt.Errorf("dgram: no echo within %v", r.cfg.timeout)
		}
	}
}

// dgramPayload is datagram 0 of flow i; the loop writes each sequence
// number into a copy.
func dgramPayload(size, i int) []byte {
	p := newPayload(size)
	binary.BigEndian.PutUint32(p[0:4], uint32(i))
	binary.BigEndian.PutUint64(p[4:12], 0)
	return p
}

func (r *runner) dgram(fo flowOpener) (*result, error) {
	if r.cfg.size < dgramHeader {
		return nil, fmt.Errorf("-mode dgram: -size must be at least %d", dgramHeader)
	}
	if r.cfg.window < 1 || r.cfg.lostAfter <= 0 {
		return nil, errors.New("-mode dgram: -window and -lost-after must be positive")
	}
	res := r.newResult()
	res.Size, res.Window = r.cfg.size, r.cfg.window
	flows := r.openFlows(fo, r.cfg.conc)
	defer func() {
		var wg sync.WaitGroup
		for _, d := range flows {
			if d != nil {
				wg.Add(1)
				go func() { defer wg.Done(); d.close() }()
			}
		}
		wg.Wait()
	}()
	open := 0
	for _, d := range flows {
		if d != nil {
			open++
		}
	}
	if open == 0 {
		r.closeErrors(res)
		return res, errors.New("no flow opened: " + r.firstErr)
	}

	var hist histogram
	var tickets atomic.Int64
	stats := make([]dgramStats, len(flows))
	// With -warmup the flows run that long before the measured phase
	// (QUIC's congestion window and path MTU, the proxy's buffers and
	// the Go heaps reach their steady state); what they send then is not
	// counted. The phase starts with its CPU reading, and only datagrams
	// sent after that count; it ends when stop is closed, -duration later.
	clock := &dgramClock{stop: make(chan struct{})}
	// A bound on the loops that does not depend on this goroutine waking.
	bound := time.Now().Add(r.cfg.warmup + r.cfg.duration + openPhaseBound)
	var ph *phase
	drops0 := int64(-1)
	begin := func() {
		drops0 = udpRcvbufErrors()
		ph = r.beginPhase()
		clock.stopAt.Store(ph.start.Add(r.cfg.duration).UnixNano())
		clock.on.Store(true)
	}
	if r.cfg.warmup == 0 {
		begin()
	}
	var wg sync.WaitGroup
	for i, d := range flows {
		if d == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.dgramLoop(d, i, clock, bound, &tickets, &hist, &stats[i])
		}()
	}
	flowsDone := make(chan struct{})
	go func() { wg.Wait(); close(flowsDone) }()
	if r.cfg.warmup > 0 {
		select {
		case <-time.After(r.cfg.warmup):
		case <-flowsDone:
		}
		begin()
	}
	// The flows end on their own at -n datagrams, or when they fail.
	select {
	case <-time.After(r.cfg.duration):
	case <-r.ctx.Done():
	case <-flowsDone:
	}
	close(clock.stop)
	<-flowsDone
	var sum dgramStats
	for _, s := range stats {
		sum.sent += s.sent
		sum.recv += s.recv
		sum.lost += s.lost
		sum.late += s.late
		if s.last.After(sum.last) {
			sum.last = s.last
		}
	}
	if sum.last.IsZero() {
		sum.last = time.Now()
	}
	// The rate is over the time datagrams came back; the proxy's CPU is
	// read now, after the last wait for stragglers (an idle proxy).
	ph.end(res, sum.last)
	if drops1 := udpRcvbufErrors(); drops0 >= 0 && drops1 >= 0 {
		drops := drops1 - drops0
		res.UDPRcvbufErrors = &drops
	}
	res.Ops = sum.recv
	res.Sent, res.Lost, res.Late = sum.sent, sum.lost, sum.late
	if sum.sent > 0 {
		loss := 100 * float64(sum.lost) / float64(sum.sent)
		res.LossPct = &loss
	}
	res.P50, res.P99, res.P999 = hist.Quantile(0.50), hist.Quantile(0.99), hist.Quantile(0.999)
	r.closeErrors(res)
	res.finish()
	return res, nil
}

// dgramClock tells the flows when the measured phase runs. Each flow
// stops itself at the phase's end by its own clock: a goroutine woken by
// a timer can wait for hundreds of milliseconds on a core that 2×c busy
// goroutines share (they hand each other the CPU through runnext), and
// the phase would run that much longer.
type dgramClock struct {
	on     atomic.Bool   // the phase has begun: datagrams sent now count
	stopAt atomic.Int64  // its end, Unix nanoseconds, set before on
	stop   chan struct{} // closed when interrupted, or late at the end
}

// ended reports whether the phase is over at now.
func (c *dgramClock) ended(now time.Time) bool {
	return c.on.Load() && now.UnixNano() >= c.stopAt.Load()
}

// dgramLoop runs flow i until the phase ends (or -n datagrams in all, or
// bound), then waits for the datagrams still in flight, each at most
// -lost-after. Datagrams sent before the phase (the warm-up) do not count.
func (r *runner) dgramLoop(d *dgramFlow, i int, clock *dgramClock, bound time.Time, tickets *atomic.Int64, hist *histogram, st *dgramStats) {
	w := r.cfg.window
	slots := make([]dgramSlot, w)
	busy := 0
	var seq uint64
	tmpl := dgramPayload(r.cfg.size, i)
	out := append([]byte(nil), tmpl...)
	loss := time.NewTimer(time.Hour)
	defer loss.Stop()
	stopping := false
	// Once stopping, the loop only waits for what is in flight: the
	// closed channels leave its select (a closed channel is always
	// ready, and the loop would spin on it instead of letting the
	// readers run).
	stopCh, doneCh := clock.stop, r.ctx.Done()
	stop := func() { stopping, stopCh, doneCh = true, nil, nil }
	firstCounted := uint64(1 << 63) // the first sequence number of the phase
	// A flow that fails has its datagrams in flight lost with it.
	giveUp := func(err error) {
		r.fail(err)
		for _, s := range slots {
			if s.busy && s.counted {
				st.lost++
			}
		}
	}
	take := func(b []byte) {
		defer d.recycle(b)
		if len(b) != len(tmpl) || binary.BigEndian.Uint32(b[0:4]) != uint32(i) ||
			!bytes.Equal(b[dgramHeader:], tmpl[dgramHeader:]) {
			r.fail(fmt.Errorf("dgram: flow %d: a datagram came back altered (%d bytes)", i, len(b)))
			return
		}
		s := binary.BigEndian.Uint64(b[4:12])
		for k := range slots {
			if slots[k].busy && slots[k].seq == s {
				slots[k].busy = false
				busy--
				if slots[k].counted {
					now := time.Now()
					hist.Record(now.Sub(slots[k].sent))
					st.recv++
					st.last = now
				}
				return
			}
		}
		// Given up on already (or datagram 0 of the warm-up, or a
		// duplicate): not an answer in time.
		if s >= firstCounted && s <= seq {
			st.late++
		}
	}
	for {
		// Fill the window.
		for !stopping && busy < w {
			now := time.Now()
			if clock.ended(now) || r.expired(bound) || tickets.Add(1) > r.cfg.n {
				stop()
				break
			}
			k := 0
			for slots[k].busy {
				k++
			}
			seq++
			binary.BigEndian.PutUint64(out[4:12], seq)
			counted := clock.on.Load()
			if counted && firstCounted > seq {
				firstCounted = seq
			}
			slots[k] = dgramSlot{busy: true, counted: counted, seq: seq, sent: now}
			busy++
			if err := d.f.Send(out); err != nil {
				giveUp(err)
				return
			}
			if counted {
				st.sent++
			}
		}
		if busy == 0 {
			return
		}
		// Wake for the oldest datagram in flight.
		oldest := time.Time{}
		for _, s := range slots {
			if s.busy && (oldest.IsZero() || s.sent.Before(oldest)) {
				oldest = s.sent
			}
		}
		loss.Reset(time.Until(oldest.Add(r.cfg.lostAfter)))
		select {
		case b := <-d.in:
			take(b)
			for more := true; more; {
				select {
				case b := <-d.in:
					take(b)
				default:
					more = false
				}
			}
		case <-loss.C:
			now := time.Now()
			for k := range slots {
				if slots[k].busy && now.Sub(slots[k].sent) >= r.cfg.lostAfter {
					slots[k].busy = false
					busy--
					if slots[k].counted {
						st.lost++
					}
				}
			}
		case <-d.done:
			giveUp(fmt.Errorf("dgram: flow %d ended: %v", i, d.err))
			return
		case <-stopCh:
			stop()
		case <-doneCh:
			stop()
		}
	}
}

// udpRcvbufErrors is the host's count of UDP datagrams dropped because a
// socket's receive buffer was full (Udp: RcvbufErrors in /proc/net/snmp):
// it tells loss in a socket buffer (the proxy's, the origin's, the tool's)
// from loss inside a proxy. -1 when it cannot be read.
func udpRcvbufErrors() int64 {
	return snmpCounter("Udp:", "RcvbufErrors")
}
