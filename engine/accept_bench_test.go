package engine_test

import (
	"io"
	"net"
	"sync"
	"syscall"
	"testing"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/engine"
)

// greeter answers every conn with one byte and closes it.
type greeter struct{}

func (greeter) OnData(c *engine.Conn, b []byte) int { return len(b) }
func (greeter) OnReadEOF(c *engine.Conn)            { c.Close() }
func (greeter) OnDrained(c *engine.Conn)            {}
func (greeter) OnTimeout(c *engine.Conn)            {}
func (greeter) OnClose(c *engine.Conn, err error)   {}

// BenchmarkAccept measures what a conn costs to take in: accept, one byte
// out, close; through engine (own accept loop, then gnet's Enroll), through
// gnet's own acceptor on its loop (SO_REUSEPORT, so each loop accepts for
// itself: what engine would cost without Enroll, which it does not use,
// since gnet stops its engine on EMFILE, cannot stop accepting without
// stopping, and a TLS handshake off the loop needs a net.Conn anyway), and
// through a goroutine-per-conn Go server. Client and
// server share the process, so the difference of the cpu-µs/op (and
// ctxsw/op) figures is the server side's. On one core:
//
//	GOMAXPROCS=2 taskset -c 0 go test -run '^$' -bench Accept -benchtime 20000x ./engine
//
// Every tunnel pays this twice (the client, and the upstream after its
// dial), which is most of what sluice's setup costs above a Go proxy's.
func BenchmarkAccept(b *testing.B) {
	b.Run("engine", func(b *testing.B) {
		e := engine.New(engine.Config{Workers: 1, Log: zerolog.Nop()})
		a, err := e.Listen(engine.ListenerSpec{Addr: "127.0.0.1:0", Open: func(c *engine.Conn) engine.Handler {
			c.Write([]byte{'x'})
			c.CloseAfterFlush()
			return greeter{}
		}})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() {
			ctx, cancel := contextWithTimeout(5e9)
			defer cancel()
			_ = e.Shutdown(ctx)
		}()
		runAccept(b, a.String())
	})
	b.Run("gnet-acceptor", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		g := &gnetGreeter{booted: make(chan gnet.Engine, 1)}
		done := make(chan error, 1)
		go func() {
			done <- gnet.Run(g, "tcp://"+addr, gnet.WithNumEventLoop(1), gnet.WithLockOSThread(true),
				gnet.WithTCPNoDelay(gnet.TCPNoDelay), gnet.WithLogLevel(logging.ErrorLevel), gnet.WithReusePort(true))
		}()
		var eng gnet.Engine
		select {
		case eng = <-g.booted:
		case err := <-done:
			b.Fatal(err)
		}
		defer func() {
			ctx, cancel := contextWithTimeout(5e9)
			defer cancel()
			_ = eng.Stop(ctx)
		}()
		runAccept(b, addr)
	})
	b.Run("go", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					_, _ = c.Write([]byte{'x'})
					_, _ = c.Read(make([]byte, 1)) // the client's FIN
					_ = c.Close()
				}()
			}
		}()
		runAccept(b, ln.Addr().String())
	})
}

// gnetGreeter is greeter for a bare gnet server.
type gnetGreeter struct {
	gnet.BuiltinEventEngine
	booted chan gnet.Engine
}

func (g *gnetGreeter) OnBoot(e gnet.Engine) gnet.Action { g.booted <- e; return gnet.None }

func (g *gnetGreeter) OnOpen(c gnet.Conn) ([]byte, gnet.Action) { return []byte{'x'}, gnet.None }

func (g *gnetGreeter) OnTraffic(c gnet.Conn) gnet.Action {
	_, _ = c.Discard(-1)
	return gnet.None
}

// runAccept opens b.N conns from 8 clients at a time and reports the
// process's CPU per conn.
func runAccept(b *testing.B, addr string) {
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	cs0 := switches()
	b.ResetTimer()
	var wg sync.WaitGroup
	next := make(chan struct{}, b.N)
	for i := 0; i < b.N; i++ {
		next <- struct{}{}
	}
	close(next)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2)
			for range next {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				if n, _ := io.ReadFull(c, buf[:1]); n != 1 {
					b.Error("no greeting")
				}
				_ = c.(*net.TCPConn).CloseWrite()
				_, _ = c.Read(buf) // EOF once the server closed
				_ = c.Close()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := func(r *syscall.Rusage) float64 {
		return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e3
	}
	b.ReportMetric((cpu(&ru1)-cpu(&ru0))/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(switches()-cs0)/float64(b.N), "ctxsw/op")
}

// switches sums the context switches of the process's threads.
func switches() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Nvcsw + ru.Nivcsw
}
