package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/engine"
)

func nopOpen(c *engine.Conn) engine.Handler { return nil }

// A second process on an address that is already being listened on must
// fail to start, as nginx, Squid and Caddy do, instead of silently sharing
// the traffic through SO_REUSEPORT; only a deliberate takeover may bind.
func TestListenRefusesAddressInUse(t *testing.T) {
	first := engine.New(engine.Config{Workers: 1, Log: zerolog.Nop()})
	a, err := first.Listen(engine.ListenerSpec{Addr: "127.0.0.1:0", Open: nopOpen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(2 * time.Second)
		defer cancel()
		_ = first.Shutdown(ctx)
	})
	second := engine.New(engine.Config{Workers: 1, Log: zerolog.Nop()})
	_, err = second.Listen(engine.ListenerSpec{Addr: a.String(), Open: nopOpen})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Listen on %s: err %v; want EADDRINUSE", a, err)
	}
	takeover := engine.New(engine.Config{Workers: 1, Takeover: true, Log: zerolog.Nop()})
	if _, err := takeover.Listen(engine.ListenerSpec{Addr: a.String(), Open: nopOpen}); err != nil {
		t.Fatalf("Listen with Takeover on %s: %v; want it to bind beside the first", a, err)
	}
	ctx, cancel := contextWithTimeout(2 * time.Second)
	defer cancel()
	_ = takeover.Shutdown(ctx)
}

// gnet insists on a listener of its own, which engine only uses to learn
// its loops at start; the socket file must not outlive that, or every
// killed process leaves one behind in the temp directory.
func TestStartLeavesNoSocketFile(t *testing.T) {
	pattern := filepath.Join(os.TempDir(), "sluice-"+strconv.Itoa(os.Getpid())+"-*")
	before, _ := filepath.Glob(pattern)
	serve(t, engine.Config{Workers: 2}, engine.ListenerSpec{Open: nopOpen})
	after, _ := filepath.Glob(pattern)
	if len(after) > len(before) {
		t.Fatalf("a running engine left socket files in %s: %v (before start: %v)", os.TempDir(), after, before)
	}
}
