package engine

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"
)

// PacketConn is a connected UDP socket whose datagrams are delivered on a
// loop: the upstream of a connect-udp flow. Writes are made on the loop and
// never block: a datagram the socket cannot take now is dropped, as UDP
// does. It is not a gnet conn: gnet reads an enrolled UDP socket as a
// stream, and ends it at the first ICMP error (a port unreachable from the
// target) or zero-length datagram, where a UDP flow must go on. A goroutine
// of its own waits for the socket with Go's netpoller instead, and hands
// what it reads to the loop, a batch per task.
type PacketConn struct {
	// Static after DialUDP.
	loop   *Loop
	uc     *net.UDPConn
	rc     syscall.RawConn
	fd     int
	remote netip.AddrPort
	h      PacketHandler

	deliverTask *Task // deliver, bound once

	// Guarded by mu, between the reader goroutine and the loop.
	mu     sync.Mutex
	queue  []*bytebufferpool.ByteBuffer // datagrams read, not yet delivered
	posted bool                         // a delivery task is queued on the loop

	// Owned by the loop.
	closed bool

	drops  atomic.Int64 // datagrams dropped: the socket did not take them, or the queue was full
	errors atomic.Int64 // ICMP errors reported by the socket, ignored
}

// PacketHandler receives the events of one PacketConn, on its loop.
type PacketHandler interface {
	// OnDatagram delivers one datagram; p is borrowed for the call.
	OnDatagram(pc *PacketConn, p []byte)
	// OnClose runs once, when pc is gone; err is nil for a local close.
	OnClose(pc *PacketConn, err error)
}

// PacketDialHandler is told how a DialUDP went, on the loop.
type PacketDialHandler interface {
	PacketHandler
	DialedUDP(pc *PacketConn, info DialInfo, err error)
}

// maxQueued bounds the datagrams read and not yet delivered: past it the
// reader drops, as the socket would.
const maxQueued = 256

// defaultMaxDatagram is Config.MaxDatagram's default: 1500 bytes less
// the IPv4 and UDP headers.
const defaultMaxDatagram = 1472

// recvTrunc reads one datagram from the connected socket fd into b without
// blocking and returns its full length, which exceeds len(b) when it was
// cut (MSG_TRUNC). A raw recvfrom: x/sys's would decode a source address a
// connected socket does not need, with a getsockopt per call.
func recvTrunc(fd int, b []byte) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_TRUNC|unix.MSG_DONTWAIT, 0, 0)
	for errno == unix.EINTR {
		n, _, errno = unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			unix.MSG_TRUNC|unix.MSG_DONTWAIT, 0, 0)
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

var packetPool Pool

// DialUDP resolves t, vets every address with t.Check as Dial does, and
// connects a UDP socket to the first allowed one, off the loop; h hears of
// it on l. cancel abandons the dial (h still hears, with an error).
func (l *Loop) DialUDP(t DialTarget, h PacketDialHandler) (cancel func()) {
	fail := func(info DialInfo, err error) { h.DialedUDP(nil, info, err) }
	return l.dialJob(t, "udp", fail, func(_ context.Context, nc net.Conn, info DialInfo) {
		pc, err := newPacketConn(l, nc.(*net.UDPConn), h)
		if err != nil {
			_ = nc.Close()
			l.exec(func() { fail(info, &DialError{StageConnect, err}) })
			return
		}
		pc.remote = info.Addr
		if !l.exec(func() {
			l.packets[pc] = struct{}{}
			h.DialedUDP(pc, info, nil)
			if !pc.closed {
				go pc.read()
			}
		}) {
			_ = nc.Close()
		}
	})
}

func newPacketConn(l *Loop, uc *net.UDPConn, h PacketHandler) (*PacketConn, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	pc := &PacketConn{loop: l, uc: uc, rc: rc, h: h, fd: -1}
	pc.deliverTask = l.NewTask(pc.deliver)
	if err := rc.Control(func(fd uintptr) { pc.fd = int(fd) }); err != nil {
		return nil, err
	}
	return pc, nil
}

// RemoteAddr is the target the socket is connected to. Safe from any goroutine.
func (pc *PacketConn) RemoteAddr() netip.AddrPort { return pc.remote }

// Write sends p as one datagram now, or drops it when the socket cannot
// take it (a full send buffer, a pending ICMP error). It never blocks.
func (pc *PacketConn) Write(p []byte) {
	if pc.closed {
		return
	}
	for {
		err := unix.Send(pc.fd, p, unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			return
		case err == unix.EINTR:
			continue
		case err == unix.ECONNREFUSED || err == unix.EHOSTUNREACH || err == unix.ENETUNREACH:
			// An ICMP error for an earlier datagram: the flow goes on.
			pc.errors.Add(1)
			continue
		default:
			pc.drops.Add(1)
			return
		}
	}
}

// Drops is how many datagrams were dropped toward the target or from it.
// Safe from any goroutine.
func (pc *PacketConn) Drops() int64 { return pc.drops.Load() }

// Close closes the socket now.
func (pc *PacketConn) Close() { pc.closeWith(nil) }

func (pc *PacketConn) closeWith(err error) {
	if pc.closed {
		return
	}
	pc.closed = true
	delete(pc.loop.packets, pc)
	_ = pc.uc.Close() // the reader's wait ends with an error
	pc.mu.Lock()
	for _, b := range pc.queue {
		packetPool.Put(b)
	}
	pc.queue = nil
	pc.mu.Unlock()
	pc.h.OnClose(pc, err)
}

// read waits for datagrams and queues them for the loop: one recvfrom
// per datagram, into a pooled buffer of Config.MaxDatagram bytes.
func (pc *PacketConn) read() {
	size := pc.loop.eng.cfg.MaxDatagram
	if size <= 0 {
		size = defaultMaxDatagram
	}
	// One closure for the life of the flow: one per recvfrom cost three
	// allocations a datagram.
	var b *bytebufferpool.ByteBuffer
	var rerr error
	recv := func(fd uintptr) bool {
		// The buffer is taken only once the socket is readable, and goes
		// back at once when it was not, so an idle flow holds none.
		b = packetPool.Get()
		if cap(b.B) < size {
			b.B = make([]byte, size)
		}
		n, err := recvTrunc(int(fd), b.B[:size])
		switch {
		case err == unix.EAGAIN:
			packetPool.Put(b)
			b = nil
			return false
		case err != nil:
			packetPool.Put(b)
			b, rerr = nil, err
		case n > size:
			packetPool.Put(b) // larger than any datagram relayed
			b = nil
			pc.drops.Add(1)
		default:
			b.B = b.B[:n]
		}
		return true
	}
	for {
		b, rerr = nil, nil
		err := pc.rc.Read(recv)
		if err != nil {
			return // closed
		}
		if rerr != nil {
			if errors.Is(rerr, unix.ECONNREFUSED) || errors.Is(rerr, unix.EHOSTUNREACH) || errors.Is(rerr, unix.ENETUNREACH) {
				// An ICMP error for a datagram sent: reading it cleared
				// it, and the flow goes on.
				pc.errors.Add(1)
				continue
			}
			pc.loop.exec(func() { pc.closeWith(rerr) })
			return
		}
		if b != nil {
			pc.enqueue(b)
		}
	}
}

// enqueue hands a datagram to the loop; one task delivers all that came
// meanwhile.
func (pc *PacketConn) enqueue(b *bytebufferpool.ByteBuffer) {
	pc.mu.Lock()
	if len(pc.queue) >= maxQueued {
		pc.mu.Unlock()
		packetPool.Put(b)
		pc.drops.Add(1)
		return
	}
	pc.queue = append(pc.queue, b)
	post := !pc.posted
	pc.posted = true
	pc.mu.Unlock()
	if post {
		pc.deliverTask.Post()
	}
}

// deliver runs on the loop.
func (pc *PacketConn) deliver() {
	pc.mu.Lock()
	q := pc.queue
	pc.queue = nil
	pc.posted = false
	pc.mu.Unlock()
	for i, b := range q {
		if !pc.closed {
			pc.h.OnDatagram(pc, b.B)
		}
		packetPool.Put(b)
		q[i] = nil
	}
}
