// Command soak drives a running sluice (or any CONNECT proxy) for a long
// time with a mixed population of tunnels — HTTP/1.1 CONNECT in plain TCP
// and in TLS, HTTP/2 and HTTP/3 CONNECT streams, connect-udp over HTTP/3
// datagrams (masque-go), HTTP/2 and HTTP/1.1 capsules — each moving a
// random amount of data both ways to loopback origins of its own and
// checking it byte for byte, with faults injected at random (tunnel.go
// lists them) and a storm of extra tunnels every -storm-every. At the end
// it waits for the proxy to settle and prints a JSON report: tunnels by
// class and fault (expected failures apart from unexpected ones), bytes
// verified, the unexpected errors by kind, and the proxy's fds, threads,
// RSS and goroutines before, at the peak and after.
//
// It starts no proxy (run.sh does, and writes the report to
// benchmarks/results):
//
//	soak -proxy-plain 127.0.0.1:26080 -proxy-tls 127.0.0.1:26081 \
//	     -proxy-quic 127.0.0.1:26081 -pid $(pidof sluice) \
//	     -pprof-url http://127.0.0.1:26060 -dns 127.0.0.1:26053 \
//	     -duration 10m -out report.json -md report.md
//
// with the proxy's --resolver at the -dns address. Every loop is bounded
// in count and in time, and every address is on loopback. The exit
// status is 3 when there were unexpected errors.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluice-proxy/sluice/benchmarks/internal/udpecho"
	"github.com/yosida95/uritemplate/v3"
)

type config struct {
	proxyPlain    string
	proxyTLS      string
	proxyQUIC     string
	duration      time.Duration
	concurrency   int
	pid           int
	pprofURL      string
	faultProb     float64
	maxBytes      int64
	slowMaxBytes  int64
	maxTunnels    int64
	seed          uint64
	mix           string
	udpTemplate   string
	out           string
	openTimeout   time.Duration
	stall         time.Duration
	blackholeWait time.Duration
	stopReadHold  time.Duration
	tunnelMax     time.Duration
	settleMax     time.Duration
	settleQuiet   time.Duration
	ramp          time.Duration
	h2Streams     int
	h3Streams     int
	connReuse     int
	slowAccept    time.Duration
	timeline      time.Duration
	sampleEvery   time.Duration
	dns           string
	vanishWait    time.Duration
	stormEvery    time.Duration
	stormSize     int
	md            string
	faults        string
	rate          float64
}

const maxDuration = 24 * time.Hour

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.StringVar(&c.proxyPlain, "proxy-plain", "", "the proxy's plain TCP listener (h1, udp-h1); empty: those classes are left out")
	fs.StringVar(&c.proxyTLS, "proxy-tls", "", "the proxy's TLS listener (h1tls, h2, udp-h2, the h2 rapid reset)")
	fs.StringVar(&c.proxyQUIC, "proxy-quic", "", "the proxy's QUIC (UDP) listener (h3, udp-h3)")
	fs.DurationVar(&c.duration, "duration", 10*time.Minute, "how long new tunnels are started (at most 24h)")
	fs.Float64Var(&c.rate, "rate", 0, "tunnels the workers start per second, at most (0: each worker starts its next tunnel at once); storms come on top")
	fs.IntVar(&c.concurrency, "concurrency", 128, "tunnels in flight (workers, each running one tunnel after another)")
	fs.IntVar(&c.pid, "pid", 0, "the proxy's PID, for /proc sampling (fds, threads, RSS)")
	fs.StringVar(&c.pprofURL, "pprof-url", "", "the proxy's pprof base URL (http://host:port): goroutines from /debug/pprof/goroutine?debug=1")
	fs.Float64Var(&c.faultProb, "fault-prob", 0.2, "probability that a tunnel gets a fault")
	fs.Int64Var(&c.maxBytes, "max-bytes", 4<<20, "largest amount a tunnel moves each way (amounts are log-uniform from 1 B)")
	fs.Int64Var(&c.slowMaxBytes, "slow-max-bytes", 512<<10, "largest amount of a slow-reader tunnel (it reads 100 KiB/s)")
	fs.Int64Var(&c.maxTunnels, "max-tunnels", 1_000_000, "bound on the tunnels started")
	fs.Uint64Var(&c.seed, "seed", 0, "random seed (0: from the clock); the report names it")
	fs.StringVar(&c.mix, "mix", "h1=1,h1tls=1,h2=1,h3=1,udp-h3=1,udp-h2=1,udp-h1=1", "relative weights of the tunnel classes")
	fs.StringVar(&c.udpTemplate, "udp-template", "/.well-known/masque/udp/{target_host}/{target_port}/", "connect-udp URI template path")
	fs.StringVar(&c.out, "out", "", "write the JSON report here (default stdout)")
	fs.StringVar(&c.faults, "faults", "", "comma-separated faults to draw from (default: every fault that applies to a class), to reproduce one")
	fs.StringVar(&c.md, "md", "", "also write a markdown summary of the report here")
	fs.StringVar(&c.dns, "dns", "", "serve the soak's DNS zone on this loopback UDP address (start the proxy with --resolver set to it): tunnels by name and the dns_failure and bad_name faults; empty: neither")
	fs.DurationVar(&c.vanishWait, "vanish-wait", 60*time.Second, "client_vanish: the proxy must close the upstream within this (above its --tcp-keepalive and --quic-idle-timeout)")
	fs.DurationVar(&c.stormEvery, "storm-every", 60*time.Second, "start a storm this often (0: no storms)")
	fs.IntVar(&c.stormSize, "storm-size", 300, "tunnels a storm starts at once, on top of -concurrency")
	fs.DurationVar(&c.openTimeout, "open-timeout", 20*time.Second, "bound on opening a tunnel (above the proxy's connect timeout, so that a blackhole's 504 comes)")
	fs.DurationVar(&c.stall, "stall", 30*time.Second, "a tunnel with no byte either way for this long is aborted and counted as an error")
	fs.DurationVar(&c.blackholeWait, "blackhole-wait", 15*time.Second, "how long a tunnel to the slow origin waits for progress before it gives up (expected)")
	fs.DurationVar(&c.stopReadHold, "stop-read-hold", 2*time.Second, "stop_read: how long the client keeps the tunnel after it stopped reading")
	fs.DurationVar(&c.tunnelMax, "tunnel-max", 3*time.Minute, "hard bound on one tunnel")
	fs.DurationVar(&c.settleMax, "settle", 60*time.Second, "at the end, wait at most this long for the proxy's fds and threads to stop falling")
	fs.DurationVar(&c.settleQuiet, "settle-quiet", 5*time.Second, "settled: nothing fell for this long")
	fs.DurationVar(&c.ramp, "ramp", 5*time.Second, "start the workers over this long")
	fs.IntVar(&c.h2Streams, "h2-streams", 100, "most streams on one HTTP/2 connection (the proxy's SETTINGS may say fewer)")
	fs.IntVar(&c.h3Streams, "h3-streams", 100, "most streams on one QUIC connection (below sluice's --quic-max-streams 128)")
	fs.IntVar(&c.connReuse, "conn-reuse", 1000, "streams an HTTP/2 or QUIC connection carries before it is retired")
	fs.DurationVar(&c.slowAccept, "slow-accept", 250*time.Millisecond, "the blackhole origin accepts one connection this often (backlog 1)")
	fs.DurationVar(&c.timeline, "timeline", 30*time.Second, "a timeline point this often")
	fs.DurationVar(&c.sampleEvery, "sample", time.Second, "proxy sampling interval (peaks)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case c.duration <= 0 || c.duration > maxDuration:
		return c, fmt.Errorf("-duration %v: want (0, %v]", c.duration, maxDuration)
	case c.concurrency < 1 || c.concurrency > 50000:
		return c, fmt.Errorf("-concurrency %d: want 1..50000", c.concurrency)
	case c.faultProb < 0 || c.faultProb > 1:
		return c, fmt.Errorf("-fault-prob %v: want 0..1", c.faultProb)
	case c.maxBytes < 1 || c.maxBytes > maxTransfer:
		return c, fmt.Errorf("-max-bytes %d: want 1..%d", c.maxBytes, maxTransfer)
	case c.slowMaxBytes < 1 || c.maxTunnels < 1 || c.h2Streams < 1 || c.h3Streams < 1 || c.connReuse < 1:
		return c, errors.New("-slow-max-bytes, -max-tunnels, -h2-streams, -h3-streams and -conn-reuse must be positive")
	case c.openTimeout <= 0 || c.stall <= 0 || c.blackholeWait <= 0 || c.tunnelMax <= 0 || c.settleMax < 0 || c.settleQuiet <= 0 || c.sampleEvery <= 0 || c.timeline <= 0 || c.vanishWait <= 0:
		return c, errors.New("timeouts must be positive")
	case c.rate < 0 || c.rate > 100000:
		return c, fmt.Errorf("-rate %v: want 0..100000", c.rate)
	case c.stormSize < 0 || c.stormSize > 5000 || c.stormEvery < 0:
		return c, errors.New("-storm-size: want 0..5000, -storm-every: not negative")
	}
	if c.proxyPlain == "" && c.proxyTLS == "" && c.proxyQUIC == "" {
		return c, errors.New("give at least one of -proxy-plain, -proxy-tls, -proxy-quic")
	}
	// Every byte of the soak stays on the machine.
	for name, a := range map[string]string{"-proxy-plain": c.proxyPlain, "-proxy-tls": c.proxyTLS, "-proxy-quic": c.proxyQUIC, "-dns": c.dns} {
		if a == "" {
			continue
		}
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return c, fmt.Errorf("%s %q: want a loopback IP address and port", name, a)
		}
	}
	if c.pprofURL != "" {
		u, err := url.Parse(c.pprofURL)
		if ip := net.ParseIP(u.Hostname()); err != nil || ip == nil || !ip.IsLoopback() {
			return c, fmt.Errorf("-pprof-url %q: want http://<loopback IP>:port", c.pprofURL)
		}
	}
	for _, f := range strings.Split(c.faults, ",") {
		if f = strings.TrimSpace(f); f != "" && (index(allFaults, f) >= len(allFaults) || f == fNone) {
			return c, fmt.Errorf("-faults: unknown fault %q (faults: %s)", f, strings.Join(allFaults[1:], ", "))
		}
	}
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	return c, nil
}

type weight struct {
	class string
	w     float64
}

// parseMix reads the class weights, leaving out the classes whose
// listener was not given.
func parseMix(c config) ([]weight, float64, error) {
	need := map[string]string{cH1: c.proxyPlain, cUDPH1: c.proxyPlain, cH1TLS: c.proxyTLS, cH2: c.proxyTLS,
		cUDPH2: c.proxyTLS, cH3: c.proxyQUIC, cUDPH3: c.proxyQUIC}
	var out []weight
	var total float64
	for _, f := range strings.Split(c.mix, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, v, ok := strings.Cut(f, "=")
		w, err := strconv.ParseFloat(v, 64)
		if _, known := need[name]; !ok || !known || err != nil || w < 0 {
			return nil, 0, fmt.Errorf("-mix: bad entry %q (classes: %s)", f, strings.Join(allClasses, ", "))
		}
		if w == 0 || need[name] == "" {
			continue
		}
		out = append(out, weight{name, w})
		total += w
	}
	if len(out) == 0 {
		return nil, 0, errors.New("-mix: no class left (each needs its listener's flag)")
	}
	return out, total, nil
}

// soak is one run.
type soak struct {
	cfg      config
	mix      []weight
	mixTotal float64
	rnd      []byte
	st       *stats
	track    *tracker
	seq      atomic.Uint64 // tunnels started

	dns       *dnsServer // nil without -dns
	canRepair bool       // TCP_REPAIR works: TCP clients can vanish
	vanish    *vanishWatcher

	origin, slow *origin
	udp          *udpecho.Echo
	originAddr   string
	slowAddr     string
	closedTCP    string
	closedUDP    string
	udpAddr      string

	h1, h1tls *h1Opener
	h2        *pool[*h2Conn]
	h3        *pool[*h3Conn] // CONNECT streams
	h3d       *pool[*h3Conn] // connect-udp flows (datagrams on)

	tmplPlain, tmplTLS, tmplQUIC *uritemplate.Template
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	out, _ := json.MarshalIndent(rep, "", "  ")
	out = append(out, '\n')
	if cfg.out == "" {
		os.Stdout.Write(out)
	} else if err := os.WriteFile(cfg.out, out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	if cfg.md != "" {
		if err := os.WriteFile(cfg.md, []byte(rep.markdown()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(1)
		}
	}
	if rep.UnexpectedErrors.Total > 0 {
		os.Exit(3)
	}
}

// logLines counts what client libraries print with the standard logger
// (masque-go logs a flow's stream ending with an error), keeping the
// first few lines for the report.
type logLines struct {
	mu    sync.Mutex
	n     int64
	first []string
}

func (l *logLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if len(l.first) < 10 {
		l.first = append(l.first, strings.TrimSpace(string(b)))
	}
	return len(b), nil
}

func run(ctx context.Context, cfg config, progress io.Writer) (*report, error) {
	mix, total, err := parseMix(cfg)
	if err != nil {
		return nil, err
	}
	s := &soak{cfg: cfg, mix: mix, mixTotal: total, rnd: newRandom(cfg.seed), st: newStats()}
	libLog := &logLines{}
	log.SetOutput(libLog)
	defer log.SetOutput(os.Stderr)

	life := cfg.tunnelMax + 30*time.Second
	ln, err := listenLoopback()
	if err != nil {
		return nil, err
	}
	if s.origin, err = newOrigin(ln, 0, life, s.st.errorf); err != nil {
		return nil, err
	}
	defer s.origin.Close()
	sln, err := listenSlow()
	if err != nil {
		return nil, err
	}
	if s.slow, err = newOrigin(sln, cfg.slowAccept, life, s.st.errorf); err != nil {
		return nil, err
	}
	defer s.slow.Close()
	closedTCP, release, err := reserveClosedPort()
	if err != nil {
		return nil, err
	}
	defer release()
	if s.closedUDP, err = closedUDPPort(closedTCP); err != nil {
		return nil, err
	}
	if s.udp, err = startUDPEcho(); err != nil {
		return nil, err
	}
	defer s.udp.Close()
	s.originAddr, s.slowAddr, s.closedTCP, s.udpAddr = s.origin.Addr(), s.slow.Addr(), closedTCP, s.udp.Addr()
	if cfg.dns != "" {
		if s.dns, err = startDNS(cfg.dns); err != nil {
			return nil, fmt.Errorf("-dns: %w", err)
		}
		defer s.dns.Close()
	}
	s.canRepair = canRepair()
	s.vanish = newVanishWatcher(s.origin, s.st.errorf)

	tmpl := func(addr string) (*uritemplate.Template, error) {
		if addr == "" {
			return nil, nil
		}
		return uritemplate.New("https://" + addr + cfg.udpTemplate)
	}
	if s.tmplPlain, err = tmpl(cfg.proxyPlain); err != nil {
		return nil, fmt.Errorf("-udp-template: %w", err)
	}
	if s.tmplTLS, err = tmpl(cfg.proxyTLS); err != nil {
		return nil, fmt.Errorf("-udp-template: %w", err)
	}
	if s.tmplQUIC, err = tmpl(cfg.proxyQUIC); err != nil {
		return nil, fmt.Errorf("-udp-template: %w", err)
	}
	s.h1 = &h1Opener{addr: cfg.proxyPlain, timeout: cfg.openTimeout}
	s.h1tls = &h1Opener{addr: cfg.proxyTLS, timeout: cfg.openTimeout, tls: insecureTLS("http/1.1")}
	s.h2 = newH2Pool(cfg.proxyTLS, cfg.h2Streams, cfg.connReuse, cfg.openTimeout)
	s.h3 = newH3Pool(cfg.proxyQUIC, false, cfg.h3Streams, cfg.connReuse, cfg.openTimeout)
	s.h3d = newH3Pool(cfg.proxyQUIC, true, cfg.h3Streams, cfg.connReuse, cfg.openTimeout)

	smp := newSampler(cfg.pid, cfg.pprofURL)
	smp.observe(smp.read(true))
	s.track = newTracker(250 * time.Millisecond)
	defer s.track.close()

	started := time.Now()
	goroutinesBefore := runtime.NumGoroutine()
	proxyCPU0, selfCPU0 := procCPU(cfg.pid), selfCPU()
	rep := &report{Tool: "benchmarks/soak", Started: started.UTC().Format(time.RFC3339), Command: os.Args,
		Seed: cfg.seed, Config: configReport(cfg, mix)}

	// Sampling: the peaks every -sample, a timeline point every -timeline.
	sampDone := make(chan struct{})
	var sampWG sync.WaitGroup
	sampWG.Add(1)
	go func() {
		defer sampWG.Done()
		tk := time.NewTicker(cfg.sampleEvery)
		defer tk.Stop()
		nextPoint := started
		for {
			now := time.Now()
			point := !now.Before(nextPoint)
			r := smp.read(point || smp.pprofURL != "" && now.Second()%5 == 0)
			smp.observe(r)
			if point {
				nextPoint = nextPoint.Add(cfg.timeline)
				tot, unexp := s.st.snapshot()
				rep.addPoint(timelinePoint{T: now.Sub(started).Seconds(), reading: r,
					InFlight: s.st.inFlight.Load(), Attempted: tot.Attempted, Unexpected: unexp})
				fmt.Fprintf(progress, "soak: %4.0fs in flight %d, tunnels %d (served %d, expected failures %d, unexpected %d), proxy fds %d threads %d rss %.0f MiB goroutines %d\n",
					now.Sub(started).Seconds(), s.st.inFlight.Load(), tot.Attempted, tot.Served, tot.FailedExpected, unexp,
					r.FDs, r.Threads, float64(r.RSS)/(1<<20), r.Goroutines)
			}
			select {
			case <-sampDone:
				return
			case <-tk.C:
			}
		}
	}()

	// The workers: each runs tunnels one after another until -duration.
	end := started.Add(cfg.duration)
	var wg sync.WaitGroup
	master := rand.New(rand.NewPCG(cfg.seed, cfg.seed>>1|1))
	stormRand := rand.New(rand.NewPCG(master.Uint64(), master.Uint64()))
	tokens := pace(ctx, cfg.rate, end)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rep.Storms = s.storms(ctx, started, end, smp, stormRand)
	}()
	gap := cfg.ramp / time.Duration(cfg.concurrency)
	for i := 0; i < cfg.concurrency; i++ {
		r := rand.New(rand.NewPCG(master.Uint64(), master.Uint64()))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(end) {
				if tokens != nil {
					if _, ok := <-tokens; !ok {
						return
					}
				}
				n := s.seq.Add(1)
				if int64(n) > cfg.maxTunnels {
					return
				}
				p := s.newPlan(n, r)
				s.st.inFlight.Add(1)
				o := s.runTunnel(ctx, p)
				s.st.inFlight.Add(-1)
				s.st.record(p, o)
			}
		}()
		if gap > 0 {
			select {
			case <-time.After(gap):
			case <-ctx.Done():
			}
		}
	}
	// Tunnels in flight at the end finish by themselves, within their
	// bounds; whatever is left after one more hard cap (and a storm's
	// settling) is cut.
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	select {
	case <-workersDone:
	case <-time.After(time.Until(end) + cfg.tunnelMax + stormSettle + 10*time.Second):
		rep.CutAtEnd = s.track.abortAll("cut_at_end")
		select {
		case <-workersDone:
		case <-time.After(30 * time.Second):
			return nil, errors.New("tunnels still running 30 s after they were cut")
		}
	}
	loadEnd := time.Now()
	if c := procCPU(cfg.pid); c >= 0 && proxyCPU0 >= 0 {
		rep.Proxy.CPUSeconds = c - proxyCPU0
	}
	rep.Client.CPUSeconds = selfCPU() - selfCPU0
	// Vanished clients of the last -vanish-wait still have their
	// deadlines running.
	s.vanish.finish()
	rep.Vanish = s.vanish.report()
	s.h2.closeAll()
	s.h3.closeAll()
	s.h3d.closeAll()
	rep.H2Conns, _ = s.h2.stats()
	rep.H3Conns, _ = s.h3.stats()
	rep.H3DatagramConns, _ = s.h3d.stats()
	close(sampDone)
	sampWG.Wait()

	// Settle: until the proxy's fds and threads stop falling.
	fmt.Fprintf(progress, "soak: load over after %.0fs; waiting for the proxy to settle\n", loadEnd.Sub(started).Seconds())
	var after reading
	if cfg.pid > 0 || cfg.pprofURL != "" {
		var took time.Duration
		after, took, rep.Proxy.Settled = smp.settle(cfg.settleMax, cfg.settleQuiet)
		rep.Proxy.SettleSeconds = took.Seconds()
	} else {
		after = smp.read(true)
	}
	tot, _ := s.st.snapshot()
	rep.addPoint(timelinePoint{T: time.Since(started).Seconds(), reading: after, Attempted: tot.Attempted})

	// Upstream connections still open now were left by the proxy.
	for _, o := range []*origin{s.origin, s.slow} {
		for _, oc := range o.Open() {
			class, fault := "?", "?"
			if oc.id != 0 {
				class, fault = idClassFault(oc.id)
			}
			msg := fmt.Sprintf("upstream of tunnel %d (%s/%s) open for %.0fs after its client ended", oc.id>>8, class, fault, time.Since(oc.since).Seconds())
			if oc.id == 0 {
				msg = fmt.Sprintf("upstream without a preamble (a reset stream's dial?) open for %.0fs", time.Since(oc.since).Seconds())
			}
			s.st.errorf("upstream_left_open", msg)
			rep.Origin.OpenAtEnd++
		}
		rep.Origin.Accepted += o.accepted()
		rep.Origin.NoPreamble += o.noPreface.Load()
	}
	rep.Origin.UDPEchoed = s.udp.Echoed()
	// The tool's own goroutines: what is left above the start, with every
	// tunnel done and every pooled connection closed (a few seconds for
	// the client libraries' connection goroutines to notice), is a leak.
	rep.Client.GoroutinesBefore = goroutinesBefore
	smp.client.CloseIdleConnections()
	for i := 0; i < 50; i++ {
		if rep.Client.GoroutinesAfter = runtime.NumGoroutine(); rep.Client.GoroutinesAfter <= goroutinesBefore+2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	rep.LoadSeconds = loadEnd.Sub(started).Seconds()
	rep.Finished = time.Now().UTC().Format(time.RFC3339)
	rep.fill(s, smp, after)
	libLog.mu.Lock()
	rep.Client.LibraryLogLines, rep.Client.LibraryLogFirst = libLog.n, append([]string{}, libLog.first...)
	libLog.mu.Unlock()
	return rep, nil
}

// pace hands out one token every 1/rate seconds until end (nil without a
// rate): a worker takes one before each tunnel, so that the soak's load
// stays what -rate says however fast the proxy is. The channel is closed
// at the end, which lets waiting workers go.
func pace(ctx context.Context, rate float64, end time.Time) chan struct{} {
	if rate <= 0 {
		return nil
	}
	tokens := make(chan struct{})
	go func() {
		defer close(tokens)
		tk := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tk.Stop()
		stop := time.NewTimer(time.Until(end))
		defer stop.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-stop.C:
				return
			case <-tk.C:
			}
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			case <-stop.C:
				return
			}
		}
	}()
	return tokens
}
