package relay_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

// BenchmarkRelayEcho measures the per-read relay path: one client sends a
// message through a tunnel (engine + relay) to a loopback echo origin and
// reads it back, b.N times, so every op is at least one OnTraffic on the
// client, one write upstream, one OnTraffic on the upstream and one write
// to the client. allocs/op counts the whole process (client and origin
// goroutines included, a constant); cpu-µs/op is the process's CPU;
// sysc/op is read+write syscalls from /proc/self/io. On one core:
//
//	GOMAXPROCS=2 taskset -c 0 go test -run '^$' -bench RelayEcho -benchtime 20000x ./engine
func BenchmarkRelayEcho(b *testing.B) {
	for _, useTLS := range []bool{false, true} {
		for _, size := range []int{512, 64 << 10} {
			name := "plain"
			if useTLS {
				name = "tls"
			}
			b.Run(name+"/"+strconv.Itoa(size), func(b *testing.B) { runRelayEcho(b, useTLS, size) })
		}
	}
}

func runRelayEcho(b *testing.B, useTLS bool, size int) {
	org := origin(b, echo)
	rcfg := &relay.Config{High: 1 << 20, Low: 256 << 10, HardCap: 64 << 20}
	var tc *tls.Config
	if useTLS {
		tc = &tls.Config{Certificates: []tls.Certificate{testCert(b)}}
	}
	p := startProxyWith(b, engine.Config{Workers: 1}, rcfg, org, tc)
	var c net.Conn = dial(b, p.addr)
	if useTLS {
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	}
	msg := randomBytes(b, size)
	got := make([]byte, size)
	roundTrip := func() {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			b.Fatal(err)
		}
	}
	for range 50 { // warm up: the tunnel is connected, TLS past its small records
		roundTrip()
	}
	if !bytes.Equal(got, msg) {
		b.Fatal("echo differs")
	}
	var ru0, ru1 syscall.Rusage
	sys0 := ioSyscalls()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		roundTrip()
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	sys1 := ioSyscalls()
	cpu := func(r *syscall.Rusage) float64 { return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e3 }
	b.ReportMetric((cpu(&ru1)-cpu(&ru0))/float64(b.N), "cpu-µs/op")
	if sys0 >= 0 && sys1 >= 0 {
		b.ReportMetric(float64(sys1-sys0)/float64(b.N), "sysc/op")
	}
	if !bytes.Equal(got, msg) {
		b.Fatal("echo differs")
	}
	c.Close()
}

// ioSyscalls is the process's read+write syscall count (syscr+syscw of
// /proc/self/io), or -1 where that file is missing.
func ioSyscalls() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	var n int64
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if k == "syscr" || k == "syscw" {
			x, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if ok && err == nil {
				n += x
			}
		}
	}
	return n
}
