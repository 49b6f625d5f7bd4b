// Command loadgen drives a CONNECT proxy (or a plain L4 relay) with tunnels
// to its own loopback origin and reports client-side rates together with
// the proxy's CPU time and memory read from /proc.
//
// Usage:
//
//	loadgen -proxy 127.0.0.1:8080 -proto h1 -mode rr -c 1000 -duration 5s -pid 1234 -json
//
// Modes:
//
//	setup  open a tunnel, one echo, close; repeat on -c workers
//	rr     -c long-lived tunnels, each doing -size byte echo round trips
//	first8 open a tunnel, exactly 8 echo round trips of -size bytes (the
//	       ones NaïveProxy padding frames), close; repeat on -c workers
//	bulk   -c tunnels each moving -bytes up (to a sink), down (from a
//	       source) or both (through the echo)
//	idle   open -c tunnels, one echo each, hold them and read the proxy's RSS
//	authstorm  -c wrong passwords at once (h1) while a tunnel echoes and
//	       another user logs in: what guessing costs (needs -auth, -auth2)
//	dgram  -c connect-udp flows (RFC 9298; h1, h2, h3, or raw UDP) to a UDP
//	       echo, each keeping -window datagrams of -size bytes in flight
//	origin only serve the origin, TCP and UDP on one port (for an
//	       -external-origin of other runs)
//
// Every loop is bounded by -n (operations) and -duration (time), and every
// blocking call by -timeout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is the parsed command line.
type config struct {
	proxy     string
	proto     string
	mode      string
	conc      int
	conns     int
	h3Streams int
	n         int64
	duration  time.Duration
	timeout   time.Duration
	bytes     int64
	dir       string
	size      int
	pid       string
	origin    string
	extOrigin string
	maxErrors int64
	settle    time.Duration
	hold      time.Duration
	openPar   int
	jsonOut   bool
	label     string
	test      string
	auth      string
	auth2     string
	window    int
	lostAfter time.Duration
	warmup    time.Duration
	udpTmpl   string
	padding   bool
}

func parseFlags() config {
	var c config
	flag.StringVar(&c.proxy, "proxy", "", "proxy address host:port; for -proto raw the relay address, empty = connect to the origin directly (no proxy)")
	flag.StringVar(&c.proto, "proto", "h1", "h1 (CONNECT over TCP), h1tls (CONNECT inside TLS), h2 (CONNECT streams over TLS), h3 (CONNECT streams over QUIC, -proxy is a UDP address), raw (no CONNECT: -proxy relays to the origin); -mode dgram: h1 (upgrade over TCP), h2 (extended CONNECT over TLS), h3 (QUIC datagrams), raw (plain UDP)")
	flag.StringVar(&c.mode, "mode", "rr", "setup, rr, first8, bulk, idle, authstorm, dgram, or origin (serve the origin only)")
	flag.IntVar(&c.conc, "c", 1, "concurrency: workers (setup, first8), tunnels (rr, bulk, idle), flows (dgram)")
	flag.IntVar(&c.conns, "conns", 0, "h2, h3: TLS or QUIC connections to start with (more are dialed when the stream limit is reached); 0 = one per 100 tunnels")
	flag.IntVar(&c.h3Streams, "h3-streams", 100, "h3: streams per QUIC connection before another is dialed; at most the proxy's limit (quic-go's default, Caddy: 100; sluice --quic-max-streams: 128)")
	flag.Int64Var(&c.n, "n", 1_000_000, "bound on operations: tunnels (setup, first8), round trips (rr), datagrams sent (dgram)")
	flag.BoolVar(&c.padding, "padding", false, "h2, h3 with -mode setup, rr, first8: ask for NaïveProxy padding (padding-type-request: 1, 0) and pad the first 8 frames of each direction")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "bound on the measured phase")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Second, "bound on each open, read and write")
	flag.Int64Var(&c.bytes, "bytes", 256<<20, "bulk: bytes per tunnel and direction")
	flag.StringVar(&c.dir, "dir", "down", "bulk: up, down or both")
	flag.IntVar(&c.size, "size", 0, "setup, rr, idle: echo payload bytes (default 64); dgram: datagram payload bytes (default 1200)")
	flag.IntVar(&c.window, "window", 8, "dgram: datagrams in flight per flow")
	flag.DurationVar(&c.lostAfter, "lost-after", time.Second, "dgram: a datagram not back within this counts as lost and frees its window slot")
	flag.DurationVar(&c.warmup, "warmup", 0, "dgram: run the flows this long before the measured phase, uncounted")
	flag.StringVar(&c.udpTmpl, "udp-template", defaultUDPTemplate, "dgram: path of the connect-udp URI template, with {target_host} and {target_port}")
	flag.StringVar(&c.pid, "pid", "", "proxy PID(s) to sample from /proc, comma-separated (summed)")
	flag.StringVar(&c.origin, "origin", "127.0.0.1:0", "start the loopback origin on this address (loopback only)")
	flag.StringVar(&c.extOrigin, "external-origin", "", "use an origin already running at this address instead of starting one")
	flag.Int64Var(&c.maxErrors, "max-errors", 1000, "stop a run after this many failed operations (a proxy out of fds fails every open, each after -timeout)")
	flag.DurationVar(&c.settle, "settle", time.Second, "idle: wait before reading RSS, so that the proxy's allocator settles")
	flag.DurationVar(&c.hold, "hold", 0, "idle: keep the tunnels open this much longer after the reading")
	flag.IntVar(&c.openPar, "open-par", 64, "rr, bulk, idle: tunnels opened in parallel while setting up (keeps the accept backlog from overflowing)")
	flag.BoolVar(&c.jsonOut, "json", false, "print the result as one JSON line")
	flag.StringVar(&c.label, "label", "", "peer name copied into the result (for the report)")
	flag.StringVar(&c.test, "test", "", "test name copied into the result (for the report)")
	flag.StringVar(&c.auth, "auth", "", "authstorm: user:password whose password is guessed (and who holds a tunnel)")
	flag.StringVar(&c.auth2, "auth2", "", "authstorm: user:password who logs in during the storm")
	flag.Parse()
	if c.size == 0 {
		c.size = 64
		if c.mode == "dgram" {
			c.size = 1200
		}
	}
	return c
}

func main() {
	cfg := parseFlags()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	if cfg.conc < 1 || cfg.n < 1 || cfg.maxErrors < 1 || cfg.duration <= 0 || cfg.timeout <= 0 || cfg.size < 1 || cfg.openPar < 1 || cfg.warmup < 0 {
		return errors.New("-c, -n, -max-errors, -duration, -timeout, -size and -open-par must be positive, -warmup not negative")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	target := cfg.extOrigin
	if target == "" {
		o, err := startOrigin(cfg.origin)
		if err != nil {
			return err
		}
		defer o.Close()
		target = o.Addr()
		// The UDP echo takes the TCP origin's port number when it can, so
		// that one address serves every mode for an -external-origin.
		if cfg.mode == "dgram" || cfg.mode == "origin" {
			e, err := startUDPEcho(target)
			if err != nil {
				return err
			}
			defer e.Close()
			if cfg.mode == "dgram" {
				target = e.Addr()
			} else if e.Addr() != target {
				fmt.Fprintln(os.Stderr, "udp origin listening on", e.Addr())
			}
		}
	}
	if cfg.mode == "origin" {
		fmt.Fprintln(os.Stderr, "origin listening on", target)
		// Bounded like every other loop.
		select {
		case <-ctx.Done():
		case <-time.After(cfg.duration):
		}
		return nil
	}

	procs, err := parsePIDs(cfg.pid)
	if err != nil {
		return err
	}
	conns := cfg.conns
	if conns == 0 {
		conns = (cfg.conc + 99) / 100
	}
	if cfg.mode == "dgram" {
		fo, err := newFlowOpener(cfg.proto, cfg.proxy, conns, cfg.h3Streams, cfg.timeout, cfg.udpTmpl)
		if err != nil {
			return err
		}
		defer fo.Close()
		r := &runner{cfg: cfg, ctx: ctx, target: target, procs: procs}
		res, err := r.dgram(fo)
		if err != nil {
			return err
		}
		if h, ok := fo.(interface{ ConnCount() int }); ok {
			res.Conns = h.ConnCount()
		}
		return res.print(os.Stdout, cfg.jsonOut)
	}
	op, err := newOpener(cfg.proto, cfg.proxy, conns, cfg.h3Streams, cfg.timeout)
	if err != nil {
		return err
	}
	defer op.Close()
	if cfg.padding {
		if cfg.mode != "setup" && cfg.mode != "rr" && cfg.mode != "first8" {
			return errors.New("-padding is for -mode setup, rr and first8")
		}
		if err := enablePadding(op); err != nil {
			return err
		}
	}

	r := &runner{cfg: cfg, ctx: ctx, op: op, target: target, procs: procs}
	var res *result
	switch cfg.mode {
	case "setup":
		res, err = r.setup()
	case "rr":
		res, err = r.rr()
	case "first8":
		res, err = r.first8()
	case "bulk":
		res, err = r.bulk()
	case "idle":
		res, err = r.idle()
	case "authstorm":
		res, err = r.authstorm()
	default:
		return fmt.Errorf("unknown -mode %q", cfg.mode)
	}
	if err != nil {
		return err
	}
	if h, ok := op.(interface{ ConnCount() int }); ok {
		res.Conns = h.ConnCount()
	}
	return res.print(os.Stdout, cfg.jsonOut)
}
