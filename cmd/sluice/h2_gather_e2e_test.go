package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"

	"golang.org/x/net/http2"
)

// TestE2EH2InterleavedDataInOneWrite: DATA frames of two CONNECT streams,
// interleaved and sent in one write so that the proxy reads several of
// them at once, reach each stream's upstream whole and in order, each
// stream's END_STREAM after its last byte; a third stream's bytes reach
// its upstream although a RST_STREAM follows them in the same write. The proxy gathers a stream's
// consecutive frames into one upstream write; a run handed to the wrong
// stream, delivered out of order, or cut short by the other stream's
// frames or by END_STREAM fails here.
func TestE2EH2InterleavedDataInOneWrite(t *testing.T) {
	t.Parallel()
	type got struct {
		b   []byte
		err error
	}
	sink := func() (*watchedOrigin, chan got) {
		ch := make(chan got, 1)
		o := startWatchedOrigin(t, func(c net.Conn) error {
			b, err := io.ReadAll(c)
			ch <- got{b, err}
			return err
		})
		return o, ch
	}
	up1, got1 := sink()
	up3, got3 := sink()
	up5, got5 := sink()
	p := startOpenProxy(t)
	c := dialRawH2(t, p.plain)
	c.connect(1, up1.addr())
	c.connect(3, up3.addr())
	c.connect(5, up5.addr())
	c.waitFor("three 200s", func() bool { return c.headers[1] == "200" && c.headers[3] == "200" && c.headers[5] == "200" })

	// Each frame's bytes name their stream and their place in it.
	var want1, want3, want5 bytes.Buffer
	var wire bytes.Buffer
	fr := http2.NewFramer(&wire, nil)
	frame := func(id uint32, n int, end bool) {
		want := map[uint32]*bytes.Buffer{1: &want1, 3: &want3, 5: &want5}[id]
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(want.Len()+i) ^ byte(id*37)
		}
		want.Write(p)
		if err := fr.WriteData(id, end, p); err != nil {
			t.Fatal(err)
		}
	}
	frame(1, 16384, false)
	frame(1, 16384, false)
	frame(1, 3000, false)
	frame(3, 9000, false)
	frame(3, 1, false)
	frame(1, 100, false)
	frame(3, 7000, true)
	frame(1, 16384, false)
	frame(1, 5000, true)
	frame(5, 4000, false)
	frame(5, 4000, false)
	if err := fr.WriteRSTStream(5, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	total := int64(want1.Len() + want3.Len() + want5.Len())
	c.waitFor("a connection window for the whole write", func() bool { return c.connWin >= total })
	c.write(func() error { _, err := c.nc.Write(wire.Bytes()); return err })

	for _, s := range []struct {
		id   uint32
		ch   chan got
		want []byte
	}{{1, got1, want1.Bytes()}, {3, got3, want3.Bytes()}, {5, got5, want5.Bytes()}} {
		g := <-s.ch
		if g.err != nil {
			t.Errorf("stream %d: upstream read: %v", s.id, g.err)
		}
		if err := sameBytes(g.b, s.want); err != nil {
			t.Errorf("stream %d: upstream got %d bytes, want %d: %v", s.id, len(g.b), len(s.want), err)
		}
	}
}

// sameBytes says where got first differs from want.
func sameBytes(got, want []byte) error {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Errorf("first difference at byte %d", i)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("lengths differ")
	}
	return nil
}
