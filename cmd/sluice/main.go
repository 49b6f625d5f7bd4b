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
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	for x := range sig {
		if x == syscall.SIGHUP {
			s.reload()
			continue
		}
		s.log.Info().Dur("drain_timeout", cfg.drainTimeout).Msg("draining")
		ctx, cancel := context.WithTimeout(context.Background(), cfg.drainTimeout)
		err := s.shutdown(ctx)
		cancel()
		if err != nil {
			s.log.Warn().Err(err).Msg("drain timeout: remaining tunnels cut")
		}
		return 0
	}
	return 0
}
