package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"
)

// Config tunes the engine. Zero values take the defaults noted.
type Config struct {
	Workers          int           // event loops; default GOMAXPROCS
	ReadBufferCap    int           // per-loop read buffer; default 256 KiB
	MaxConns         int           // concurrent client conns; 0 = no cap
	HalfClose        bool          // dup a socket at its peer's FIN so the other way keeps flowing (true half-close)
	Linger           time.Duration // after our FIN, how long to wait for the peer's (reading and dropping its bytes) before close; default 2 s
	HandshakeTimeout time.Duration // TLS handshake; default 10 s
	MaxHandshakes    int           // concurrent TLS handshakes; default 256 per core
	Resolver         *net.Resolver // default net.DefaultResolver
	Bind             netip.Addr    // source address for upstream dials, if valid
	// Takeover binds listen addresses another process already listens on
	// (SO_REUSEPORT), for a restart that hands traffic over; without it an
	// address in use is an error, as for any other server.
	Takeover bool
	// TCPKeepAlive, if set, turns TCP keepalive on for client and upstream
	// sockets: a probe after this long without traffic, then every third
	// of it, and the socket fails after 3 unanswered ones. A peer that
	// vanished without a FIN is then found before the idle timeout.
	TCPKeepAlive time.Duration
	// MaxDatagram is the largest datagram a PacketConn reads; a larger one
	// is dropped and counted. Default 1472.
	MaxDatagram int
	Log         zerolog.Logger
}

// ListenerSpec describes one listening socket.
type ListenerSpec struct {
	Addr string      // host:port
	TLS  *tls.Config // nil for plain TCP
	// Open runs on the loop when a client conn is ready (after the TLS
	// handshake) and returns its handler.
	Open func(c *Conn) Handler
	// GoPlainHTTP answers plain HTTP on a TLS listener only where Go's
	// net/http does (GET, HEAD, POST, PUT, OPTIONS), not also CONNECT and
	// the other methods.
	GoPlainHTTP bool
}

// Stats are engine-wide counters. Safe from any goroutine.
type Stats struct {
	Accepted, Rejected, AcceptErrors, Active int64
	Parks, Unparks, HandshakeErrors          int64
}

// Engine runs the event loops and listeners.
type Engine struct {
	// Immutable after New.
	cfg  Config
	log  zerolog.Logger
	done chan struct{}
	jobs *workers      // dials and handshakes
	sem  chan struct{} // TLS handshakes in flight

	mu        sync.Mutex
	listeners []*listener
	started   bool
	stopOnce  sync.Once

	gnetEng atomic.Pointer[gnet.Engine]
	booted  chan struct{}
	runErr  chan error
	loops   sync.Map // gnet.EventLoop -> *Loop
	sock    string   // the unix listener gnet insists on; only engine's own probes use it

	// ring is every loop, learned at Start from one probe conn per loop.
	// Immutable after Start.
	ring   []*Loop
	probed chan *Loop
	probes []net.Conn

	stats struct {
		accepted, rejected, acceptErrors, active atomic.Int64
		parks, unparks, handshakeErrors          atomic.Int64
	}
}

// New returns an engine with cfg; call Listen, then Start.
func New(cfg Config) *Engine {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.ReadBufferCap <= 0 {
		cfg.ReadBufferCap = 256 << 10
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 2 * time.Second
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.MaxHandshakes <= 0 {
		cfg.MaxHandshakes = 256 * runtime.GOMAXPROCS(0)
	}
	done := make(chan struct{})
	return &Engine{
		cfg:    cfg,
		log:    cfg.Log,
		done:   done,
		jobs:   newWorkers(10*time.Second, done),
		sem:    make(chan struct{}, cfg.MaxHandshakes),
		booted: make(chan struct{}),
		probed: make(chan *Loop, 64),
		runErr: make(chan error, 1),
	}
}

// Listen opens a listening socket now (so ":0" ports are known before
// Start) and returns its address.
func (e *Engine) Listen(spec ListenerSpec) (net.Addr, error) {
	l, err := listen(e, spec)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.listeners = append(e.listeners, l)
	started := e.started
	e.mu.Unlock()
	if started {
		go l.acceptLoop()
	}
	return l.ln.Addr(), nil
}

// Start runs the event loops and begins accepting. It returns once gnet
// has booted.
func (e *Engine) Start() error {
	e.sock = filepath.Join(os.TempDir(), "sluice-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".sock")
	opts := []gnet.Option{
		gnet.WithNumEventLoop(e.cfg.Workers),
		gnet.WithLoadBalancing(gnet.LeastConnections), // spreads the probe conns one per loop
		gnet.WithReadBufferCap(e.cfg.ReadBufferCap),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		// A locked loop never migrates between threads; with the spare P that
		// SetProcs gives, that cuts setup CPU from 345-350 to 305-315 µs per
		// tunnel (without the spare P, locking cost more than it saved).
		gnet.WithLockOSThread(true),
		gnet.WithLogger(gnetLogger{e.log}),
	}
	go func() {
		err := gnet.Run(&events{e: e}, "unix://"+e.sock, opts...)
		e.runErr <- err
		select {
		case <-e.booted:
		default:
			close(e.booted)
		}
	}()
	<-e.booted
	if e.gnetEng.Load() == nil {
		return fmt.Errorf("engine: gnet did not start: %w", <-e.runErr)
	}
	err := e.learnLoops()
	// The probes are connected: nothing needs the socket file any more, and
	// a process killed later must not leave it behind.
	_ = os.Remove(e.sock)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.started = true
	for _, l := range e.listeners {
		go l.acceptLoop()
	}
	e.mu.Unlock()
	return nil
}

// learnLoops connects probe conns to gnet's own unix listener until every
// loop has opened one. gnet hands out no loop handles otherwise, and its
// Engine.Register is not safe against the loops' start-up; a handle that
// came out of OnOpen on the loop itself is. The probes stay open (one fd
// per loop) and carry nothing.
func (e *Engine) learnLoops() error {
	seen := map[*Loop]bool{}
	for try := 0; len(seen) < e.cfg.Workers && try < 8*e.cfg.Workers; try++ {
		nc, err := net.Dial("unix", e.sock)
		if err != nil {
			return fmt.Errorf("engine: probing loops: %w", err)
		}
		e.probes = append(e.probes, nc)
		select {
		case l := <-e.probed:
			if !seen[l] {
				seen[l] = true
				e.ring = append(e.ring, l)
			}
		case <-time.After(5 * time.Second):
			return errors.New("engine: a loop did not answer its probe")
		}
	}
	if len(e.ring) == 0 {
		return errors.New("engine: no event loops")
	}
	return nil
}

// PickLoop chooses the loop with the fewest client conns: for a front end
// that drives its own goroutines (HTTP/3) and needs a loop for its
// tunnels. Safe from any goroutine once Start has returned.
func (e *Engine) PickLoop() *Loop { return e.pickLoop() }

// pickLoop chooses the loop with the fewest conns for a new client.
func (e *Engine) pickLoop() *Loop {
	best := e.ring[0]
	for _, l := range e.ring[1:] {
		if l.load.Load() < best.load.Load() {
			best = l
		}
	}
	return best
}

// ErrShutdown is the close reason of conns still open when a drain's time
// ran out.
var ErrShutdown = errors.New("engine: shut down")

// Shutdown is Drain, then Stop.
func (e *Engine) Shutdown(ctx context.Context) error {
	err := e.Drain(ctx)
	e.Stop()
	return err
}

// Drain stops accepting, tells every conn's handler that the server is
// draining (engine.Drainer), and waits until every client conn has ended or
// ctx is done. Then it closes what is left with ErrShutdown, so handlers
// know why, and returns ctx.Err(). The loops keep running until Stop.
func (e *Engine) Drain(ctx context.Context) error {
	e.mu.Lock()
	for _, l := range e.listeners {
		l.close()
	}
	e.mu.Unlock()
	for _, l := range e.ring {
		l.exec(l.drain)
	}
	if e.waitIdle(ctx) {
		return nil
	}
	for _, l := range e.ring {
		l.exec(l.cut)
	}
	cctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	e.waitIdle(cctx)
	return ctx.Err()
}

// waitIdle waits until no client conn is open or ctx is done.
func (e *Engine) waitIdle(ctx context.Context) bool {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for e.stats.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// Stop stops the event loops, closing whatever is still open.
func (e *Engine) Stop() {
	e.stopOnce.Do(func() {
		close(e.done)
		if g := e.gnetEng.Load(); g != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = g.Stop(sctx)
			cancel()
		}
		for _, nc := range e.probes {
			_ = nc.Close()
		}
		_ = os.Remove(e.sock)
		// The loops have stopped: no handler runs any more, but UDP
		// sockets still have their readers.
		for _, l := range e.ring {
			for pc := range l.packets {
				_ = pc.uc.Close()
			}
		}
	})
}

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	return Stats{
		Accepted: e.stats.accepted.Load(), Rejected: e.stats.rejected.Load(),
		AcceptErrors: e.stats.acceptErrors.Load(), Active: e.stats.active.Load(),
		Parks: e.stats.parks.Load(), Unparks: e.stats.unparks.Load(),
		HandshakeErrors: e.stats.handshakeErrors.Load(),
	}
}

// ActiveConns is the number of client conns now open. Safe from any goroutine.
func (e *Engine) ActiveConns() int64 { return e.stats.active.Load() }

// Loops returns every event loop, for work that visits each (a metrics
// scrape). Safe from any goroutine.
func (e *Engine) Loops() []*Loop {
	var ls []*Loop
	e.loops.Range(func(_, v any) bool {
		ls = append(ls, v.(*Loop))
		return true
	})
	return ls
}

func (e *Engine) loopFor(el gnet.EventLoop) *Loop {
	if v, ok := e.loops.Load(el); ok {
		return v.(*Loop)
	}
	v, _ := e.loops.LoadOrStore(el, newLoop(e, el))
	return v.(*Loop)
}

// connDone releases what a client conn held engine-wide.
func (e *Engine) connDone(c *Conn) {
	if !c.upstream && !c.released {
		c.released = true
		e.stats.active.Add(-1)
		if c.loop != nil {
			c.loop.load.Add(-1)
		}
	}
}
