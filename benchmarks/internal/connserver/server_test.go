package connserver

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Close must end a run even while handlers block on their connections,
// and the hooks must see every connection come and go.
func TestCloseDropsOpenConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	s := New(ln, Options{
		OnOpen:  func(c net.Conn) { mu.Lock(); open[c] = true; mu.Unlock() },
		OnClose: func(c net.Conn) { mu.Lock(); delete(open, c); mu.Unlock() },
	})
	started := make(chan struct{}, 3)
	s.Serve(func(c net.Conn) {
		started <- struct{}{}
		io.Copy(io.Discard, c) // blocks until Close drops c
	})
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		<-started
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(open) != 0 || s.Accepted() != 3 || !s.Closed() {
		t.Fatalf("open %d, accepted %d, closed %v", len(open), s.Accepted(), s.Closed())
	}
}
