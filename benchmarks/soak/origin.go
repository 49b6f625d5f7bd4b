package main

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluice-proxy/sluice/benchmarks/internal/connserver"
)

// The TCP origin speaks one preamble line, then echoes:
//
//	SOAK <id> <n> <action> <k>\n
//
//	echo   echo every byte until n bytes or EOF, then write the sha256 of
//	       what was echoed (32 bytes), half-close, and wait for the
//	       client to close
//	reset  echo exactly k bytes, then reset the connection (SO_LINGER 0)
//	fin    echo exactly k bytes, then half-close while the client still
//	       sends, and read the rest until EOF
//
// The id names the tunnel, so that an upstream connection the proxy
// never closes can be traced to the tunnel (class and fault) it served.
const (
	actEcho  = "echo"
	actReset = "reset"
	actFin   = "fin"
)

func preamble(id uint64, n int64, action string, k int64) string {
	return fmt.Sprintf("SOAK %d %d %s %d\n", id, n, action, k)
}

// originConn is an open upstream connection, as the origin sees it.
type originConn struct {
	id    uint64 // 0 until the preamble arrived
	since time.Time
}

// origin is one soak origin. The accept loop, its pacing and the set of
// open connections are connserver's (shared with loadgen's origin); the
// origin keeps, under its own lock, what it knows about each connection.
type origin struct {
	srv      *connserver.Server
	lifetime time.Duration // bound on every connection
	onError  func(kind, msg string)

	mu    sync.Mutex
	conns map[net.Conn]*originConn
	ids   map[uint64]int // open connections by tunnel id

	noPreface atomic.Int64 // closed by the proxy before a preamble (reset streams)
}

// newOrigin serves the soak protocol on ln (loopback only), accepting
// one connection every `every` (0: as fast as they come).
func newOrigin(ln net.Listener, every, lifetime time.Duration, onError func(kind, msg string)) (*origin, error) {
	if !isLoopback(ln.Addr()) {
		ln.Close()
		return nil, fmt.Errorf("origin %v: only loopback addresses are allowed", ln.Addr())
	}
	o := &origin{lifetime: lifetime, onError: onError, conns: make(map[net.Conn]*originConn), ids: make(map[uint64]int)}
	o.srv = connserver.New(ln, connserver.Options{Every: every, OnOpen: o.track, OnClose: o.untrack})
	o.srv.Serve(o.serve)
	return o, nil
}

func isLoopback(a net.Addr) bool {
	switch v := a.(type) {
	case *net.TCPAddr:
		return v.IP.IsLoopback()
	case *net.UDPAddr:
		return v.IP.IsLoopback()
	}
	return false
}

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// listenSlow is the blackhole-ish origin: a listening socket with a
// backlog of one whose connections are accepted one every `every`. A
// dial that finds the queue full has its SYN dropped and retries until
// the proxy's connect timeout (504); one that got in waits in the queue
// and is served late, or stalls when its handshake's last ACK was
// dropped.
func listenSlow() (net.Listener, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	sa := &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	if err := syscall.Listen(fd, 1); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "slow-origin")
	defer f.Close() // FileListener holds a dup
	return net.FileListener(f)
}

// reserveClosedPort returns a loopback port with a socket bound to it
// that never listens: a connection to it is refused, and no other
// socket can take the port while the returned closer is held.
func reserveClosedPort() (string, func(), error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return "", nil, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return "", nil, err
	}
	port := sa.(*syscall.SockaddrInet4).Port
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), func() { syscall.Close(fd) }, nil
}

func (o *origin) Addr() string { return o.srv.Addr().String() }

// accepted is how many connections the origin accepted.
func (o *origin) accepted() int64 { return o.srv.Accepted() }

func (o *origin) closed() bool { return o.srv.Closed() }

// track and untrack are connserver's hooks, run as a connection enters
// and leaves its set.
func (o *origin) track(c net.Conn) {
	o.mu.Lock()
	o.conns[c] = &originConn{since: time.Now()}
	o.mu.Unlock()
}

func (o *origin) setID(c net.Conn, id uint64) {
	o.mu.Lock()
	if oc := o.conns[c]; oc != nil && oc.id == 0 {
		oc.id = id
		o.ids[id]++
	}
	o.mu.Unlock()
}

func (o *origin) untrack(c net.Conn) {
	o.mu.Lock()
	if oc := o.conns[c]; oc != nil && oc.id != 0 {
		if o.ids[oc.id]--; o.ids[oc.id] <= 0 {
			delete(o.ids, oc.id)
		}
	}
	delete(o.conns, c)
	o.mu.Unlock()
}

// isOpen says whether an upstream connection of tunnel id is open.
func (o *origin) isOpen(id uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ids[id] > 0
}

// Open lists the connections open now, oldest first.
func (o *origin) Open() []originConn {
	o.mu.Lock()
	out := make([]originConn, 0, len(o.conns))
	for _, oc := range o.conns {
		out = append(out, *oc)
	}
	o.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].since.Before(out[j].since) })
	return out
}

// Close stops accepting and drops every connection.
func (o *origin) Close() { o.srv.Close() }

const originBuf = 64 << 10

// serve speaks the soak protocol on c; connserver closes c when it
// returns.
func (o *origin) serve(c net.Conn) {
	tc := c.(*net.TCPConn)
	c.SetDeadline(time.Now().Add(o.lifetime))
	br := bufio.NewReaderSize(c, 512)
	line, err := br.ReadSlice('\n')
	if err != nil {
		if len(line) == 0 && (errors.Is(err, io.EOF) || isReset(err)) {
			o.noPreface.Add(1)
			return
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) && !o.closed() {
			o.onError("origin_bad_preamble", fmt.Sprintf("%q: %v", trunc(line), err))
		}
		return
	}
	id, n, act, k, ok := parsePreamble(string(line))
	if !ok {
		o.onError("origin_bad_preamble", fmt.Sprintf("%q", trunc(line)))
		return
	}
	o.setID(c, id)
	buf := make([]byte, originBuf)
	h := sha256.New()
	limit := n
	if act != actEcho {
		limit = k
	}
	var echoed int64
	for echoed < limit {
		m, err := br.Read(buf[:min(int64(len(buf)), limit-echoed)])
		if m > 0 {
			h.Write(buf[:m])
			if _, werr := c.Write(buf[:m]); werr != nil {
				return
			}
			echoed += int64(m)
		}
		if err != nil {
			if err != io.EOF || act != actEcho {
				return
			}
			break // the client half-closed early: the digest covers what came
		}
	}
	switch act {
	case actReset:
		tc.SetLinger(0)
		return
	case actFin:
		tc.CloseWrite()
		io.Copy(io.Discard, br)
		return
	}
	if _, err := c.Write(h.Sum(nil)); err != nil {
		return
	}
	tc.CloseWrite()
	// Wait for the client's close (through the proxy); a client that
	// sends more than it announced is told by the missing digest match.
	io.Copy(io.Discard, br)
}

func parsePreamble(s string) (id uint64, n int64, act string, k int64, ok bool) {
	f := strings.Fields(s)
	if len(f) != 5 || f[0] != "SOAK" {
		return
	}
	var err1, err2, err3 error
	id, err1 = strconv.ParseUint(f[1], 10, 64)
	n, err2 = strconv.ParseInt(f[2], 10, 64)
	k, err3 = strconv.ParseInt(f[4], 10, 64)
	act = f[3]
	ok = err1 == nil && err2 == nil && err3 == nil && n >= 0 && k >= 0 &&
		(act == actEcho || act == actReset || act == actFin)
	return
}

func trunc(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
