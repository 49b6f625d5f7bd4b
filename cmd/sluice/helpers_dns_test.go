package main

// One UDP DNS server on loopback for the end-to-end tests (dnsServer), and
// the answer behaviours the tests give it: NXDOMAIN, no answer, held
// answers, and loopback (or chosen private) A/AAAA records.

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// dnsServer is a UDP DNS server on loopback; it returns its address, for
// --resolver. It calls answer for each query in turn with a copy of the
// query and a reply func that sends a response to the query's sender.
// answer may reply at once, keep reply and call it later (from any
// goroutine), or never reply. The server stops at cleanup.
func dnsServer(t *testing.T, answer func(q []byte, reply func(resp []byte))) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			answer(append([]byte(nil), buf[:k]...), func(resp []byte) { _, _ = pc.WriteTo(resp, from) })
		}
	}()
	return pc.LocalAddr().String()
}

// nxdomainDNS answers every query with NXDOMAIN and counts the queries.
func nxdomainDNS(t *testing.T) (addr string, queries func() int) {
	t.Helper()
	var n atomic.Int64
	addr = dnsServer(t, func(q []byte, reply func([]byte)) {
		n.Add(1)
		if r := nxdomainFor(q); r != nil {
			reply(r)
		}
	})
	return addr, func() int { return int(n.Load()) }
}

// silentDNS reads queries and never answers them, so a dial to a name
// waits for --connect-timeout; it counts the queries.
func silentDNS(t *testing.T) (addr string, queries func() int) {
	t.Helper()
	var n atomic.Int64
	addr = dnsServer(t, func([]byte, func([]byte)) { n.Add(1) })
	return addr, func() int { return int(n.Load()) }
}

// heldDNS keeps every query unanswered until release, then answers
// NXDOMAIN (to those and to later ones).
func heldDNS(t *testing.T) (addr string, release func()) {
	t.Helper()
	var mu sync.Mutex
	var held []func()
	released := false
	addr = dnsServer(t, func(q []byte, reply func([]byte)) {
		nx := func() {
			if r := nxdomainFor(q); r != nil {
				reply(r)
			}
		}
		mu.Lock()
		if !released {
			held = append(held, nx)
			mu.Unlock()
			return
		}
		mu.Unlock()
		nx()
	})
	return addr, func() {
		mu.Lock()
		released = true
		qs := held
		held = nil
		mu.Unlock()
		for _, nx := range qs {
			nx()
		}
	}
}

// loopbackDNS answers every A query with 127.0.0.1 and every other query
// (AAAA) with an empty NOERROR answer, except for names whose first label
// picks another answer: "aaaa-mapped" (AAAA ::ffff:127.0.0.1 only),
// "aaaa-loop" (AAAA ::1 only), "aaaa-nat64" (AAAA 64:ff9b::7f00:1 only)
// and "metadata" (A 169.254.169.254). asked reports whether a name was
// asked for (compared lowercased and without the trailing dot).
func loopbackDNS(t *testing.T) (addr string, asked func(name string) bool) {
	t.Helper()
	var mu sync.Mutex
	names := map[string]bool{}
	addr = dnsServer(t, func(q []byte, reply func([]byte)) {
		resp, name := answerLoopback(q)
		if resp == nil {
			return
		}
		mu.Lock()
		names[name] = true
		mu.Unlock()
		reply(resp)
	})
	return addr, func(name string) bool {
		mu.Lock()
		defer mu.Unlock()
		return names[strings.ToLower(strings.TrimSuffix(name, "."))]
	}
}

// nxdomainFor builds an NXDOMAIN answer to query q: same ID and question,
// QR RD RA set, RCODE 3, no records.
func nxdomainFor(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	i := 12
	for i < len(q) && q[i] != 0 {
		i += int(q[i]) + 1
	}
	end := i + 1 + 4 // the root label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	r := append([]byte(nil), q[:end]...)
	r[2] = 0x81                         // QR, opcode 0, RD
	r[3] = 0x83                         // RA, RCODE NXDOMAIN
	r[4], r[5] = 0, 1                   // QDCOUNT
	r[6], r[7], r[8], r[9] = 0, 0, 0, 0 // ANCOUNT, NSCOUNT
	r[10], r[11] = 0, 0                 // ARCOUNT
	return r
}

// answerLoopback builds loopbackDNS's answer to query q (same ID and
// question, QR RD RA set, at most one record with TTL 60) and returns it
// with the queried name, lowercased and without the trailing dot.
func answerLoopback(q []byte) ([]byte, string) {
	if len(q) < 12 {
		return nil, ""
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		n := int(q[i])
		if n >= 64 || i+1+n > len(q) {
			return nil, ""
		}
		labels = append(labels, string(q[i+1:i+1+n]))
		i += 1 + n
	}
	end := i + 1 + 4 // the root label, QTYPE, QCLASS
	if end > len(q) {
		return nil, ""
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	first := ""
	if len(labels) > 0 {
		first = strings.ToLower(labels[0])
	}
	var a4 []byte
	var a6 []byte
	switch first {
	case "lo-" + strconv.Itoa(int(loN(first))):
		a4 = []byte{127, 0, 0, loN(first)}
	case "aaaa-mapped":
		a6 = netip.MustParseAddr("::ffff:127.0.0.1").AsSlice()
	case "aaaa-loop":
		a6 = netip.MustParseAddr("::1").AsSlice()
	case "aaaa-nat64":
		a6 = netip.MustParseAddr("64:ff9b::7f00:1").AsSlice()
	case "metadata":
		a4 = []byte{169, 254, 169, 254}
	default:
		a4 = []byte{127, 0, 0, 1}
	}
	r := append([]byte(nil), q[:end]...)
	r[2] = 0x80 | q[2]&0x01 // QR, opcode 0, RD copied
	r[3] = 0x80             // RA, RCODE NOERROR
	r[4], r[5] = 0, 1       // QDCOUNT
	r[6], r[7] = 0, 0       // ANCOUNT
	r[8], r[9], r[10], r[11] = 0, 0, 0, 0
	var rdata []byte
	switch {
	case qtype == 1 && a4 != nil: // A
		rdata = a4
	case qtype == 28 && a6 != nil: // AAAA
		rdata = a6
	}
	if rdata != nil {
		r[7] = 1
		r = append(r, 0xc0, 0x0c, // name: pointer to the question
			byte(qtype>>8), byte(qtype), 0, 1, // TYPE, CLASS IN
			0, 0, 0, 60, // TTL
			0, byte(len(rdata)))
		r = append(r, rdata...)
	}
	return r, strings.ToLower(strings.Join(labels, "."))
}

// loN is N for a label "lo-N" (1 to 254), which answerLoopback resolves
// to 127.0.0.N; else 0.
func loN(label string) byte {
	n, err := strconv.Atoi(strings.TrimPrefix(label, "lo-"))
	if !strings.HasPrefix(label, "lo-") || err != nil || n < 1 || n > 254 {
		return 0
	}
	return byte(n)
}
