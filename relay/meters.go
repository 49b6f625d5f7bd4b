package relay

import (
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// Meters count the tunnels of one loop for the metrics: plain integers,
// owned by the loop like its tunnels, so the relay's per-read path pays an
// add and no atomic or lock. A scrape reads them on each loop, through its
// task queue (Sum).
type Meters struct {
	Open      [protoCount][kindCount]int64
	Bytes     [protoCount][kindCount][2]int64 // [up, down]
	Ended     map[EndKey]int64
	Reasons   map[Reason]int64
	ACL       [5]int64 // by the deciding value + 1: none, 0, 1, 2, 3
	Datagrams [2]int64 // [up, down]
	Drops     [dropCount]int64
	Connect   Histogram // upstream connect
	DNS       Histogram // resolve
	FirstByte Histogram // from the 200 to the first upstream byte
}

// EndKey labels an ended tunnel or refused request.
type EndKey struct {
	Proto  Proto
	Kind   Kind
	Status int
}

const (
	protoCount = int(ProtoSNI) + 1
	kindCount  = int(KindUDP) + 1
)

// DropReason is why a datagram was not relayed.
type DropReason uint8

const (
	DropTooLarge DropReason = iota // over --udp-max-datagram
	DropFull                       // its receiver had --buffer-size queued
	DropEnd                        // an end could not take it (a full socket or QUIC queue)
	dropCount
)

var dropNames = [dropCount]string{"too_large", "queue_full", "end_full"}

func (d DropReason) String() string { return dropNames[d] }

// LatencyBuckets are the histograms' upper bounds, in seconds.
var LatencyBuckets = [...]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Histogram is a fixed-bucket latency histogram; Counts[i] counts the
// observations at most LatencyBuckets[i], the last one those above all.
type Histogram struct {
	Counts [len(LatencyBuckets) + 1]uint64
	Sum    float64 // seconds
}

func (h *Histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(LatencyBuckets) && s > LatencyBuckets[i] {
		i++
	}
	h.Counts[i]++
	h.Sum += s
}

func (h *Histogram) add(o *Histogram) {
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	h.Sum += o.Sum
}

func newMeters() *Meters {
	return &Meters{Ended: map[EndKey]int64{}, Reasons: map[Reason]int64{}}
}

// metersOf is l's Meters, made on first use; only on l.
func metersOf(l *engine.Loop) *Meters {
	if m, ok := l.Local().(*Meters); ok {
		return m
	}
	m := newMeters()
	l.SetLocal(m)
	return m
}

// Sum adds every loop's Meters into one, reading each on its loop; a loop
// that does not answer within wait is left out.
func Sum(loops []*engine.Loop, wait time.Duration) *Meters {
	sum := newMeters()
	parts := make(chan *Meters, len(loops))
	asked := 0
	for _, l := range loops {
		if l.Exec(func() { parts <- metersOf(l).copy() }) {
			asked++
		}
	}
	timeout := time.After(wait)
	for ; asked > 0; asked-- {
		select {
		case m := <-parts:
			sum.add(m)
		case <-timeout:
			return sum
		}
	}
	return sum
}

func (m *Meters) copy() *Meters {
	c := *m
	c.Ended = make(map[EndKey]int64, len(m.Ended))
	for k, v := range m.Ended {
		c.Ended[k] = v
	}
	c.Reasons = make(map[Reason]int64, len(m.Reasons))
	for k, v := range m.Reasons {
		c.Reasons[k] = v
	}
	return &c
}

func (m *Meters) add(o *Meters) {
	for p := range m.Open {
		for k := range m.Open[p] {
			m.Open[p][k] += o.Open[p][k]
			m.Bytes[p][k][0] += o.Bytes[p][k][0]
			m.Bytes[p][k][1] += o.Bytes[p][k][1]
		}
	}
	for k, v := range o.Ended {
		m.Ended[k] += v
	}
	for k, v := range o.Reasons {
		m.Reasons[k] += v
	}
	for i := range m.ACL {
		m.ACL[i] += o.ACL[i]
	}
	for i := range m.Datagrams {
		m.Datagrams[i] += o.Datagrams[i]
	}
	for i := range m.Drops {
		m.Drops[i] += o.Drops[i]
	}
	m.Connect.add(&o.Connect)
	m.DNS.add(&o.DNS)
	m.FirstByte.add(&o.FirstByte)
}

// ended counts a finished tunnel or a refused request.
func (m *Meters) ended(r *Record) {
	m.Ended[EndKey{r.Proto, r.Kind, r.Status}]++
	m.Reasons[r.Reason]++
	if r.ACL >= -1 && r.ACL <= 3 {
		m.ACL[r.ACL+1]++
	}
}

// countUp and countDown are the tunnel's byte counts, for the record and
// the meters.
func (t *Tunnel) countUp(n int64) {
	t.Rec.Up += n
	if t.m != nil {
		t.m.Bytes[t.Rec.Proto][t.Rec.Kind][0] += n
	}
}

func (t *Tunnel) countDown(n int64) {
	t.Rec.Down += n
	if t.m != nil {
		t.m.Bytes[t.Rec.Proto][t.Rec.Kind][1] += n
	}
}

// firstByte records the time to the upstream's first byte.
func (t *Tunnel) firstByte() {
	t.Rec.FirstByte = t.sinceStart() - t.connected()
	if t.m != nil {
		t.m.FirstByte.observe(t.Rec.FirstByte)
	}
}

// noteDial records the dial of the tunnel's upstream in its log line and
// the loop's dial histograms.
func (t *Tunnel) noteDial(info engine.DialInfo, connected bool) {
	t.Rec.Resolved, t.Rec.Resolve, t.Rec.Connect, t.Rec.Reused = info.Addr, info.Resolve, info.Connect, info.Reused
	t.dialTimes(info.Resolve, info.Connect, connected && !info.Reused)
}

// Redialed records a dial its front end made again for the upstream (a
// forwarded request sent again on a fresh conn after a pooled one closed
// unanswered): the log line and the histograms count the dial that served.
func (t *Tunnel) Redialed(info engine.DialInfo) { t.noteDial(info, true) }

// dialTimes records how long the dial's resolve and connect took.
func (t *Tunnel) dialTimes(resolve, connect time.Duration, connected bool) {
	if t.m == nil {
		return
	}
	if resolve > 0 {
		t.m.DNS.observe(resolve)
	}
	if connected {
		t.m.Connect.observe(connect)
	}
}

// datagramRelayed counts a datagram each way, i 0 up and 1 down.
func (t *Tunnel) datagramRelayed(i int) {
	if t.m != nil {
		t.m.Datagrams[i]++
	}
}

// drop counts a datagram not relayed.
func (t *Tunnel) drop(why DropReason) {
	t.Rec.Dropped++
	if t.m != nil {
		t.m.Drops[why]++
	}
}
