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

// serveTLS runs an engine with cfg and one TLS listener on a loopback port
// whose conns open with open, shuts it down at cleanup, and returns the
// listener's address.
func serveTLS(t *testing.T, cfg engine.Config, open func(*engine.Conn) engine.Handler) string {
	t.Helper()
	cfg.Log = zerolog.Nop()
	e := engine.New(cfg)
	a, err := e.Listen(engine.ListenerSpec{Addr: "127.0.0.1:0",
		TLS: &tls.Config{Certificates: []tls.Certificate{testCert(t)}}, Open: open})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(2 * time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return a.String()
}
