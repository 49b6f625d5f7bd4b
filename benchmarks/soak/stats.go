package main

import (
	"sort"
	"sync"
	"sync/atomic"
)

type counts struct {
	Attempted        int64 `json:"attempted"`
	Served           int64 `json:"served"`
	FailedExpected   int64 `json:"failed_expected"`
	FailedUnexpected int64 `json:"failed_unexpected"`
}

func (c *counts) add(res int) {
	c.Attempted++
	switch res {
	case resServed:
		c.Served++
	case resExpected:
		c.FailedExpected++
	default:
		c.FailedUnexpected++
	}
}

// kindLog is one kind of unexpected error: how often, and its first
// messages.
type kindLog struct {
	Count int64    `json:"count"`
	First []string `json:"first"`
}

const firstMessages = 20

type stats struct {
	mu          sync.Mutex
	total       counts
	storm       counts // the storms' share of total
	byName      counts // tunnels whose target the proxy looked up (-dns)
	byClass     map[string]*counts
	byFault     map[string]*counts
	matrix      map[string]*counts
	servedKinds map[string]int64
	expKinds    map[string]int64
	unexpected  map[string]*kindLog

	inFlight     atomic.Int64
	echoVerified atomic.Int64 // bytes compared equal after crossing the proxy both ways
	digests      atomic.Int64 // origin sha256 digests that matched what was sent

	udpSent, udpEchoed, udpLost, udpDup, udpVerified atomic.Int64

	rapidStreamsReset, rapidGoaways atomic.Int64
}

func newStats() *stats {
	return &stats{
		byClass: map[string]*counts{}, byFault: map[string]*counts{}, matrix: map[string]*counts{},
		servedKinds: map[string]int64{}, expKinds: map[string]int64{}, unexpected: map[string]*kindLog{},
	}
}

func bump(m map[string]*counts, k string, res int) {
	c := m[k]
	if c == nil {
		c = &counts{}
		m[k] = c
	}
	c.add(res)
}

func (st *stats) record(p *plan, o outcome) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.total.add(o.res)
	if p.storm {
		st.storm.add(o.res)
	}
	if p.byName {
		st.byName.add(o.res)
	}
	bump(st.byClass, p.class, o.res)
	bump(st.byFault, p.fault, o.res)
	bump(st.matrix, p.class+"/"+p.fault, o.res)
	switch o.res {
	case resServed:
		st.servedKinds[o.kind]++
	case resExpected:
		st.expKinds[o.kind]++
	default:
		st.logLocked(o.kind, o.msg)
	}
}

// errorf records an unexpected error that is not one tunnel's outcome
// (the origin's, a leak found at the end).
func (st *stats) errorf(kind, msg string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.logLocked(kind, msg)
}

func (st *stats) logLocked(kind, msg string) {
	k := st.unexpected[kind]
	if k == nil {
		k = &kindLog{First: []string{}}
		st.unexpected[kind] = k
	}
	k.Count++
	if len(k.First) < firstMessages {
		k.First = append(k.First, msg)
	}
}

func (st *stats) snapshot() (total counts, unexpected int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, k := range st.unexpected {
		unexpected += k.Count
	}
	return st.total, unexpected
}

func copyCounts(m map[string]*counts) map[string]counts {
	out := make(map[string]counts, len(m))
	for k, v := range m {
		out[k] = *v
	}
	return out
}

func copyInts(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
