package main

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/net/dns/dnsmessage"
)

// The soak's own DNS server, on loopback: the proxy is started with
// --resolver pointing at it, so that name lookups (and the DNS-failure
// fault) never leave the machine. It knows one zone:
//
//	origin.soak.test.         A 127.0.0.1, no AAAA (tunnels by name)
//	servfail-*.soak.test.     SERVFAIL (a broken resolver)
//	anything else             NXDOMAIN (a name that does not exist)
//
// Anything that is not a query is dropped.
const (
	dnsZone       = "soak.test."
	dnsOriginName = "origin.soak.test"
)

type dnsServer struct {
	uc *net.UDPConn
	wg sync.WaitGroup

	queries, nxdomain, servfail, answered atomic.Int64
}

func startDNS(addr string) (*dnsServer, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	if !ua.IP.IsLoopback() {
		return nil, fmt.Errorf("-dns %s: only a loopback address is allowed", addr)
	}
	uc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	d := &dnsServer{uc: uc}
	d.wg.Add(1)
	go d.serve()
	return d, nil
}

func (d *dnsServer) Close() {
	d.uc.Close()
	d.wg.Wait()
}

func (d *dnsServer) serve() {
	defer d.wg.Done()
	buf := make([]byte, 1500)
	out := make([]byte, 0, 512)
	for {
		n, from, err := d.uc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		resp, ok := d.answer(buf[:n], out[:0])
		if ok {
			d.uc.WriteToUDPAddrPort(resp, from)
		}
	}
}

// answer builds the response to one query.
func (d *dnsServer) answer(req, out []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	d.queries.Add(1)
	name := strings.ToLower(q.Name.String())
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	var a *dnsmessage.AResource
	switch {
	case name == dnsOriginName+".":
		if q.Type == dnsmessage.TypeA {
			a = &dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}}
		}
		d.answered.Add(1)
	case strings.HasPrefix(name, "servfail-") && strings.HasSuffix(name, "."+dnsZone):
		rh.RCode = dnsmessage.RCodeServerFailure
		d.servfail.Add(1)
	default:
		rh.RCode = dnsmessage.RCodeNameError
		d.nxdomain.Add(1)
	}
	b := dnsmessage.NewBuilder(out, rh)
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil {
		return nil, false
	}
	if a != nil {
		if b.StartAnswers() != nil ||
			b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}, *a) != nil {
			return nil, false
		}
	}
	resp, err := b.Finish()
	return resp, err == nil
}
