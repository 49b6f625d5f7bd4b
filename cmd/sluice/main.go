// Command sluice is a forward (CONNECT) proxy for high-concurrency edge
// nodes. Run it with no flags for the embedded default; see -h.
package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluice-proxy/sluice/engine"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if cfg != nil && cfg.checkOnly {
		return checkMain(cfg, err, os.Stdout, os.Stderr)
	}
	if err != nil {
		printErrors(os.Stderr, err)
		return 2
	}
	if cfg.showVersion {
		printVersion(os.Stdout)
		return 0
	}
	engine.SetProcs(cfg.workers)
	s, err := newServer(cfg, os.Stderr)
	if err != nil {
		printErrors(os.Stderr, err)
		return 1
	}
	if err := s.start(); err != nil {
		printErrors(os.Stderr, err)
		return 1
	}
	for name, a := range s.addrs {
		s.log.Info().Str("listener", name).Str("addr", a.String()).Msg("listening")
	}
	logFDLimit(s.log, cfg.maxConns)
	return s.serveSignals()
}

// serveSignals runs the server until SIGTERM or SIGINT and drains it then:
// SIGHUP reloads, SIGUSR1 reopens the access log, and a second SIGTERM or
// SIGINT during the drain cuts what is left at once.
func (s *server) serveSignals() int {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sig)
	sdNotify("READY=1")
serving:
	for x := range sig {
		switch x {
		case syscall.SIGHUP:
			sdReloading()
			s.reload()
			sdNotify("READY=1")
		case syscall.SIGUSR1:
			s.reopenAccessLog()
		default:
			break serving
		}
	}
	sdNotify("STOPPING=1")
	s.log.Info().Dur("drain_timeout", s.cfg.drainTimeout).Msg("draining")
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.drainTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.shutdown(ctx) }()
	for {
		select {
		case err := <-done:
			if err != nil {
				s.log.Warn().Err(err).Msg("drain timeout: remaining tunnels cut")
			}
			return 0
		case x := <-sig:
			switch x {
			case syscall.SIGTERM, syscall.SIGINT:
				s.log.Warn().Msg("second " + x.String() + " during the drain: cutting the remaining tunnels now")
				cancel()
			case syscall.SIGUSR1:
				s.reopenAccessLog()
			}
		}
	}
}
