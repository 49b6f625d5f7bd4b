package engine_test

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/engine"
)

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// serve runs an engine with cfg and one listener on spec (its address
// defaults to a loopback port), shuts it down at cleanup, and returns the
// engine and the listener's address.
func serve(tb testing.TB, cfg engine.Config, spec engine.ListenerSpec) (*engine.Engine, string) {
	tb.Helper()
	cfg.Log = zerolog.Nop()
	if spec.Addr == "" {
		spec.Addr = "127.0.0.1:0"
	}
	e := engine.New(cfg)
	a, err := e.Listen(spec)
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := contextWithTimeout(2 * time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return e, a.String()
}

// serveTLS is serve with a TLS listener on the test certificate whose conns
// open with open.
func serveTLS(t *testing.T, cfg engine.Config, open func(*engine.Conn) engine.Handler) string {
	t.Helper()
	_, addr := serve(t, cfg, engine.ListenerSpec{TLS: &tls.Config{Certificates: []tls.Certificate{testCert(t)}}, Open: open})
	return addr
}
