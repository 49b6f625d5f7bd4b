package main

// End-to-end test of running out of file descriptors, on a sluice in a
// child process whose fd limit the test lowers and raises while it runs:
// EMFILE while dialing answers that one request 503, EMFILE at accept
// makes the acceptor back off without losing the waiting client, and the
// tunnels already open carry on through both.

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv names the variable that makes the test binary run sluice
// instead of the tests (see TestMain): its value is the arguments,
// separated by newlines (no argument here holds one).
const childEnv = "SLUICE_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childEnv); ok {
		os.Exit(run(strings.Split(args, "\n")))
	}
	os.Exit(m.Run())
}

// childProxy is sluice running in a child process.
type childProxy struct {
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
}

// startChild runs sluice in a child process on a free loopback port with
// args after the defaults, and waits until it accepts.
func startChild(t *testing.T, args ...string) *childProxy {
	t.Helper()
	addr := freePort(t)
	all := append([]string{"--listen", addr, "--listen-tls", "", "--workers", "1", "--log-level", "info"}, args...)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(all, "\n"))
	c := &childProxy{cmd: cmd, addr: addr, stderr: &lockedBuffer{}}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(waitLimit):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("child log:\n%s", c.stderr.String())
		}
	})
	waitFor(t, "the child to accept", func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	})
	return c
}

// fdCount is the number of fds the child has open.
func (c *childProxy) fdCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(c.cmd.Process.Pid), "fd"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// limitFor returns the RLIMIT_NOFILE that leaves the child exactly room
// fds to open: new fds take the lowest free numbers, and the open ones
// need not be below the limit (high ones, from before, stay usable).
func (c *childProxy) limitFor(t *testing.T, room int) uint64 {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(c.cmd.Process.Pid), "fd"))
	if err != nil {
		t.Fatal(err)
	}
	open := map[int]bool{}
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			open[n] = true
		}
	}
	free := 0
	for n := 0; ; n++ {
		if !open[n] {
			if free == room {
				return uint64(n)
			}
			free++
		}
	}
}

// setFDLimit sets the child's soft RLIMIT_NOFILE, its hard limit kept,
// so that raising it again needs no privilege.
func (c *childProxy) setFDLimit(t *testing.T, n uint64) {
	t.Helper()
	pid := c.cmd.Process.Pid
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &old); err != nil {
		t.Fatalf("prlimit: %v", err)
	}
	lim := unix.Rlimit{Cur: min(n, old.Max), Max: old.Max}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatalf("prlimit: %v", err)
	}
}

// childConnect sends a CONNECT and returns the conn and the response
// status, or 0 with the error when no response came.
func childConnect(addr, target string) (net.Conn, *bufio.Reader, int, error) {
	c, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		return nil, nil, 0, err
	}
	_ = c.SetDeadline(time.Now().Add(2 * waitLimit))
	if _, err := io.WriteString(c, connectReq(target)); err != nil {
		return c, nil, 0, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return c, br, 0, err
	}
	return c, br, resp.StatusCode, nil
}

func echoThrough(t *testing.T, c net.Conn, br *bufio.Reader, what string) {
	t.Helper()
	if _, err := c.Write([]byte(what)); err != nil {
		t.Fatalf("%s: write: %v", what, err)
	}
	got := make([]byte, len(what))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != what {
		t.Fatalf("%s: echo %q, %v", what, got, err)
	}
}

// TestE2EEMFILE: out of fds while dialing, the request that found none
// gets 503 (logged no_fds) while an open tunnel keeps working; out of
// fds at accept, the acceptor backs off and logs it, and the client that
// waited in the backlog is served once fds are free again.
func TestE2EEMFILE(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	logPath := filepath.Join(t.TempDir(), "access.log")
	c := startChild(t, "--allow-ports", "all", "--allow-private", "--access-log", logPath)

	open, obr, status, err := childConnect(c.addr, echo.addr())
	if err != nil || status != 200 {
		t.Fatalf("the first tunnel: %d, %v", status, err)
	}
	defer open.Close()
	echoThrough(t, open, obr, "before")
	settled := c.fdCount(t)

	// Room for exactly the accepted client socket (and the dup gnet's
	// enrolment takes), not for the upstream: the dial finds no fd. The
	// exact count an accept needs is engine's business, so the room grows
	// one fd at a time until a request is answered 503.
	got503 := false
	for room := 1; room <= 4 && !got503; room++ {
		c.setFDLimit(t, c.limitFor(t, room))
		conn, _, status, _ := childConnect(c.addr, echo.addr())
		if conn != nil {
			_ = conn.Close()
		}
		switch status {
		case 503:
			got503 = true
		case 200:
			t.Fatalf("with room for %d fds a tunnel was opened: the limit did not bind", room)
		}
		echoThrough(t, open, obr, "during "+strconv.Itoa(room))
	}
	if !got503 {
		t.Fatalf("no request was answered 503 with 1 to 4 fds free; child log:\n%s", c.stderr.String())
	}
	waitFor(t, "the 503 in the access log", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), `"status":503`) && strings.Contains(string(b), `"reason":"no_fds"`)
	})

	// No fd at all: the accept fails. The client connects (the kernel's
	// backlog takes it) and is answered once the limit is raised. The
	// refused conns must be gone first, or an fd they free later would
	// let the accept through and fail the enrolment's dup instead.
	deadline := time.Now().Add(waitLimit)
	for c.fdCount(t) > settled {
		if time.Now().After(deadline) {
			out, _ := exec.Command("ls", "-l", filepath.Join("/proc", strconv.Itoa(c.cmd.Process.Pid), "fd")).CombinedOutput()
			t.Fatalf("the refused conns' fds still open after %v: %d open, %d before them\n%s", waitLimit, c.fdCount(t), settled, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.setFDLimit(t, c.limitFor(t, 0))
	type answer struct {
		status int
		err    error
	}
	waiting := make(chan answer, 1)
	go func() {
		conn, _, status, err := childConnect(c.addr, echo.addr())
		if conn != nil {
			defer conn.Close()
		}
		waiting <- answer{status, err}
	}()
	waitFor(t, "the acceptor's out-of-fds warning", func() bool {
		return strings.Contains(c.stderr.String(), "accept: out of file descriptors")
	})
	echoThrough(t, open, obr, "while accepts fail")
	c.setFDLimit(t, 1<<20) // back to the hard limit
	select {
	case a := <-waiting:
		if a.status != 200 {
			t.Fatalf("the client that waited for an fd: %d, %v; want 200", a.status, a.err)
		}
	case <-time.After(2 * waitLimit):
		t.Fatal("the client that waited for an fd was never answered")
	}
	echoThrough(t, open, obr, "after")
	if err := open.(*net.TCPConn).CloseWrite(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
}
