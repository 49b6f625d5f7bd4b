package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

// Classes: how a tunnel travels.
const (
	cH1    = "h1"     // HTTP/1.1 CONNECT over TCP
	cH1TLS = "h1tls"  // HTTP/1.1 CONNECT inside TLS
	cH2    = "h2"     // HTTP/2 CONNECT stream
	cH3    = "h3"     // HTTP/3 CONNECT stream
	cUDPH3 = "udp-h3" // connect-udp over HTTP/3, QUIC datagrams (masque-go)
	cUDPH2 = "udp-h2" // connect-udp over HTTP/2, capsules
	cUDPH1 = "udp-h1" // connect-udp over HTTP/1.1 upgrade, capsules
)

var allClasses = []string{cH1, cH1TLS, cH2, cH3, cUDPH3, cUDPH2, cUDPH1}

func isUDP(class string) bool { return strings.HasPrefix(class, "udp-") }

// Faults: what goes wrong in a tunnel.
const (
	fNone       = "none"
	fClientRST  = "client_rst"   // the client resets (SO_LINGER 0, RST_STREAM, RESET_STREAM) mid-transfer
	fStopRead   = "stop_read"    // the client stops reading mid-transfer, then leaves
	fHalfClose  = "half_close"   // the client half-closes early; the echo of what it sent must still come
	fOriginRST  = "origin_reset" // the origin resets mid-tunnel
	fOriginFIN  = "origin_fin"   // the origin half-closes while the client still sends
	fSlowReader = "slow_reader"  // the client reads 1 KiB per 10 ms
	fClosedPort = "closed_port"  // CONNECT to a port nobody listens on: 502
	fBlackhole  = "blackhole"    // CONNECT to a listener that accepts slowly, with a backlog of 1
	fRapidReset = "h2_rapid_reset"
	fVanish     = "client_vanish" // the client disappears mid-transfer without FIN, RST or CONNECTION_CLOSE (vanish.go)
	fDNSFail    = "dns_failure"   // CONNECT to a name the soak's DNS answers NXDOMAIN or SERVFAIL: 502
	fBadName    = "bad_name"      // CONNECT to a name that is not a valid host name: 400 or 502
)

// At most 15 of each (the tunnel id keeps 4 bits of each index).
var allFaults = []string{fNone, fClientRST, fStopRead, fHalfClose, fOriginRST, fOriginFIN, fSlowReader, fClosedPort, fBlackhole, fRapidReset, fVanish, fDNSFail, fBadName}

// faultsFor lists the faults that apply to a class: the DNS faults need
// the soak's DNS server (-dns) as the proxy's resolver, a TCP client
// vanishes only with TCP_REPAIR, and h2 has no vanish (its connection
// carries other tunnels; the proxy's PING timeout is the h2 answer, and
// too slow for a soak).
func (s *soak) faultsFor(class string) []string {
	var fs []string
	switch {
	case isUDP(class):
		fs = []string{fClientRST, fClosedPort}
	default:
		fs = []string{fClientRST, fStopRead, fHalfClose, fOriginRST, fOriginFIN, fSlowReader, fClosedPort, fBlackhole}
	}
	if class == cH2 {
		fs = append(fs, fRapidReset)
	}
	if class == cH3 || class == cUDPH3 || s.canRepair && (class == cH1 || class == cH1TLS || class == cUDPH1) {
		fs = append(fs, fVanish)
	}
	if s.dns != nil {
		fs = append(fs, fDNSFail, fBadName)
	}
	if s.cfg.faults == "" {
		return fs
	}
	var only []string
	for _, f := range fs {
		if strings.Contains(","+strings.ReplaceAll(s.cfg.faults, " ", "")+",", ","+f+",") {
			only = append(only, f)
		}
	}
	return only
}

// The tunnel id carries its class and fault, so that an upstream
// connection left open can be traced back without a registry.
func makeID(seq uint64, class, fault string) uint64 {
	return seq<<8 | uint64(index(allClasses, class))<<4 | uint64(index(allFaults, fault))
}

func idClassFault(id uint64) (string, string) {
	c, f := int(id>>4&15), int(id&15)
	if c >= len(allClasses) || f >= len(allFaults) {
		return "?", "?"
	}
	return allClasses[c], allFaults[f]
}

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return 15
}

// plan is one tunnel, drawn before it starts.
type plan struct {
	id        uint64
	class     string
	fault     string
	n         int64 // bytes the client announces (and, without a fault, sends)
	k         int64 // where the fault strikes: bytes echoed, or sent (half_close)
	start     int   // offset of the tunnel's bytes in the random buffer
	chunkMax  int   // writes are 1..chunkMax bytes
	halfClose bool  // without a fault: half-close once everything is sent
	byName    bool  // the target is the origin's name, looked up by the proxy
	storm     bool  // one of a storm's tunnels (storm.go)
	rng       *rand.Rand
}

// Outcome results.
const (
	resServed = iota
	resExpected
	resUnexpected
)

type outcome struct {
	res  int
	kind string
	msg  string
}

func served(kind string) outcome { return outcome{res: resServed, kind: kind} }
func expected(kind string) outcome {
	return outcome{res: resExpected, kind: kind}
}
func unexpected(kind, format string, a ...any) outcome {
	return outcome{res: resUnexpected, kind: kind, msg: fmt.Sprintf(format, a...)}
}

func (s *soak) newPlan(seq uint64, r *rand.Rand) *plan {
	class := s.pickClass(r)
	fault := fNone
	if fs := s.faultsFor(class); len(fs) > 0 && r.Float64() < s.cfg.faultProb {
		fault = fs[r.IntN(len(fs))]
	}
	p := &plan{
		id: makeID(seq, class, fault), class: class, fault: fault,
		n:         logUniform(r, 1, s.cfg.maxBytes),
		start:     r.IntN(startSpread),
		chunkMax:  []int{4 << 10, 32 << 10, 128 << 10}[r.IntN(3)],
		halfClose: r.IntN(2) == 0,
		rng:       rand.New(rand.NewPCG(r.Uint64(), r.Uint64())),
	}
	switch fault {
	case fSlowReader:
		p.n = min(p.n, s.cfg.slowMaxBytes)
	case fBlackhole:
		p.n = min(p.n, 64<<10)
	case fVanish:
		p.n = max(p.n, 2) // the origin must still be waiting for bytes
	}
	if p.n > 1 {
		p.k = r.Int64N(p.n)
	}
	if p.fault == fVanish {
		p.k = max(p.k, 1)
	}
	// A quarter of the tunnels to the origin go by name, so that lookups
	// run all along (only with the soak's DNS server).
	switch fault {
	case fClosedPort, fBlackhole, fDNSFail, fBadName, fRapidReset:
	default:
		p.byName = s.dns != nil && r.IntN(4) == 0
	}
	return p
}

// target is where a tunnel goes: origin is the echo's address (TCP or
// UDP), replaced by what the fault wants.
func (s *soak) target(p *plan, origin, closed string) string {
	_, port, _ := net.SplitHostPort(origin)
	switch p.fault {
	case fClosedPort:
		return closed
	case fBlackhole:
		return s.slowAddr
	case fDNSFail:
		if p.id>>8&1 == 0 { // half SERVFAIL, half NXDOMAIN
			return net.JoinHostPort(fmt.Sprintf("servfail-%d.%s", p.id>>8, strings.TrimSuffix(dnsZone, ".")), port)
		}
		return net.JoinHostPort(fmt.Sprintf("nx-%d.%s", p.id>>8, strings.TrimSuffix(dnsZone, ".")), port)
	case fBadName:
		return net.JoinHostPort("bad..name."+strings.TrimSuffix(dnsZone, "."), port)
	}
	if p.byName {
		return net.JoinHostPort(dnsOriginName, port)
	}
	return origin
}

func (s *soak) pickClass(r *rand.Rand) string {
	x := r.Float64() * s.mixTotal
	for _, m := range s.mix {
		if x < m.w {
			return m.class
		}
		x -= m.w
	}
	return s.mix[len(s.mix)-1].class
}

// runTunnel runs one planned tunnel and says how it went.
func (s *soak) runTunnel(ctx context.Context, p *plan) outcome {
	switch {
	case p.fault == fRapidReset:
		return s.rapidReset(ctx, p)
	case isUDP(p.class):
		return s.udpFlow(ctx, p)
	}
	return s.tcpTunnel(ctx, p)
}

func (s *soak) openStream(ctx context.Context, class, target string, dedicated bool) (stream, error) {
	switch class {
	case cH1:
		return s.h1.open(ctx, target)
	case cH1TLS:
		return s.h1tls.open(ctx, target)
	case cH2:
		st, err := h2Open(ctx, s.h2, target, "", "", s.cfg.openTimeout)
		if err != nil {
			return nil, err
		}
		return st, nil
	case cH3:
		st, err := h3Open(ctx, s.h3, s.cfg.proxyQUIC, target, dedicated, s.cfg.openTimeout)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, fmt.Errorf("class %q has no stream opener", class)
}

// refusals are the statuses the README gives for a CONNECT (or
// connect-udp) with these faults; a blackhole may also open, late.
var refusals = map[string][]int{
	fClosedPort: {502},      // connection refused
	fBlackhole:  {502, 504}, // SYN dropped until the connect timeout
	fDNSFail:    {502},      // NXDOMAIN, SERVFAIL
	fBadName:    {400, 502}, // rejected as a target, or by the resolver
}

// openFailed classifies a CONNECT that did not open.
func openFailed(p *plan, err error) outcome {
	var se *statusError
	isStatus := errors.As(err, &se)
	if want, ok := refusals[p.fault]; ok {
		if isStatus && slices.Contains(want, se.code) {
			return expected(fmt.Sprintf("%s_%d", p.fault, se.code))
		}
		return unexpected(p.fault+"_answer", "%s: want one of %v, got %v", p.class, want, err)
	}
	if isStatus {
		return unexpected(fmt.Sprintf("open_status_%d", se.code), "%s/%s: %v", p.class, p.fault, err)
	}
	kind := "open_error"
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "no answer within") {
		kind = "open_timeout"
	}
	return unexpected(kind, "%s/%s: %v", p.class, p.fault, err)
}

func (s *soak) tcpTunnel(ctx context.Context, p *plan) outcome {
	target := s.target(p, s.originAddr, s.closedTCP)
	st, err := s.openStream(ctx, p.class, target, p.fault == fVanish)
	if err != nil {
		return openFailed(p, err)
	}
	switch p.fault {
	case fClosedPort, fDNSFail, fBadName:
		st.Reset()
		st.Close()
		return unexpected(p.fault+"_opened", "%s: CONNECT to %s answered 2xx", p.class, target)
	}
	stall := s.cfg.stall
	if p.fault == fBlackhole {
		stall = s.cfg.blackholeWait
	}
	lv := s.track.add(stall, s.cfg.tunnelMax, st.Reset)
	defer s.track.remove(lv)

	data := s.rnd[p.start : p.start+int(p.n)]
	act, send := actEcho, p.n
	switch p.fault {
	case fOriginRST:
		act = actReset
	case fOriginFIN:
		act = actFin
	case fHalfClose, fVanish:
		send = p.k
	}
	pre := preamble(p.id, p.n, act, p.k)

	// The writer sends the preamble and the bytes, then half-closes when
	// the plan says so.
	w := &writer{ch: make(chan error, 1)}
	go func() {
		err := writeAll(st, lv, []byte(pre), data[:send], p.chunkMax, p.rng)
		if err == nil && (p.fault == fHalfClose || (p.halfClose && p.fault == fNone)) {
			err = st.CloseWrite()
		}
		w.ch <- err
	}()

	var o outcome
	switch p.fault {
	case fNone, fSlowReader, fHalfClose, fBlackhole:
		o = s.readFull(st, lv, p, data[:send], p.fault == fSlowReader)
		if o.res == resServed && w.wait(s.cfg.stall) && w.err != nil {
			if stoppedAfterAnswer(w.err) {
				// The proxy closed the stream once the origin's answer
				// was through, before the client's FIN went out (RFC
				// 9114 section 4.1.1): every byte still came.
				o = served("stop_sending_before_fin")
			} else {
				o = unexpected("write_error", "%s/%s: the echo came whole, but the write failed: %v", p.class, p.fault, w.err)
			}
		}
	case fVanish, fClientRST, fStopRead:
		// The client reads the echo of the first k bytes, then does what
		// its fault says.
		got, rerr, bad := s.readEcho(st, lv, data, p.k, false)
		switch {
		case bad != "":
			o = unexpected("echo_mismatch", "%s/%s: %s", p.class, p.fault, bad)
		case rerr != nil:
			o = s.cut(p, lv, "short_echo", got, p.k, rerr)
		case p.fault == fVanish:
			// The client sent k of the n bytes it announced and read
			// their echo (so the origin has the preamble and the
			// tunnel's id); it goes with nothing in flight either way:
			// the origin waits for the rest, and only the proxy's own
			// liveness checks can find the client gone.
			if err := st.(vanisher).Vanish(); err != nil {
				o = unexpected("vanish_failed", "%s: %v", p.class, err)
				break
			}
			s.vanish.add(p.id, p.class, s.cfg.vanishWait)
			o = expected("client_vanished")
		case p.fault == fClientRST:
			st.Reset()
			o = expected("client_rst")
		default:
			// Stop reading; the writer runs into the proxy's backpressure
			// (or finishes); then leave.
			w.wait(s.cfg.stopReadHold)
			st.Leave()
			o = expected("stop_read_left")
		}
	case fOriginRST, fOriginFIN:
		// The origin echoes k bytes, then resets or half-closes: no more
		// than k may come back, and the end must.
		got, rerr, bad := s.readEcho(st, lv, data, p.n, false)
		then := ""
		if p.fault == fOriginFIN {
			then = " then FIN"
		}
		switch {
		case bad != "":
			o = unexpected("echo_mismatch", "%s/%s: %s", p.class, p.fault, bad)
		case got > p.k:
			o = unexpected("extra_bytes", "%s/%s: %d bytes echoed, the origin sent %d%s", p.class, p.fault, got, p.k, then)
		case p.fault == fOriginRST:
			o = originReset(p, lv, got, rerr)
		default:
			o = s.originFin(p, lv, got, rerr)
		}
	}
	if !w.done && o.res != resUnexpected && (p.fault == fOriginFIN || p.fault == fOriginRST) {
		// The upload must end by itself: the proxy goes on relaying it
		// (to an origin that still reads, after its FIN), or ends the
		// stream. An upload that only the watchdog ends is a stream the
		// proxy neither reads nor closes.
		w.wait(s.cfg.stall + 5*time.Second)
		if why := lv.why(); why != "" {
			o = unexpected(p.fault+"_upload_stuck", "%s: after the download ended the upload neither went on nor failed (%s)", p.class, why)
		}
	}
	if !w.done {
		st.Reset() // unblocks the writer
		if !w.wait(s.cfg.stall) && o.res != resUnexpected {
			o = unexpected("writer_stuck", "%s/%s: the writer did not return after a reset", p.class, p.fault)
		}
	}
	if o.res == resUnexpected && w.done && w.err != nil {
		o.msg += fmt.Sprintf(" (write: %v)", w.err)
	}
	st.Close()
	return o
}

// originReset judges a tunnel whose origin reset after k bytes, of which
// no more than k came back.
func originReset(p *plan, lv *live, got int64, rerr error) outcome {
	switch {
	case lv.why() != "":
		return unexpected("origin_reset_not_propagated", "%s: the origin reset after %d bytes; the tunnel was still open %v later (%d echoed)", p.class, p.k, time.Since(lv.start).Round(time.Second), got)
	case rerr == io.EOF && (p.class == cH2 || p.class == cH3):
		// README: an upstream reset is RST_STREAM CONNECT_ERROR /
		// H3_CONNECT_ERROR, so that the client can tell it from the
		// end of the data.
		return unexpected("origin_reset_as_clean_end", "%s: the origin reset after %d bytes, the stream ended cleanly after %d", p.class, p.k, got)
	}
	return expected("origin_reset")
}

// originFin judges a tunnel whose origin half-closed after k bytes: all
// of them must come, then the end.
func (s *soak) originFin(p *plan, lv *live, got int64, rerr error) outcome {
	switch {
	case got < p.k:
		return s.cut(p, lv, "origin_fin_bytes_lost", got, p.k, rerr)
	case lv.why() != "":
		return unexpected("origin_fin_not_propagated", "%s: all %d bytes came, the end did not (%s)", p.class, got, lv.why())
	}
	return served("origin_fin_delivered")
}

// writer is a tunnel's writing goroutine, as its reader waits for it.
type writer struct {
	ch   chan error
	done bool
	err  error
}

// wait waits up to bound for the writer and reports whether it is done.
func (w *writer) wait(bound time.Duration) bool {
	if w.done {
		return true
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case w.err = <-w.ch:
		w.done = true
	case <-t.C:
	}
	return w.done
}

// cut classifies a tunnel that ended before want bytes came.
func (s *soak) cut(p *plan, lv *live, kind string, got, want int64, err error) outcome {
	if why := lv.why(); why != "" {
		if p.fault == fBlackhole && why == "stall" {
			return expected("blackhole_stalled")
		}
		return unexpected(why, "%s/%s: no progress (%s) after %d of %d bytes, %v in", p.class, p.fault, why, got, want, time.Since(lv.start).Round(time.Second))
	}
	if p.fault == fBlackhole {
		return expected("blackhole_upstream_gone")
	}
	if p.fault == fHalfClose && (p.class == cH1 || p.class == cH1TLS) && got < want {
		// README: "A client FIN that arrives while bytes toward that
		// client are still queued in the proxy ends the tunnel."
		return expected("half_close_cut_documented")
	}
	return unexpected(kind, "%s/%s: %d of %d bytes, then %v", p.class, p.fault, got, want, err)
}

// readFull reads the echo of want, the origin's digest and the end.
func (s *soak) readFull(st stream, lv *live, p *plan, want []byte, slow bool) outcome {
	got, err, bad := s.readEcho(st, lv, want, int64(len(want)), slow)
	if bad != "" {
		return unexpected("echo_mismatch", "%s/%s: %s", p.class, p.fault, bad)
	}
	if err != nil {
		return s.cut(p, lv, "short_echo", got, int64(len(want)), err)
	}
	var d [sha256.Size]byte
	if _, err := io.ReadFull(readerOf(st, lv), d[:]); err != nil {
		return s.cut(p, lv, "no_digest", got, int64(len(want)), err)
	}
	if sum := sha256.Sum256(want); d != sum {
		return unexpected("digest_mismatch", "%s/%s: the origin's sha256 of the %d bytes it got differs from what was sent", p.class, p.fault, len(want))
	}
	s.st.digests.Add(1)
	var one [1]byte
	n, err := readerOf(st, lv).Read(one[:])
	for n == 0 && err == nil {
		n, err = readerOf(st, lv).Read(one[:])
	}
	switch {
	case n > 0:
		return unexpected("extra_bytes", "%s/%s: bytes after the digest", p.class, p.fault)
	case err != io.EOF:
		if why := lv.why(); why != "" {
			return unexpected("no_end_"+why, "%s/%s: all bytes and the digest came, the end did not", p.class, p.fault)
		}
		return unexpected("reset_at_end", "%s/%s: all bytes and the digest came, then %v instead of the end", p.class, p.fault, err)
	}
	return served(p.fault)
}

type touchReader struct {
	st stream
	lv *live
}

func (r touchReader) Read(b []byte) (int, error) {
	n, err := r.st.Read(b)
	if n > 0 {
		r.lv.touch()
	}
	return n, err
}

func readerOf(st stream, lv *live) io.Reader { return touchReader{st, lv} }

// readEcho reads until upTo bytes of the echo of want came (or the
// stream ended), comparing every byte. bad describes a mismatch.
func (s *soak) readEcho(st stream, lv *live, want []byte, upTo int64, slow bool) (got int64, err error, bad string) {
	size := 32 << 10
	if slow {
		size = 1 << 10
	}
	buf := make([]byte, size)
	for got < upTo {
		room := min(int64(len(buf)), upTo-got)
		n, rerr := st.Read(buf[:room])
		if n > 0 {
			lv.touch()
			if got+int64(n) > int64(len(want)) {
				return got, nil, fmt.Sprintf("%d bytes past the %d sent", got+int64(n)-int64(len(want)), len(want))
			}
			if !bytes.Equal(buf[:n], want[got:got+int64(n)]) {
				i := 0
				for i < n && buf[i] == want[got+int64(i)] {
					i++
				}
				return got, nil, fmt.Sprintf("byte %d of %d differs (read of %d at %d)", got+int64(i), len(want), n, got)
			}
			got += int64(n)
			s.st.echoVerified.Add(int64(n))
		}
		if rerr != nil {
			return got, rerr, ""
		}
		if slow {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return got, nil, ""
}

// writeAll writes the preamble, then b in chunks of 1..chunkMax bytes.
func writeAll(st stream, lv *live, pre, b []byte, chunkMax int, r *rand.Rand) error {
	if _, err := st.Write(pre); err != nil {
		return err
	}
	lv.touch()
	for len(b) > 0 {
		n := min(len(b), 1+r.IntN(chunkMax))
		if _, err := st.Write(b[:n]); err != nil {
			return err
		}
		lv.touch()
		b = b[n:]
	}
	return nil
}
