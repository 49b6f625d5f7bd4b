package udpecho

import (
	"net"
	"testing"
	"time"
)

func TestEchoesAndCounts(t *testing.T) {
	if _, err := Start("0.0.0.0:0", 1<<16); err == nil {
		t.Fatal("a non-loopback address was accepted")
	}
	e, err := Start("127.0.0.1:0", 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, err := net.Dial("udp", e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	for _, msg := range []string{"one", "two"} {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("got %q, %v; want %q", buf[:n], err, msg)
		}
	}
	// The count goes up once WriteBatch returns, which may be after the
	// client read the echo.
	for limit := time.Now().Add(5 * time.Second); e.Echoed() != 2; time.Sleep(time.Millisecond) {
		if time.Now().After(limit) {
			t.Fatalf("Echoed %d, want 2", e.Echoed())
		}
	}
}
