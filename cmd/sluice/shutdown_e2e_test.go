package main

import (
	"context"
	"testing"
	"time"
)

// TestE2ETLSAcceptThenShutdown: TLS handshakes followed by a shutdown. Not
// parallel, and in the first file, so it runs before every other test: the
// race detector reports a given race once per process, and it should be
// reported here, under this name, rather than against whichever test
// happens to shut a TLS listener down first.
//
// Regression test for 817dfad: the accept loop closed listener.reap with
// no ordering against the TLS handshake goroutines that send on it
// (engine/accept.go register, called from engine/tls.go handshake), which
// -race reported on every run.
func TestE2ETLSAcceptThenShutdown(t *testing.T) {
	p := startOpenProxy(t)
	for i := 0; i < 4; i++ {
		c := dialProxy(t, p.tls, true)
		_ = c.Close()
	}
	deadline := time.Now().Add(waitLimit)
	for p.s.eng.ActiveConns() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("closed TLS conns still counted open: %d", p.s.eng.ActiveConns())
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.s.shutdown(ctx); err != nil {
		t.Fatalf("shutdown with no conns open: %v", err)
	}
}
