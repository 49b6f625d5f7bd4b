package main

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// A query to a name server that never answers ends at the resolver's
// timeout, though Go's lookup outlives the dial that asked for it and
// would wait resolv.conf's 5 s.
func TestResolverQueryBounded(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	r := newResolver(silent.LocalAddr().String(), 200*time.Millisecond)
	c, err := r.Dial(context.Background(), "udp", "ignored:53")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(net.PacketConn); !ok {
		t.Fatalf("the query conn is a %T: Go's resolver would frame UDP as TCP", c)
	}
	_ = c.SetDeadline(time.Now().Add(time.Hour)) // what Go's resolver sets from its own timeout
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 512))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read: %v; want the deadline", err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("the query still waited after %v: the deadline Go set was not bounded", waitLimit)
	}
}
