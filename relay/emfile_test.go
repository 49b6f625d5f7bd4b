package relay_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

const emfileChildEnv = "SLUICE_TEST_EMFILE_ORIGIN"

// TestMain runs the EMFILE child proxy when asked to: the fd limit must be
// lowered for a whole process, not for the test binary.
func TestMain(m *testing.M) {
	if org := os.Getenv(emfileChildEnv); org != "" {
		os.Exit(emfileChild(org))
	}
	os.Exit(m.Run())
}

func emfileChild(org string) int {
	lim := syscall.Rlimit{Cur: 48, Max: 48}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 1
	}
	ecfg := engine.Config{Workers: 1, HalfClose: true, Log: zerolog.New(os.Stderr).Level(zerolog.WarnLevel)}
	e := engine.New(ecfg)
	rcfg := testRelay()
	host, port := splitOrigin(org)
	a, err := e.Listen(engine.ListenerSpec{Addr: "127.0.0.1:0", Open: func(c *engine.Conn) engine.Handler {
		tun := relay.New(rcfg, relay.OnLoop(c.Loop()), relay.Socket(c), relay.Record{})
		tun.Connect(engine.DialTarget{Host: host, Port: port, Timeout: 5 * time.Second}, nil)
		return c.Handler()
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	if err := e.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 1
	}
	fmt.Println(a.String())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent lets go
	return 0
}

// When accept fails with EMFILE the proxy keeps running, keeps serving the
// tunnels it has, and accepts again once fds are free.
func TestEMFILESurvival(t *testing.T) {
	org := origin(t, echo)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), emfileChildEnv+"="+org)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v; stderr: %s", err, stderr.String())
	}
	addr := strings.TrimSpace(line)

	echoOnce := func(c net.Conn, msg string) error {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != msg {
			return fmt.Errorf("echo %q; want %q", buf, msg)
		}
		return nil
	}

	var held []net.Conn
	for i := range 5 {
		c := dial(t, addr)
		if err := echoOnce(c, fmt.Sprint("held ", i)); err != nil {
			t.Fatalf("tunnel %d before pressure: %v", i, err)
		}
		held = append(held, c)
	}
	// Far more conns than the child has fds for: accept fails with EMFILE.
	var flood []net.Conn
	for range 40 {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			break
		}
		flood = append(flood, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "out of file descriptors") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "out of file descriptors") {
		t.Fatalf("the child never hit EMFILE; stderr: %s", stderr.String())
	}
	for i, c := range held {
		if err := echoOnce(c, fmt.Sprint("under pressure ", i)); err != nil {
			t.Fatalf("held tunnel %d under fd pressure: %v", i, err)
		}
	}
	for _, c := range flood {
		c.Close()
	}
	for _, c := range held {
		c.Close()
	}
	// Once fds free up, new tunnels are served again.
	var lastErr error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			lastErr = err
			continue
		}
		lastErr = echoOnce(c, "after")
		c.Close()
		if lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("no new tunnel after pressure: %v; stderr: %s", lastErr, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("child proxy is gone: %v", err)
	}
}

// lockedBuffer is a bytes.Buffer the child's stderr copier and the test can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func splitOrigin(s string) (string, uint16) {
	h, p, _ := net.SplitHostPort(s)
	var port uint16
	fmt.Sscan(p, &port)
	return h, port
}
