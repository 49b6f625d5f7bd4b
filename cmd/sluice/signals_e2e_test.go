package main

// End-to-end test of the signals an init system and logrotate send, on the
// real main loop (run) in process: SIGUSR1 reopens the access log, SIGHUP
// reloads the config file, SIGTERM drains and a second one cuts the drain
// short, each told to systemd over $NOTIFY_SOCKET (READY=1, RELOADING=1,
// STOPPING=1).

import (
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifySocket listens where $NOTIFY_SOCKET points and passes on every
// datagram sluice sends there.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	ch := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

// expectNotify waits (bounded) for the next message to systemd and checks
// that it starts with want.
func expectNotify(t *testing.T, ch <-chan string, want string) string {
	t.Helper()
	select {
	case m := <-ch:
		if !strings.HasPrefix(m, want) {
			t.Fatalf("sd_notify %q; want %q", m, want)
		}
		return m
	case <-time.After(waitLimit):
		t.Fatalf("no sd_notify %q within %v", want, waitLimit)
		return ""
	}
}

// TestE2ESignals: run from a config file, with systemd's notify socket.
// Not parallel: the signals go to the whole test process, which listens
// for them itself too so that none arriving outside run can kill it.
func TestE2ESignals(t *testing.T) {
	safety := make(chan os.Signal, 16)
	signal.Notify(safety, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGUSR1)
	t.Cleanup(func() {
		signal.Stop(safety)
		signal.Reset(syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	})
	notes := notifySocket(t)
	echo := startEcho(t)
	target := echo.addr()
	dir := t.TempDir()
	addr := freePort(t)
	logPath := filepath.Join(dir, "access.log")
	conf := filepath.Join(dir, "sluice.conf")
	base := "listen " + addr + "\nlisten-tls \"\"\naccess-log " + logPath + "\nallow-private\nallow-ports all\nworkers 1\nlog-level error\n"
	writeFileAtomic(t, conf, base+"max-tunnels-per-ip 1\n")
	code := make(chan int, 1)
	go func() { code <- run([]string{"--config", conf}) }()
	expectNotify(t, notes, "READY=1")
	p := &proxy{t: t, plain: addr, errLog: &lockedBuffer{}, logPath: logPath}
	const src = "127.0.0.71"

	// SIGUSR1 after logrotate moved the file: lines go to a new file.
	c := tunnelWith(t, p, false, src, target, "", "a tunnel before the rotation")
	_ = c.Close()
	p.waitLines("the first tunnel", 1, anyLine)
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLimit)
	for {
		c := retryTunnel(t, p, false, src, target, "", "a tunnel after SIGUSR1")
		_ = c.Close()
		time.Sleep(50 * time.Millisecond)
		if _, err := os.Stat(logPath); err == nil && len(p.readLog()) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new access log at %s after SIGUSR1", logPath)
		}
	}

	// SIGHUP: the file's limit goes from 1 to 2; systemd hears RELOADING=1
	// (with the monotonic time it wants) and READY=1.
	a := retryTunnel(t, p, false, src, target, "", "the one tunnel at the limit 1")
	expectH1Status(t, p, false, src, target, "", 429, "a second tunnel at max-tunnels-per-ip 1")
	writeFileAtomic(t, conf, base+"max-tunnels-per-ip 2\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if m := expectNotify(t, notes, "RELOADING=1"); !strings.Contains(m, "\nMONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m)
	}
	expectNotify(t, notes, "READY=1")
	b := tunnelWith(t, p, false, src, target, "", "a second tunnel after SIGHUP raised the limit to 2")
	_ = b.Close()

	// SIGTERM drains: STOPPING=1, the open tunnel still moves bytes; a
	// second SIGTERM cuts it and run returns.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expectNotify(t, notes, "STOPPING=1")
	echoOnce(t, a, "a tunnel during the drain")
	select {
	case c := <-code:
		t.Fatalf("run returned %d with a tunnel open and 30s of drain left", c)
	case <-time.After(100 * time.Millisecond):
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("run returned %d; want 0", c)
		}
	case <-time.After(waitLimit):
		t.Fatalf("run did not return within %v of a second SIGTERM", waitLimit)
	}
	_ = a.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := a.Read(make([]byte, 1)); err == nil {
		t.Error("the tunnel still delivers after the second SIGTERM")
	}
}
