package engine

import (
	"context"
	"net"
	"testing"
	"time"
)

// startEngine runs an engine with cfg and one listener on spec (its
// address defaults to a loopback port), and shuts it down at cleanup. It
// returns the listener's address.
func startEngine(tb testing.TB, cfg Config, spec ListenerSpec) net.Addr {
	tb.Helper()
	if spec.Addr == "" {
		spec.Addr = "127.0.0.1:0"
	}
	e := New(cfg)
	a, err := e.Listen(spec)
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return a
}
