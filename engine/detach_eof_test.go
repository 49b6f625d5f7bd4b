package engine

import (
	"io"
	"net"
	"testing"
	"time"
)

// keepAllHandler consumes nothing, and at the peer's FIN hands the conn,
// with the bytes it left unconsumed, to a goroutine that answers with
// what it reads there.
type keepAllHandler struct{}

func (keepAllHandler) OnData(*Conn, []byte) int { return 0 }
func (keepAllHandler) OnDrained(*Conn)          {}
func (keepAllHandler) OnTimeout(*Conn)          {}
func (keepAllHandler) OnClose(*Conn, error)     {}

func (keepAllHandler) OnReadEOF(c *Conn) {
	c.Detach(c.TakeUnread(), func(nc net.Conn) {
		if nc == nil {
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(nc)
		if err != nil {
			_, _ = io.WriteString(nc, "read: "+err.Error())
			return
		}
		_, _ = io.WriteString(nc, "after FIN the conn held "+string(got))
	})
}

// TestDetachAfterFINKeepsUnread: bytes a handler left unconsumed before
// the peer's FIN are still there to take at the FIN (gnet's buffer goes
// with its conn), and the conn can then be handed over: the new owner
// reads them, then EOF, and can still answer (a request cut short by FIN,
// handed to the site).
func TestDetachAfterFINKeepsUnread(t *testing.T) {
	addr := startEngine(t, Config{Workers: 1, HalfClose: true}, ListenerSpec{Open: func(*Conn) Handler { return keepAllHandler{} }})
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if want := "after FIN the conn held GET / HTTP/1.1\r\n"; string(got) != want {
		t.Fatalf("got %q (%v), want %q", got, err, want)
	}
}
