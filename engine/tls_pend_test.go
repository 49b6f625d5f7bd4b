package engine

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// wantWhole consumes nothing until it holds want bytes, as a framer waits
// for the rest of a frame.
type wantWhole struct {
	tlsEcho
	want int
	got  chan int
}

func (h *wantWhole) OnData(c *Conn, b []byte) int {
	if len(b) < h.want {
		return 0
	}
	h.got <- len(b)
	return len(b)
}

// A TLS conn holding a partial frame decrypts what follows behind it, in
// its own buffer; a client that then sends a byte per record grows that
// buffer by about what one read brings, not by the loop's whole scratch,
// and the frame still arrives whole.
func TestTLSPartialFrameBufferGrowsByTheRead(t *testing.T) {
	const head, dribble = 30 << 10, 64
	h := &wantWhole{tlsEcho: tlsEcho{conns: make(chan *Conn, 1)}, want: head + dribble, got: make(chan int, 1)}
	nc, err := net.Dial("tcp", startTLSEngine(t, h, h.conns))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
	_ = cc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := cc.Write(make([]byte, head)); err != nil {
		t.Fatal(err)
	}
	sc := <-h.conns
	pendCap := func() (n, c int) {
		done := make(chan struct{})
		sc.Exec(func() {
			if sc.pend != nil {
				n, c = sc.pend.Len(), cap(sc.pend.B)
			}
			close(done)
		})
		<-done
		return
	}
	// The writes are out; wait (bounded) until the loop has read want bytes.
	held := func(want int) (c int) {
		t.Helper()
		n, c := pendCap()
		for deadline := time.Now().Add(10 * time.Second); n != want && time.Now().Before(deadline); n, c = pendCap() {
			time.Sleep(time.Millisecond)
		}
		if n != want {
			t.Fatalf("the conn holds %d bytes of the partial frame; want %d", n, want)
		}
		return c
	}
	held(head)
	// The buffer came from a pool, at any size; give it one that fits, so
	// that what follows is the conn's own growth.
	done := make(chan struct{})
	sc.Exec(func() {
		b := make([]byte, sc.pend.Len())
		copy(b, sc.pend.B)
		sc.pend.B = b
		close(done)
	})
	<-done
	c0 := head
	for i := 0; i < dribble-1; i++ {
		if _, err := cc.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	c := held(head + dribble - 1)
	if limit := head + len(sc.loop.scratch); c >= limit {
		t.Errorf("a partial frame of %d B grew its buffer from %d B to %d B; want under %d (the frame and a whole scratch buffer)", head+dribble-1, c0, c, limit)
	}
	if _, err := cc.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-h.got:
		if got != head+dribble {
			t.Fatalf("the handler got %d bytes at once; want %d", got, head+dribble)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the frame never came whole")
	}
}
